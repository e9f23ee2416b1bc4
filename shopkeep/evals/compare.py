"""Comparing two eval runs (``shopkeep eval compare``): item by item, with confidence intervals and a paired test.

For every suite both runs hold:

- pass rates with 95 % Wilson score intervals (better than the normal approximation near 0 and 1 and on small sets);
- items present in both runs (same ``id``) are paired: ``improved`` failed in A and pass in B, ``regressed`` the
  reverse; McNemar's exact test (a two-sided binomial test on the discordant pairs, p = 1/2) says whether the
  difference is more than chance;
- a *significant regression* is more regressed than improved items with a McNemar p below ``alpha``;
- continuous scores (nDCG, milliseconds) are compared by their mean over the paired items, without a verdict
  (latency depends on the machine; retrieval's per-item pass is what the gate uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from shopkeep.evals.results import EvalRun, ItemResult

Z_95 = 1.959963984540054


def wilson_interval(successes: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 1) when there is nothing to go by."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(improved: int, regressed: int) -> float:
    """Two-sided exact McNemar p-value for the discordant pairs (1.0 when there are none)."""
    n = improved + regressed
    if n == 0:
        return 1.0
    tail: float = sum(math.comb(n, k) for k in range(min(improved, regressed) + 1)) / 2**n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Rate:
    passed: int
    total: int

    @property
    def value(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.passed, self.total)

    def as_record(self) -> dict[str, Any]:
        low, high = self.interval
        return {"passed": self.passed, "total": self.total, "rate": self.value, "ci95": [low, high]}


@dataclass
class SuiteComparison:
    suite: str
    rate_a: Rate
    rate_b: Rate
    paired: int
    improved: list[str] = field(default_factory=list)
    regressed: list[str] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    p_value: float = 1.0
    mean_score: dict[str, float] = field(default_factory=dict)
    summary: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    significant_regression: bool = False

    def as_record(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "a": self.rate_a.as_record(),
            "b": self.rate_b.as_record(),
            "paired": self.paired,
            "improved": self.improved,
            "regressed": self.regressed,
            "only_a": self.only_a,
            "only_b": self.only_b,
            "mcnemar_p": self.p_value,
            "significant_regression": self.significant_regression,
            "mean_score": self.mean_score,
            "summary": {k: list(v) for k, v in self.summary.items()},
        }


def _judged(items: list[ItemResult]) -> dict[str, bool]:
    return {item.id: bool(item.passed) for item in items if item.passed is not None}


def compare_suite(name: str, a: list[ItemResult], b: list[ItemResult], alpha: float = 0.05) -> SuiteComparison:
    judged_a, judged_b = _judged(a), _judged(b)
    both = [item_id for item_id in judged_a if item_id in judged_b]
    improved = [i for i in both if not judged_a[i] and judged_b[i]]
    regressed = [i for i in both if judged_a[i] and not judged_b[i]]
    p_value = mcnemar_exact(len(improved), len(regressed))
    scores_a = {item.id: item.score for item in a if item.score is not None}
    scores_b = {item.id: item.score for item in b if item.score is not None}
    scored = [i for i in scores_a if i in scores_b]
    mean_score: dict[str, float] = {}
    if scored:
        mean_score = {
            "a": sum(float(scores_a[i] or 0.0) for i in scored) / len(scored),
            "b": sum(float(scores_b[i] or 0.0) for i in scored) / len(scored),
            "paired": float(len(scored)),
        }
    return SuiteComparison(
        suite=name,
        rate_a=Rate(sum(judged_a.values()), len(judged_a)),
        rate_b=Rate(sum(judged_b.values()), len(judged_b)),
        paired=len(both),
        improved=improved,
        regressed=regressed,
        only_a=[i for i in judged_a if i not in judged_b],
        only_b=[i for i in judged_b if i not in judged_a],
        p_value=p_value,
        mean_score=mean_score,
        significant_regression=len(regressed) > len(improved) and p_value < alpha,
    )


def compare_runs(a: EvalRun, b: EvalRun, alpha: float = 0.05) -> list[SuiteComparison]:
    """One comparison per suite both runs hold, in A's order."""
    comparisons = []
    for name, suite_a in a.suites.items():
        suite_b = b.suites.get(name)
        if suite_b is None:
            continue
        comparison = compare_suite(name, suite_a.items, suite_b.items, alpha)
        keys = list(dict.fromkeys([*suite_a.summary, *suite_b.summary]))
        comparison.summary = {k: (suite_a.summary.get(k), suite_b.summary.get(k)) for k in keys}
        comparisons.append(comparison)
    return comparisons
