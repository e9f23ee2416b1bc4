"""Rate limits shared by every worker, in Redis: one key per (rule, subject) holding a GCRA timestamp.

The step runs as one Lua script (atomic, so concurrent workers never both take the last hit) on the Redis server's
clock (``TIME``), so workers with skewed clocks agree. Keys expire once their bucket is full again.

**A dead Redis fails over to in-process limits, not open and not closed.** Rate limits protect capacity and cost;
every action that moves money or changes an order is already guarded by identity, confirmation and idempotency, so
refusing every customer while Redis is down would turn a cache outage into a full outage, and allowing everything
would remove the limit exactly when something is wrong. Each worker therefore keeps enforcing the same rules on
its own (a subject gets at most N workers x its limit), logs ``rate_limit_redis_down`` once per outage, and goes
back to Redis as soon as it answers again.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog

from shopkeep.guardrails.ratelimit.base import MICROS, Decision, RateLimiter, RateRule
from shopkeep.guardrails.ratelimit.memory import MemoryRateLimiter
from shopkeep.metrics import REDIS_ERRORS

log = structlog.get_logger(__name__)

NAMESPACE = "shopkeep:ratelimit:"

# KEYS[1]: the key. ARGV: period and interval in microseconds. Returns {allowed, retry_after_us, remaining}.
# string.format("%d") keeps all 16 digits of a microsecond timestamp (tostring would round it to 14).
_GCRA = """
local period = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local ahead = new_tat - now
if ahead > period then
  return {0, ahead - period, 0}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil(ahead / 1000))
return {1, 0, math.floor((period - ahead) / interval)}
"""


class RedisRateLimiter:
    """GCRA in Redis; in-process limits (``fallback``) while Redis cannot be reached."""

    def __init__(self, client: Any, *, namespace: str = NAMESPACE, fallback: RateLimiter | None = None) -> None:
        from redis.exceptions import RedisError

        self._client = client
        self._namespace = namespace
        self._script = client.register_script(_GCRA)
        self._fallback = fallback or MemoryRateLimiter()
        self._errors: tuple[type[Exception], ...] = (RedisError, OSError)
        self._down = threading.Event()

    @classmethod
    def from_url(cls, url: str, *, namespace: str = NAMESPACE, timeout_s: float = 0.5) -> RedisRateLimiter:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - the extra is installed wherever Redis is configured
            raise ImportError("Redis rate limits need the 'redis' extra: pip install 'shopkeep[redis]'") from exc
        client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        return cls(client, namespace=namespace)

    def hit(self, subject: str, rule: RateRule) -> Decision:
        key = f"{self._namespace}{rule.name}:{subject}"
        try:
            allowed, retry_us, remaining = self._script(keys=[key], args=[rule.period_us, rule.interval_us])
        except self._errors as exc:
            REDIS_ERRORS.labels(component="rate_limit").inc()
            if not self._down.is_set():
                self._down.set()
                log.warning("rate_limit_redis_down", error=type(exc).__name__, fallback="in-process limits")
            return self._fallback.hit(subject, rule)
        if self._down.is_set():
            self._down.clear()
            log.info("rate_limit_redis_back")
        return Decision(bool(allowed), int(retry_us) / MICROS, int(remaining))
