"""Message rate limits on the API, per conversation and per authenticated customer: over a limit is a 429 with
``Retry-After``, before the message is recorded or any model sees it. Limits come from ``SHOPKEEP_LIMITS__*``; the
limiter is the app's (Redis when ``SHOPKEEP_REDIS_URL`` is set)."""

from __future__ import annotations

from fastapi import HTTPException, Request, status

from shopkeep.agents.service import ConversationService
from shopkeep.guardrails.ratelimit import RateLimiter, RateRules


def enforce_message_rate(conversation_id: str, request: Request) -> None:
    """A FastAPI dependency (sync on purpose: Redis and the checkpointer block, so it runs in the thread pool)."""
    limiter: RateLimiter = request.app.state.limiter
    rules: RateRules = request.app.state.message_rules
    service: ConversationService = request.app.state.service
    customer = service.values(conversation_id).get("customer_id") if rules.per_customer is not None else None
    refusal = rules.hit(limiter, conversation_id, customer)
    if refusal is None:
        return
    wait = refusal.decision.retry_after_header
    who = "this conversation" if refusal.subject == "conversation" else "your account"
    raise HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"Too many messages from {who} in a short time; please wait {wait} seconds and try again.",
        headers={"Retry-After": wait},
    )
