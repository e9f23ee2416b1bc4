"""Rate limits: the ``RateLimiter`` seam, in-process (``memory``) and shared (``redis``) backends, and the rules.

``rate_limiter(settings)`` picks Redis when ``SHOPKEEP_REDIS_URL`` is set, in-process limits otherwise.
``RateRules.for_tool_calls`` and ``RateRules.for_messages`` read ``SHOPKEEP_LIMITS__*``; a rate of 0 turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopkeep.guardrails.ratelimit.base import Decision, RateLimiter, RateRule
from shopkeep.guardrails.ratelimit.memory import MemoryRateLimiter
from shopkeep.settings import LimitSettings, Settings


def rate_limiter(settings: Settings) -> RateLimiter:
    """The configured backend: Redis (shared by every worker) when a Redis URL is set, else in-process."""
    if settings.redis_url is None:
        return MemoryRateLimiter()
    from shopkeep.guardrails.ratelimit.redis import RedisRateLimiter

    return RedisRateLimiter.from_url(settings.redis_url.get_secret_value())


@dataclass(frozen=True)
class Refusal:
    """Which limit refused (``conversation`` or ``customer``) and the limiter's verdict."""

    subject: str
    decision: Decision


@dataclass(frozen=True)
class RateRules:
    """One kind of action (tool calls, messages) limited per conversation and per customer."""

    per_conversation: RateRule | None
    per_customer: RateRule | None

    @classmethod
    def for_tool_calls(cls, limits: LimitSettings) -> RateRules:
        return cls(
            _rule("tools:conversation", limits.tool_calls_per_conversation),
            _rule("tools:customer", limits.tool_calls_per_customer),
        )

    @classmethod
    def for_messages(cls, limits: LimitSettings) -> RateRules:
        return cls(
            _rule("messages:conversation", limits.messages_per_conversation),
            _rule("messages:customer", limits.messages_per_customer),
        )

    def hit(self, limiter: RateLimiter, conversation_id: str | None, customer_id: str | None) -> Refusal | None:
        """Count one action against each limit that applies; the first refusal, or None when all allow it."""
        subjects = (
            ("conversation", self.per_conversation, conversation_id),
            ("customer", self.per_customer, customer_id),
        )
        for subject, rule, key in subjects:
            if rule is None or not key:
                continue
            decision = limiter.hit(key, rule)
            if not decision.allowed:
                return Refusal(subject, decision)
        return None


def _rule(name: str, per_minute: int) -> RateRule | None:
    return RateRule(name, per_minute, 60.0) if per_minute > 0 else None


__all__ = ["Decision", "MemoryRateLimiter", "RateLimiter", "RateRule", "RateRules", "Refusal", "rate_limiter"]
