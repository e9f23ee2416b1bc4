"""τ²-format tasks run against the assistant with a deterministic oracle user, scored by the store's end state.

``shopkeep eval tau2`` is the command; ``run_task`` one task; ``OracleUser`` the simulated customer; ``reward``
the end-state comparison.
"""

from shopkeep.evals.tau2.oracle import OracleUser, same_action
from shopkeep.evals.tau2.reward import EndState, StoreTemplate, expected_end, replay, reward
from shopkeep.evals.tau2.runner import TaskResult, converse, run_task, summarize
from shopkeep.evals.tau2.tasks import WRITE_TOOLS, Action, Tau2Task, load_tasks

__all__ = [
    "WRITE_TOOLS",
    "Action",
    "EndState",
    "OracleUser",
    "StoreTemplate",
    "TaskResult",
    "Tau2Task",
    "converse",
    "expected_end",
    "load_tasks",
    "replay",
    "reward",
    "run_task",
    "same_action",
    "summarize",
]
