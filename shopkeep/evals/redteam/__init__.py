"""The red-team suite: adversarial conversations (``evals/redteam/``), a compromised brain, and a judge of harm.

``shopkeep eval redteam`` is the command; ``RedTeamRunner.run`` one case on one brain; ``judge`` the checks.
"""

from shopkeep.evals.redteam.cases import CATEGORIES, RedTeamCase, load_cases, select
from shopkeep.evals.redteam.judge import CHECKS, Exchange, Finding, StoreIndex, judge
from shopkeep.evals.redteam.runner import BRAINS, CaseResult, RedTeamRunner, indexed_template, summarize
from shopkeep.evals.redteam.snapshot import Snapshot

__all__ = [
    "BRAINS",
    "CATEGORIES",
    "CHECKS",
    "CaseResult",
    "Exchange",
    "Finding",
    "RedTeamCase",
    "RedTeamRunner",
    "Snapshot",
    "StoreIndex",
    "indexed_template",
    "judge",
    "load_cases",
    "select",
    "summarize",
]
