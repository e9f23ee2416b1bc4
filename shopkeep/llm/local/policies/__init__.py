"""Per-agent dialog policies of the local brain: which tool next, which slot to ask for, what to say."""

from __future__ import annotations

from shopkeep.llm.local.policies import account, cart, catalog, checkout, escalation, orders, support
from shopkeep.llm.local.policies.base import Step

POLICIES = {
    "orders": orders.decide,
    "account": account.decide,
    "support": support.decide,
    "escalation": escalation.decide,
    "catalog": catalog.decide,
    "cart": cart.decide,
    "checkout": checkout.decide,
}

__all__ = ["POLICIES", "Step"]
