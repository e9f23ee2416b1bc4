"""The answers read-only order flows end with (``answer:`` in ``data/flows/*.yaml``): an order's status and
tracking, its refunds, what its receipt shows, the customer's orders. ``ANSWERS`` is what the flow check knows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from shopkeep.domain.money import format_money
from shopkeep.llm.local.policies import _slots as slots
from shopkeep.llm.local.policies.base import ANYTHING_ELSE, HUMAN, Say, Step
from shopkeep.llm.local.policies.resolvers import Need, customer_orders, line_text, order, user

RETURN_REQUESTED = "return requested"


def track(need: Need) -> Step:
    found = need.order
    text = f"Order {found['order_id']} is {found['status']}."
    tracking = [t for f in found.get("fulfillments", []) for t in f.get("tracking_id", [])]
    if tracking:
        text += f" Tracking number{'s' if len(tracking) > 1 else ''}: {', '.join(tracking)}."
    return Say(f"{text} {ANYTHING_ELSE}")


def invoice(need: Need) -> Step:
    """What the order's receipt shows (items, payments); a formal invoice is issued by a human colleague."""
    found, currency = need.order, need.dialog.currency
    items = "; ".join(f"{line_text(i)} {format_money(i['price'], currency)}" for i in found["items"])
    payments = "; ".join(
        f"{p['transaction_type']} {format_money(p['amount'], currency)} ({p['payment_method_id']})"
        for p in found.get("payment_history", [])
    )
    text = (
        f"Order {found['order_id']} ({found['status']}): {items}. Payments: {payments or 'none'}. I can't issue a "
        "formal invoice myself, but a human colleague can email one to your account address."
    )
    return Say(f"{text} {need.dialog.reply('base.human_offer')}", expects=HUMAN)


def paid_with(need: Need) -> Step:
    """How the order was paid, read from its payment history."""
    found, dialog = need.order, need.dialog
    profile = user(dialog)
    if not isinstance(profile, dict):
        return profile
    payments = [p for p in found.get("payment_history", []) if p["transaction_type"] == "payment"]
    if not payments:
        return Say(f"Order {found['order_id']} has no payment recorded. {ANYTHING_ELSE}")
    currency = dialog.currency
    paid = "; ".join(
        f"{format_money(p['amount'], currency)} with {slots.describe_method(p['payment_method_id'], profile, currency)}"
        for p in payments
    )
    return Say(f"Order {found['order_id']} ({found['status']}) was paid {paid}. {ANYTHING_ELSE}")


def refund_info(need: Need) -> Step:
    """The refunds of the order asked about; "where is my refund?" with no order named: those of every order."""
    dialog = need.dialog
    if need.turn.nlu.intent == "track_refund" and not slots.order_ids(dialog, need.turn.index):
        return _refunds_of_customer(need)
    found = order(need)
    if not isinstance(found, dict):
        return found
    return Say(_refund_text(found, dialog.currency) + " " + ANYTHING_ELSE)


def list_orders(need: Need) -> Step:
    orders = customer_orders(need.dialog)
    if not isinstance(orders, list):
        return orders
    if not orders:
        return Say(f"You have no orders yet. {ANYTHING_ELSE}")
    listing = "; ".join(f"{o['order_id']}: {o['status']} ({', '.join(i['name'] for i in o['items'])})" for o in orders)
    return Say(f"Your orders: {listing}. {ANYTHING_ELSE}")


def _refund_payments(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in found.get("payment_history", []) if p["transaction_type"] == "refund"]


def _refund_text(found: dict[str, Any], currency: str) -> str:
    refunds = _refund_payments(found)
    if not refunds and found["status"] == RETURN_REQUESTED:
        return (
            f"Order {found['order_id']} has a return requested: the refund is issued once the returned items arrive "
            "back with us."
        )
    if not refunds:
        return f"There are no refunds on order {found['order_id']} (it is {found['status']})."
    total = sum((Decimal(str(r["amount"])) for r in refunds), Decimal("0"))
    return (
        f"Order {found['order_id']} has refunds of {format_money(total, currency)} in total. Gift-card refunds arrive "
        "at once; card and PayPal refunds take 5-7 business days."
    )


def _refunds_of_customer(need: Need) -> Step:
    """The refunds on the customer's orders, read from the orders themselves (refund payments, or a return on its
    way back), rather than asking which order."""
    orders = customer_orders(need.dialog)
    if not isinstance(orders, list):
        return orders
    refunding = [o for o in orders if _refund_payments(o) or o["status"] == RETURN_REQUESTED]
    if not refunding:
        listing = "; ".join(f"{o['order_id']} ({o['status']})" for o in orders) or "none"
        return Say(
            f"I don't see a refund on any of your orders ({listing}). Refunds are issued when a pending order is "
            f"cancelled or a returned item arrives back. {ANYTHING_ELSE}"
        )
    return Say(" ".join(_refund_text(o, need.dialog.currency) for o in refunding) + " " + ANYTHING_ELSE)


ANSWERS: Mapping[str, Callable[[Need], Step]] = {
    "track": track,
    "invoice": invoice,
    "refund_info": refund_info,
    "list": list_orders,
    "paid_with": paid_with,
}
