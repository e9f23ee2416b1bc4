"""The answers read-only order flows end with (``answer:`` in ``data/flows/*.yaml``): an order's status and
tracking, its refunds, what its receipt shows, the customer's orders. ``ANSWERS`` is what the flow check knows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from shopkeep.domain.money import format_money
from shopkeep.llm.local.dialog import Dialog
from shopkeep.llm.local.policies import _slots as slots
from shopkeep.llm.local.policies.base import HUMAN, Say, Step
from shopkeep.llm.local.policies.resolvers import Need, customer_orders, line_text, order, user

RETURN_REQUESTED = "return requested"


def track(need: Need) -> Step:
    found, dialog = need.order, need.dialog
    order_id, status = found["order_id"], found["status"]
    tracking = [t for f in found.get("fulfillments", []) for t in f.get("tracking_id", [])]
    if not tracking:
        return Say(dialog.reply("orders.track", order_id=order_id, status=status))
    if len(tracking) == 1:
        return Say(dialog.reply("orders.track_number", order_id=order_id, status=status, number=tracking[0]))
    return Say(dialog.reply("orders.track_numbers", order_id=order_id, status=status, numbers=", ".join(tracking)))


def invoice(need: Need) -> Step:
    """What the order's receipt shows (items, payments); a formal invoice is issued by a human colleague."""
    found, dialog = need.order, need.dialog
    currency = dialog.currency
    items = "; ".join(f"{line_text(i)} {format_money(i['price'], currency)}" for i in found["items"])
    payments = "; ".join(
        f"{p['transaction_type']} {format_money(p['amount'], currency)} ({p['payment_method_id']})"
        for p in found.get("payment_history", [])
    )
    text = dialog.reply(
        "orders.invoice",
        order_id=found["order_id"],
        status=found["status"],
        items=items,
        payments=payments or dialog.reply("orders.none"),
    )
    return Say(text, expects=HUMAN)


def paid_with(need: Need) -> Step:
    """How the order was paid, read from its payment history."""
    found, dialog = need.order, need.dialog
    profile = user(dialog)
    if not isinstance(profile, dict):
        return profile
    payments = [p for p in found.get("payment_history", []) if p["transaction_type"] == "payment"]
    if not payments:
        return Say(dialog.reply("orders.no_payment", order_id=found["order_id"]))
    currency = dialog.currency
    paid = "; ".join(
        dialog.reply(
            "orders.paid_part",
            amount=format_money(p["amount"], currency),
            method=slots.describe_method(p["payment_method_id"], profile, currency),
        )
        for p in payments
    )
    return Say(dialog.reply("orders.paid_with", order_id=found["order_id"], status=found["status"], paid=paid))


def refund_info(need: Need) -> Step:
    """The refunds of the order asked about; "where is my refund?" with no order named: those of every order."""
    dialog = need.dialog
    if need.turn.nlu.intent == "track_refund" and not slots.order_ids(dialog, need.turn.index):
        return _refunds_of_customer(need)
    found = order(need)
    if not isinstance(found, dict):
        return found
    return Say(dialog.reply("orders.refunds", refunds=_refund_text(dialog, found)))


def list_orders(need: Need) -> Step:
    dialog = need.dialog
    orders = customer_orders(dialog)
    if not isinstance(orders, list):
        return orders
    if not orders:
        return Say(dialog.reply("orders.no_orders_yet"))
    listing = "; ".join(f"{o['order_id']}: {o['status']} ({', '.join(i['name'] for i in o['items'])})" for o in orders)
    return Say(dialog.reply("orders.your_orders", listing=listing))


def _refund_payments(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in found.get("payment_history", []) if p["transaction_type"] == "refund"]


def _refund_text(dialog: Dialog, found: dict[str, Any]) -> str:
    refunds = _refund_payments(found)
    if not refunds and found["status"] == RETURN_REQUESTED:
        return dialog.reply("orders.refund_after_return", order_id=found["order_id"])
    if not refunds:
        return dialog.reply("orders.refund_none", order_id=found["order_id"], status=found["status"])
    total = sum((Decimal(str(r["amount"])) for r in refunds), Decimal("0"))
    return dialog.reply("orders.refund_total", order_id=found["order_id"], total=format_money(total, dialog.currency))


def _refunds_of_customer(need: Need) -> Step:
    """The refunds on the customer's orders, read from the orders themselves (refund payments, or a return on its
    way back), rather than asking which order."""
    dialog = need.dialog
    orders = customer_orders(dialog)
    if not isinstance(orders, list):
        return orders
    refunding = [o for o in orders if _refund_payments(o) or o["status"] == RETURN_REQUESTED]
    if not refunding:
        listing = "; ".join(f"{o['order_id']} ({o['status']})" for o in orders) or dialog.reply("orders.none")
        return Say(dialog.reply("orders.no_refunds", listing=listing))
    return Say(dialog.reply("orders.refunds", refunds=" ".join(_refund_text(dialog, o) for o in refunding)))


ANSWERS: Mapping[str, Callable[[Need], Step]] = {
    "track": track,
    "invoice": invoice,
    "refund_info": refund_info,
    "list": list_orders,
    "paid_with": paid_with,
}
