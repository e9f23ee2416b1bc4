"""Proposals: the exact summary and fingerprint of a consequential action, built from a rehearsal of it.

A write tool is first run on ``store.rehearsal()`` (real checks, real arithmetic, rolled back). Its result is what
the customer is asked to confirm; the fingerprint covers the tool, its arguments and that result, so a yes only
ever executes the action that was shown.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from shopkeep.domain import Address, Customer, Order, describe_payment_method
from shopkeep.domain.money import format_money
from shopkeep.replies import reply
from shopkeep.store.base import CommerceStore
from shopkeep.tools.checkout import CheckoutQuote, describe_quote


class Proposal(BaseModel):
    """An action waiting for the customer's explicit yes."""

    fingerprint: str
    tool: str
    arguments: dict[str, Any]
    summary: str
    preview: Any = None


def fingerprint(tool: str, arguments: dict[str, Any], preview: Any) -> str:
    payload = json.dumps({"tool": tool, "arguments": arguments, "preview": preview}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _address(address: dict[str, Any] | Address) -> str:
    a = address if isinstance(address, dict) else address.model_dump()
    street = ", ".join(part for part in (a["address1"], a["address2"]) if part)
    return f"{street}, {a['city']}, {a['state']} {a['zip']}, {a['country']}"


def _item(item: dict[str, Any]) -> str:
    options = ", ".join(f"{v}" for v in item["options"].values())
    return f"{item['name']} ({options})" if options else str(item["name"])


def _method(customer: Customer | None, method_id: str, currency: str) -> str:
    if customer is not None and method_id in customer.payment_methods:
        return describe_payment_method(customer.payment_methods[method_id], currency)
    return method_id


def _items_by_id(order: Order | dict[str, Any], ids: list[str]) -> list[str]:
    items = order.model_dump(mode="json")["items"] if isinstance(order, Order) else order["items"]
    remaining = list(ids)
    described = []
    for item in items:
        if item["item_id"] in remaining:
            remaining.remove(item["item_id"])
            described.append(_item(item))
    return described


def summarize(tool: str, arguments: dict[str, Any], preview: Any, store: CommerceStore, currency: str) -> str:
    """One customer-facing paragraph stating exactly what will happen (amounts in the shop's ``currency``)."""

    def _money(amount: Decimal | float) -> str:
        return format_money(amount, currency)

    with store.session() as session:
        order = session.get_order(arguments["order_id"]) if "order_id" in arguments else None
        customer = session.get_customer(order.user_id if order else arguments.get("user_id", ""))
    if tool == "cancel_pending_order" and order is not None:
        refunds = preview["payment_history"][len(order.payment_history) :]
        refund_text = "; ".join(
            reply(
                "proposals.refund_to",
                amount=_money(r["amount"]),
                method=_method(customer, r["payment_method_id"], currency),
            )
            for r in refunds
        )
        return reply(
            "proposals.cancel",
            order_id=order.order_id,
            items=", ".join(_item(i) for i in preview["items"]),
            reason=arguments["reason"],
            refunds=refund_text or reply("proposals.nothing_paid"),
        )
    if tool == "modify_pending_order_address" and order is not None:
        return reply(
            "proposals.order_address",
            order_id=order.order_id,
            old=_address(order.address),
            new=_address(arguments),
        )
    if tool == "modify_user_address":
        return reply("proposals.default_address", address=_address(arguments))
    if tool == "modify_pending_order_payment" and order is not None:
        return reply(
            "proposals.order_payment",
            order_id=order.order_id,
            amount=_money(order.payment_history[0].amount),
            new=_method(customer, arguments["payment_method_id"], currency),
            old=_method(customer, order.payment_history[0].payment_method_id, currency),
        )
    if tool in ("modify_pending_order_items", "exchange_delivered_order_items") and order is not None:
        old = _items_by_id(order, arguments["item_ids"])
        new_lines = _new_lines(store, order, arguments)
        pairs = "; ".join(f"{a} -> {b}" for a, b in zip(old, new_lines, strict=False))
        difference = _difference(order, preview, arguments)
        method = _method(customer, arguments["payment_method_id"], currency)
        if difference > 0:
            settle = reply("proposals.pay_difference", amount=_money(difference), method=method)
        elif difference < 0:
            settle = reply("proposals.get_back", amount=_money(-difference), method=method)
        else:
            settle = reply("proposals.same_price")
        if tool == "modify_pending_order_items":
            return reply("proposals.change_items", order_id=order.order_id, changes=pairs, settle=settle)
        return reply("proposals.exchange", order_id=order.order_id, changes=pairs, settle=settle)
    if tool == "return_delivered_order_items" and order is not None:
        return reply(
            "proposals.return",
            order_id=order.order_id,
            items=", ".join(_items_by_id(order, arguments["item_ids"])),
            amount=_money(_returned_total(order, arguments["item_ids"])),
            method=_method(customer, arguments["payment_method_id"], currency),
        )
    if tool == "place_order":
        quote = CheckoutQuote.model_validate(preview["quote"])
        return reply("proposals.place_order", total=_money(quote.total), quote=describe_quote(quote))
    return reply("proposals.other", tool=tool, arguments=json.dumps(arguments))


def _returned_total(order: Order, item_ids: list[str]) -> Decimal:
    remaining = list(item_ids)
    total = Decimal("0")
    for item in order.items:
        if item.item_id in remaining:
            remaining.remove(item.item_id)
            total += item.price
    return total


def _new_lines(store: CommerceStore, order: Order, arguments: dict[str, Any]) -> list[str]:
    """The requested variants, named like order lines: product name and option values."""
    names = {item.product_id: item.name for item in order.items}
    described = []
    with store.session() as session:
        for new_id in arguments["new_item_ids"]:
            found = session.get_variant(new_id)
            if found is None:
                described.append(f"item {new_id}")
                continue
            product_id, variant = found
            described.append(_item({"name": names.get(product_id, "item"), "options": variant.options}))
    return described


def _difference(order: Order, preview: Any, arguments: dict[str, Any]) -> Decimal:
    if preview.get("exchange_price_difference") is not None:
        return Decimal(str(preview["exchange_price_difference"]))
    entry = preview["payment_history"][-1]
    amount = Decimal(str(entry["amount"]))
    return amount if entry["transaction_type"] == "payment" else -amount
