"""In-process rate limits: the default, and what a worker falls back to when Redis is down.

Limits are per process: with N workers behind a load balancer a subject gets up to N times its limit. Set
``SHOPKEEP_REDIS_URL`` to share them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shopkeep.guardrails.ratelimit.base import Decision, RateRule, gcra

SWEEP_EVERY = 1024


def _monotonic_us() -> int:
    return time.monotonic_ns() // 1000


class MemoryRateLimiter:
    """GCRA timestamps in a dict under one lock; stale keys are swept every ``SWEEP_EVERY`` hits."""

    def __init__(self, clock_us: Callable[[], int] = _monotonic_us) -> None:
        self._clock_us = clock_us
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def hit(self, subject: str, rule: RateRule) -> Decision:
        key = f"{rule.name}:{subject}"
        with self._lock:
            now = self._clock_us()
            decision, new_tat = gcra(self._tats.get(key), now, rule)
            if new_tat is not None:
                self._tats[key] = new_tat
            self._hits += 1
            if self._hits % SWEEP_EVERY == 0:
                self._sweep(now)
        return decision

    def _sweep(self, now: int) -> None:
        # A timestamp in the past means a full bucket: forgetting the key changes no future decision.
        for key in [k for k, tat in self._tats.items() if tat <= now]:
            del self._tats[key]

    def __len__(self) -> int:
        return len(self._tats)
