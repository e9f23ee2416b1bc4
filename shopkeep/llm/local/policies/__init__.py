"""Per-agent dialog policies of the local brain: which tool next, which slot to ask for, what to say."""

from __future__ import annotations

from shopkeep.llm.local.policies import account, escalation, orders, support
from shopkeep.llm.local.policies.base import Step

POLICIES = {
    "orders": orders.decide,
    "account": account.decide,
    "support": support.decide,
    "escalation": escalation.decide,
    # catalog, cart and checkout policies are registered as their modules land (issue 4)
    "catalog": support.decide,
    "cart": support.decide,
    "checkout": support.decide,
}

__all__ = ["POLICIES", "Step"]
