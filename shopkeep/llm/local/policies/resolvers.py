"""The resolvers flows call by name (``resolver:`` in ``data/flows/*.yaml``): which order, which items, which
variant, which payment method, which address, why. Each reads the conversation and the slots filled before it and
gives the slot's value, a tool call that fetches what it needs to know (the customer's profile, an order, a
product), an ``Ask`` for the flow's question, or a reply of its own when the answer is not a question ("I couldn't
find order #W..."). ``RESOLVERS`` is what the flow check knows of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shopkeep.domain import Product
from shopkeep.llm.local.dialog import Dialog, Turn
from shopkeep.llm.local.flows import ORDER_SLOT, Flow, ResolverSignature
from shopkeep.llm.local.policies import _slots as slots
from shopkeep.llm.local.policies.base import Call, Expects, Say, Step, item_question
from shopkeep.llm.local.resolve import Resolved, literal_choice, resolve

MAX_ORDERS_TO_SCAN = 10
LATEST_ORDER = re.compile(r"\b(?:last|latest|newest|most recent|recent)\s+(?:order|purchase)\b", re.IGNORECASE)
"""The customer's orders are kept in the order they were placed: "my last order" is the newest of them."""
ITEMS_SLOT = "items"
"""The slot ``variants`` reads the chosen order lines from."""
ADDRESS_FIELDS = frozenset({"address1", "address2", "city", "state", "country", "zip"})


@dataclass(frozen=True)
class Need:
    """What a resolver is asked for: a slot of ``flow``, started by the customer's message ``turn``."""

    dialog: Dialog
    flow: Flow
    turn: Turn
    filled: Mapping[str, Any]

    @property
    def turns(self) -> list[Turn]:
        """The customer's messages since the flow started."""
        return [t for t in self.dialog.turns if t.index >= self.turn.index]

    @property
    def order(self) -> dict[str, Any]:
        order: dict[str, Any] = self.filled[ORDER_SLOT]
        return order


@dataclass(frozen=True)
class Ask:
    """Ask the slot's question (its ``ask`` reply) with these fields."""

    fields: dict[str, object] = field(default_factory=dict)
    expects: Expects | None = None


@dataclass(frozen=True)
class ChosenItems:
    """Order lines, each with what the customer said about it."""

    lines: list[tuple[dict[str, Any], str]]

    @property
    def item_ids(self) -> list[str]:
        return [line["item_id"] for line, _ in self.lines]


@dataclass(frozen=True)
class Resolver:
    fn: Callable[[Need], object]
    """Gives the slot's value, or a ``Step`` or an ``Ask`` to get one first."""
    signature: ResolverSignature = field(default_factory=ResolverSignature)


# the customer and the order ------------------------------------------------------------------------------------


def user(dialog: Dialog) -> dict[str, Any] | Step:
    found = dialog.user
    if found is None:
        return Call("get_user_details", {"user_id": dialog.customer_id})
    return found


def customer_orders(dialog: Dialog) -> list[dict[str, Any]] | Step:
    """The customer's orders (the first ``MAX_ORDERS_TO_SCAN``), fetching the next one not seen yet."""
    profile = user(dialog)
    if not isinstance(profile, dict):
        return profile
    order_ids = list(profile.get("orders", []))[:MAX_ORDERS_TO_SCAN]
    for order_id in order_ids:
        if dialog.order(order_id) is None and dialog.tried("get_order_details", order_id=order_id) is None:
            return Call("get_order_details", {"order_id": order_id})
    return [o for oid in order_ids if (o := dialog.order(oid)) is not None]


def order(need: Need) -> dict[str, Any] | Step:
    """The order the flow is about: one named (and not named earlier for something else), else the one of the
    customer's orders in a status the flow needs that holds the products mentioned; asks when several could be."""
    dialog = need.dialog
    wanted = {name for name, *_ in slots.products_mentioned(need.turns)}
    named_now = {str(e.value) for e in dialog.entities("order_id", need.turn.index)}
    for order_id in slots.order_ids(dialog, need.turn.index):
        known = dialog.order(order_id)
        if known is not None and order_id not in named_now and not wanted <= {i["name"] for i in known["items"]}:
            continue  # an order named earlier for something else ("back to the return of the helmet")
        if known is not None:
            return known
        failed = dialog.tried("get_order_details", order_id=order_id)
        if failed is None:
            return Call("get_order_details", {"order_id": order_id})
        if not failed.ok:
            return Say(dialog.reply("orders.order_not_found", order_id=order_id))
    profile = user(dialog)
    if not isinstance(profile, dict):
        return profile
    if profile.get("orders") and _latest_wanted(need.turns):
        newest = str(profile["orders"][-1])
        known = dialog.order(newest)
        if known is not None:
            return known
        if dialog.tried("get_order_details", order_id=newest) is None:
            return Call("get_order_details", {"order_id": newest})
    orders = customer_orders(dialog)
    if not isinstance(orders, list):
        return orders
    status = need.flow.requires.order_status
    eligible = [o for o in orders if not status or o["status"] in status]
    candidates = [o for o in eligible if wanted <= {i["name"] for i in o["items"]}]
    if not candidates and wanted:
        # some of the products named are not in any order ("the camera... I picked the wrong camera"): the
        # eligible orders holding most of them
        overlap = {o["order_id"]: len(wanted & {i["name"] for i in o["items"]}) for o in eligible}
        best = max(overlap.values(), default=0)
        candidates = [o for o in eligible if best and overlap[o["order_id"]] == best]
    if len(candidates) == 1:
        return candidates[0]
    shown = candidates or eligible or orders
    if not shown:
        return Say(dialog.reply("orders.no_orders"))
    listing = " or ".join(f"{o['order_id']} ({o['status']}: {', '.join(i['name'] for i in o['items'])})" for o in shown)
    return Say(dialog.reply("orders.which_order", listing=listing))


def _latest_wanted(turns: list[Turn]) -> bool:
    """ "My last order", unless a later message of the task named the order by its products."""
    for turn in reversed(turns):
        if LATEST_ORDER.search(turn.text):
            return True
        if slots.product_entities(turn):
            return False
    return False


def cancel_reason(need: Need) -> str | Ask:
    reason = slots.cancel_reason(need.dialog, need.turn.index)
    return Ask({"order_id": need.order["order_id"]}) if reason is None else reason


# addresses -----------------------------------------------------------------------------------------------------


def shipping_address(need: Need) -> dict[str, str] | Step | Ask:
    """A new address for the order: the one given, or the customer's default one when they say so."""
    address = slots.address_from(need.dialog, need.turn.index)
    if address is None and any("default" in t.text.lower() or "profile" in t.text.lower() for t in need.turns):
        profile = user(need.dialog)
        if not isinstance(profile, dict):
            return profile
        address = dict(profile["address"])
    return Ask({"order_id": need.order["order_id"]}) if address is None else address


def address(need: Need) -> dict[str, str] | Ask:
    found = slots.address_from(need.dialog, need.turn.index)
    return Ask() if found is None else found


# items ---------------------------------------------------------------------------------------------------------


def items(need: Need) -> ChosenItems | Ask:
    chosen = _chosen_lines(need)
    return _ask_items(need.order) if chosen is None else ChosenItems(chosen)


def swapped_items(need: Need) -> ChosenItems | Ask:
    """The lines to exchange or change, less any the customer dropped while asked about it."""
    chosen = _chosen_lines(need)
    if chosen is None:
        return _ask_items(need.order)
    chosen = _without_redirected(need.turns, chosen)
    return ChosenItems(chosen) if chosen else _ask_items(need.order)


def _ask_items(order: dict[str, Any]) -> Ask:
    listing = ", ".join(f"{i['name']} ({', '.join(i['options'].values())})" for i in order["items"])
    return Ask({"order_id": order["order_id"], "listing": listing})


def _chosen_lines(need: Need) -> list[tuple[dict[str, Any], str]] | None:
    """(order line, what the customer said about it) for the lines the task is about; None if unclear."""
    turns = need.turns
    lines = need.order["items"]
    mentions = slots.products_mentioned(turns)
    if not mentions:
        if any(slots.ALL_ITEMS.search(t.text) for t in turns) or len(lines) == 1:
            return [(line, " ".join(t.text for t in turns)) for line in lines]
        return None
    chosen: list[tuple[dict[str, Any], str]] = []
    for name, turn, start in mentions:
        segment = slots.segment_for(turn, start, name)
        same = [line for line in lines if line["name"] == name and all(line is not c for c, _ in chosen)]
        if not same:
            continue
        if len(same) > 1 and not slots.ALL_ITEMS.search(segment):
            same = [_best_described(same, slots.current_description(segment))]
        chosen.extend((line, segment) for line in same)
    return chosen or None


def _best_described(lines: list[dict[str, Any]], text: str) -> dict[str, Any]:
    """The line whose option values the text names most often (the first one on a tie)."""
    words = text.lower()

    def named(line: dict[str, Any]) -> int:
        return sum(
            1 for v in line["options"].values() if re.search(rf"(?<![\w-]){re.escape(str(v).lower())}(?![\w-])", words)
        )

    return max(lines, key=named)


def _without_redirected(
    turns: list[Turn], chosen: list[tuple[dict[str, Any], str]]
) -> list[tuple[dict[str, Any], str]]:
    """When the customer answers a question about one item by naming only other items, they dropped that one."""
    last = turns[-1] if turns else None
    if last is None or not last.expects.startswith(item_question("")):
        return chosen
    named = {str(e.value) for e in slots.product_entities(last)}
    asked = last.expects.removeprefix(item_question(""))
    if named and asked not in named:
        return [(line, text) for line, text in chosen if line["name"] != asked]
    return chosen


def variants(need: Need) -> list[str] | Step | Ask:
    """The new variant of each chosen line, as the customer described it."""
    chosen: ChosenItems = need.filled[ITEMS_SLOT]
    new_ids: list[str] = []
    for line, _ in chosen.lines:
        product = need.dialog.product(line["product_id"])
        if product is None:
            return Call("get_product_details", {"product_id": line["product_id"]})
        wanted = slots.wanted_descriptions(need.turns, line["name"], sole=len(chosen.lines) == 1)
        outcome = _resolve_wanted(need.dialog, Product.model_validate(product), line, wanted)
        if outcome.item_id is None:
            return Ask({"name": line["name"], "message": outcome.message}, expects=item_question(line["name"]))
        new_ids.append(outcome.item_id)
    return new_ids


def _resolve_wanted(dialog: Dialog, product: Product, line: dict[str, Any], descriptions: list[str]) -> Resolved:
    """The newest description that pins one variant down wins; failing that, everything said together."""
    currency = dialog.currency
    if not descriptions:
        return Resolved(None, dialog.reply("orders.instead_of", line=line_text(line)))
    if len(descriptions) > 1:
        # option values named word for word, the later ones correcting the earlier ("M ... actually XL")
        literal = literal_choice(product, " ".join(descriptions), line["item_id"])
        if literal is not None and literal != line["item_id"]:
            return Resolved(literal, "")
    for description in reversed(descriptions):
        outcome = resolve(product, description, line["item_id"], currency)
        if outcome.item_id is not None and outcome.item_id != line["item_id"]:
            return outcome
    together = resolve(product, " ".join(descriptions), line["item_id"], currency)
    if together.item_id is not None and together.item_id != line["item_id"]:
        return together
    newest = resolve(product, descriptions[-1], line["item_id"], currency)
    if newest.item_id == line["item_id"]:
        return Resolved(None, dialog.reply("orders.same_item", line=line_text(line)))
    return newest


def line_text(line: dict[str, Any]) -> str:
    return f"{line['name']} ({', '.join(line['options'].values())})"


# payment methods -----------------------------------------------------------------------------------------------


def new_payment_method(need: Need) -> str | Step | Ask:
    """Another of the customer's payment methods for a pending order (the only other one on a plain yes)."""
    dialog, current_order = need.dialog, need.order
    profile = user(dialog)
    if not isinstance(profile, dict):
        return profile
    method = slots.payment_method_for(dialog, need.turn.index, profile, None)
    history = current_order["payment_history"]
    current = history[0]["payment_method_id"] if history else None
    options = [m for m in profile["payment_methods"] if m != current]
    last = dialog.last_turn
    only_one = len(options) == 1 and last is not None and last.answering and last.nlu.intent == "affirm"
    if (method is None or method == current) and only_one:
        method = options[0]  # "yes" to "You have: PayPal."
    if method is None or method == current:
        listing = ", ".join(slots.describe_method(m, profile, dialog.currency) for m in options)
        return Ask({"order_id": current_order["order_id"], "listing": listing})
    return method


def refund_method(need: Need) -> str | Step | Ask:
    """Where a return's refund goes: back to the original payment method, or to one of the customer's gift cards."""
    dialog, current_order = need.dialog, need.order
    profile = user(dialog)
    if not isinstance(profile, dict):
        return profile
    original = current_order["payment_history"][0]["payment_method_id"]
    gift_cards = [m for m, v in profile["payment_methods"].items() if v.get("source") == "gift_card"]
    method = slots.payment_method_for(dialog, need.turn.index, profile, current_order)
    options = [original, *[g for g in gift_cards if g != original]]
    if method is None and len(options) == 1:
        method = original  # nothing to choose: the refund can only go back where the money came from
    if method is None or (method != original and method not in gift_cards):
        listing = " or ".join(slots.describe_method(m, profile, dialog.currency) for m in options)
        return Ask({"listing": listing})
    return method


def difference_method(need: Need) -> str | Step | Ask:
    """The payment method that covers or receives the price difference of an exchange or change of items."""
    dialog = need.dialog
    profile = user(dialog)
    if not isinstance(profile, dict):
        return profile
    method = slots.payment_method_for(dialog, need.turn.index, profile, need.order)
    if method is None and len(profile["payment_methods"]) == 1:
        method = next(iter(profile["payment_methods"]))
    if method is None:
        listing = ", ".join(slots.describe_method(m, profile, dialog.currency) for m in profile["payment_methods"])
        return Ask({"listing": listing})
    return method


_ORDER = frozenset({ORDER_SLOT})
_ORDER_ASKS = frozenset({"order_id"})
_LISTING = frozenset({"listing"})
_ITEM_IDS = frozenset({"item_ids"})

RESOLVERS: Mapping[str, Resolver] = {
    "order": Resolver(order, ResolverSignature(fields=frozenset({"order_id", "user_id", "status"}), question=False)),
    "cancel_reason": Resolver(cancel_reason, ResolverSignature(asks=_ORDER_ASKS, needs=_ORDER)),
    "shipping_address": Resolver(
        shipping_address, ResolverSignature(fields=ADDRESS_FIELDS, asks=_ORDER_ASKS, needs=_ORDER)
    ),
    "address": Resolver(address, ResolverSignature(fields=ADDRESS_FIELDS)),
    "items": Resolver(items, ResolverSignature(fields=_ITEM_IDS, asks=_ORDER_ASKS | _LISTING, needs=_ORDER)),
    "swapped_items": Resolver(
        swapped_items, ResolverSignature(fields=_ITEM_IDS, asks=_ORDER_ASKS | _LISTING, needs=_ORDER)
    ),
    "variants": Resolver(variants, ResolverSignature(asks=frozenset({"name", "message"}), needs=_ORDER | {ITEMS_SLOT})),
    "new_payment_method": Resolver(new_payment_method, ResolverSignature(asks=_ORDER_ASKS | _LISTING, needs=_ORDER)),
    "refund_method": Resolver(refund_method, ResolverSignature(asks=_LISTING, needs=_ORDER)),
    "difference_method": Resolver(difference_method, ResolverSignature(asks=_LISTING, needs=_ORDER)),
}
