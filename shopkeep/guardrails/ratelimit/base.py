"""The rate-limit seam: one ``RateLimiter`` Protocol, a rule, and the verdict.

Every backend runs the same algorithm, GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp
per key): a rule allows ``limit`` hits per ``period_s`` with bursts up to ``limit``, and a refused hit says exactly
when the next one will be allowed. One number per key makes the Redis backend a single atomic script.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

MICROS = 1_000_000


@dataclass(frozen=True)
class RateRule:
    """``limit`` hits per ``period_s`` seconds for each subject; ``name`` keeps rules' counters apart."""

    name: str
    limit: int
    period_s: float = 60.0

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_s <= 0:
            raise ValueError(f"rate rule {self.name!r} needs limit >= 1 and period_s > 0")

    @property
    def period_us(self) -> int:
        return round(self.period_s * MICROS)

    @property
    def interval_us(self) -> int:
        """The time one hit costs (the bucket refills one hit per interval)."""
        return max(1, self.period_us // self.limit)


@dataclass(frozen=True)
class Decision:
    """Whether the hit is allowed; if not, how long until one is (``retry_after_s``)."""

    allowed: bool
    retry_after_s: float = 0.0
    remaining: int = 0

    @property
    def retry_after_header(self) -> str:
        """``Retry-After`` in whole seconds, rounded up (never 0 for a refusal)."""
        return str(max(1, math.ceil(self.retry_after_s)))


class RateLimiter(Protocol):
    """Counts hits per (rule, subject); ``hit`` records one and says whether it is allowed. Thread-safe."""

    def hit(self, subject: str, rule: RateRule) -> Decision: ...


def gcra(stored_tat_us: int | None, now_us: int, rule: RateRule) -> tuple[Decision, int | None]:
    """One GCRA step: the decision and the new theoretical arrival time to store (None: store nothing).

    The Redis backend runs the same arithmetic in Lua (``redis.py``); the contract suite holds both to it.
    """
    tat = max(stored_tat_us or now_us, now_us)
    new_tat = tat + rule.interval_us
    ahead = new_tat - now_us
    if ahead > rule.period_us:
        return Decision(False, (ahead - rule.period_us) / MICROS, 0), None
    return Decision(True, 0.0, (rule.period_us - ahead) // rule.interval_us), new_tat
