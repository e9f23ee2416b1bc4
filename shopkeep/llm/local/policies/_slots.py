"""Reading slot values (orders, items, payment methods, addresses, reasons) from what the customer said."""

from __future__ import annotations

import re
from typing import Any

from shopkeep.domain.money import format_money
from shopkeep.llm.local.dialog import Dialog, Turn
from shopkeep.llm.local.nlu import Entity
from shopkeep.llm.local.policies.base import item_question

ALL_ITEMS = re.compile(r"\b(all|every|everything|entire|whole|both)\b", re.IGNORECASE)
ORIGINAL_METHOD = re.compile(r"\b(original|same (card|method|payment)|how i paid|paid with)\b", re.IGNORECASE)
INSTEAD_OF = re.compile(r"\b(?:instead of|rather than)\b", re.IGNORECASE)
"""The wanted item comes first: "the kettle *in white* instead of black"."""
WANT_INSTEAD = re.compile(r"\b(?:want|need|prefer|like|get|take)\s+(?P<wanted>.+?)\s+instead\b(?!\s+of)", re.IGNORECASE)
"""The wanted item before a closing "instead": "I want *the gas one* instead"."""
REPLACED = re.compile(r"\b(?:instead of|rather than|from|not|away from)\s+(?:the\s+|my\s+|that\s+)?$", re.IGNORECASE)
"""Words before a payment method that name the one being replaced: "my Mastercard *instead of the* gift card"."""
TARGET_PIVOT = re.compile(r"\b(for|to|into|instead|with|but|new one|a different|another)\b", re.IGNORECASE)


def order_ids(dialog: Dialog, since: int) -> list[str]:
    """Order ids the customer gave, newest first (those since ``since`` before older ones)."""
    recent = [str(e.value) for e in dialog.entities("order_id", since)]
    older = [str(e.value) for e in dialog.entities("order_id") if str(e.value) not in recent]
    return [*reversed(recent), *reversed(older)]


def _in_parentheses(text: str, position: int) -> bool:
    """Inside "( ... )": a list of option values, where "laptop" is a backpack's compartment, not a product."""
    before = text[:position]
    return before.count("(") > before.count(")")


def product_entities(turn: Turn) -> list[Entity]:
    """The products a message names (not option values that happen to be product names)."""
    return [e for e in turn.nlu.entities if e.type == "product" and not _in_parentheses(turn.text, e.start)]


NEGATED = re.compile(
    r"\b(?:not|except|excluding|without|keep(?:ing)?|other than)\s+(?:(?:the|my|that)\s+)?"
    r"(?:(?:[\w-]+\s+){1,3}(?:or|and|nor)\s+(?:(?:the|my)\s+)?)?$"
)
"""Words before a product that leave it out: "just the earbuds, *not the* backpack", "not the tablet or the"."""
DESCRIBES_ORDER = re.compile(
    r"\b(?:that|which)\s+(?:also\s+)?(?:had|has|came with|included|contained)\b[^.!?;]*$|\bcame with\b[^.!?;]*$"
)
"""Products named to say which order ("the order that also had the camera"), not which of its items."""


def products_mentioned(turns: list[Turn]) -> list[tuple[str, Turn, int]]:
    """(product name, turn, start) for each product mention the customer did not exclude, in order."""
    return [
        (str(e.value), t, e.start)
        for t in turns
        for e in product_entities(t)
        if not NEGATED.search(t.text[max(0, e.start - 40) : e.start].lower())
        and not DESCRIBES_ORDER.search(t.text[: e.start].lower())
    ]


def segment_for(turn: Turn, start: int, name: str) -> str:
    """The words about one product: from its mention to the next mention of another product in the same message
    ("the T-Shirt (blue, S) to T-Shirt (purple, S)" stays one segment)."""
    later = [e.start for e in product_entities(turn) if e.start > start and e.value != name]
    stop = min(later) if later else len(turn.text)
    return turn.text[start:stop]


def wanted_descriptions(turns: list[Turn], name: str, *, sole: bool = False) -> list[str]:
    """What the customer said they want instead of a product's current item, one text per message, oldest first:
    the words after "for"/"to"/"instead" about that product, or a whole answer to a question about it. When the
    product is the ``sole`` one being swapped, option values said later without naming any product ("actually size
    XL", "the black one") are about it too."""
    found = []
    for turn in turns:
        mentions = [e for e in product_entities(turn) if e.value == name]
        if mentions:
            found.append(target_description(segment_for(turn, mentions[0].start, name)))
        elif turn.expects == item_question(name) and not product_entities(turn):
            found.append(turn.text)
        elif sole and turn is not turns[0] and not product_entities(turn) and turn.nlu.entities_of("option"):
            found.append(" ".join(str(e.value) for e in turn.nlu.entities_of("option")))
    return [text for text in found if text.strip()]


def current_description(segment: str) -> str:
    """The part of a segment that describes the item the customer has ("the *speaker (blue, 10 hours)* for ...")."""
    instead = INSTEAD_OF.search(segment)
    if instead is not None:
        return segment[instead.end() :]
    match = TARGET_PIVOT.search(segment)
    return segment[: match.start()] if match else segment


def target_description(segment: str) -> str:
    """The part of a segment that describes the wanted item ("... keyboard *for one with clicky switches*")."""
    wanted = WANT_INSTEAD.search(segment)
    if wanted is not None:
        return wanted.group("wanted")
    instead = INSTEAD_OF.search(segment)
    if instead is not None:
        return segment[: instead.start()]
    match = TARGET_PIVOT.search(segment)
    return segment[match.start() :] if match else segment


def payment_method_for(dialog: Dialog, since: int, user: dict[str, Any], order: dict[str, Any] | None) -> str | None:
    """The saved payment method the customer named since ``since`` (None if they named none we can map)."""
    methods: dict[str, dict[str, Any]] = user.get("payment_methods", {})
    for turn in reversed([t for t in dialog.turns if t.index >= since]):
        for method_id in methods:
            if method_id in turn.text:
                return method_id
        named = [e for e in turn.nlu.entities if e.type == "payment_method"]
        for entity in reversed([e for e in named if not REPLACED.search(turn.text[max(0, e.start - 30) : e.start])]):
            chosen = _match_method(entity.value, methods, order)
            if chosen:
                return chosen
        if order is not None and ORIGINAL_METHOD.search(turn.text) and order.get("payment_history"):
            return str(order["payment_history"][0]["payment_method_id"])
    return None


def _match_method(value: Any, methods: dict[str, dict[str, Any]], order: dict[str, Any] | None) -> str | None:
    spec = value if isinstance(value, dict) else {"kind": str(value)}
    kind = str(spec.get("kind") or spec.get("source") or "").replace(" ", "_")
    if kind == "original" and order is not None and order.get("payment_history"):
        return str(order["payment_history"][0]["payment_method_id"])
    brand, last_four = spec.get("brand"), spec.get("last_four")
    candidates = [
        method_id
        for method_id, method in methods.items()
        if (
            not kind
            or method.get("source") == kind
            or (kind in ("card", "credit_card") and method.get("source") == "credit_card")
        )
        and (not brand or str(method.get("brand", "")).lower() == str(brand).lower())
        and (not last_four or method.get("last_four") == last_four)
    ]
    if len(candidates) == 1:
        return candidates[0]
    if candidates and order is not None:
        original = order.get("payment_history", [{}])[0].get("payment_method_id")
        if original in candidates:
            return str(original)
    return None


def describe_method(method_id: str, user: dict[str, Any], currency: str) -> str:
    method = user.get("payment_methods", {}).get(method_id, {})
    if method.get("source") == "credit_card":
        return f"{str(method.get('brand', 'card')).title()} ending in {method.get('last_four')}"
    if method.get("source") == "gift_card":
        return f"gift card (balance {format_money(method.get('balance', 0), currency)})"
    if method.get("source") == "paypal":
        return "PayPal"
    return method_id


def address_from(dialog: Dialog, since: int) -> dict[str, str] | None:
    for entity in reversed(dialog.entities("address", since)):
        value = entity.value
        if isinstance(value, dict) and value.get("address1") and value.get("city") and value.get("zip"):
            return {
                "address1": str(value["address1"]),
                "address2": str(value.get("address2") or ""),
                "city": str(value["city"]),
                "state": str(value.get("state") or ""),
                "country": str(value.get("country") or "USA"),
                "zip": str(value["zip"]),
            }
    return None


def cancel_reason(dialog: Dialog, since: int) -> str | None:
    found = dialog.entities("cancel_reason", since) or dialog.entities("cancel_reason")
    return str(found[-1].value) if found else None
