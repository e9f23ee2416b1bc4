"""pass^k, τ²-bench's reliability metric: the chance that k independent trials of a task all succeed.

For a task run n times with c successes, pass^k is estimated without bias by C(c, k) / C(n, k); the suite's
pass^k is the mean over tasks. pass^1 is the plain success rate; pass^k falls as k grows unless the agent is
consistent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import comb


def pass_hat_k(rewards: Sequence[int], k: int) -> float:
    """pass^k for one task from its trials' rewards (1 = success)."""
    n, c = len(rewards), sum(1 for r in rewards if r)
    if not 1 <= k <= n:
        raise ValueError(f"pass^{k} needs at least {k} trials, got {n}")
    return comb(c, k) / comb(n, k)


def pass_hat_ks(by_task: Mapping[str, Sequence[int]], max_k: int | None = None) -> dict[int, float]:
    """pass^1 .. pass^max_k averaged over tasks (max_k defaults to the smallest number of trials of any task)."""
    if not by_task:
        return {}
    trials = min(len(r) for r in by_task.values())
    top = trials if max_k is None else min(max_k, trials)
    return {k: round(sum(pass_hat_k(r, k) for r in by_task.values()) / len(by_task), 4) for k in range(1, top + 1)}
