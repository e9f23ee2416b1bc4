"""The orders specialist's dialog policy: status and tracking, cancel, change (address, items, payment), return,
exchange, refunds: identify the customer, find the order and the items, collect what the action needs, then call
the one write tool that does it (the graph turns that call into a proposal the customer must confirm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shopkeep.domain import Product
from shopkeep.domain.money import format_money
from shopkeep.llm.local.acts import without_lead
from shopkeep.llm.local.dialog import Dialog, ToolEvent, Turn
from shopkeep.llm.local.policies import _slots as slots
from shopkeep.llm.local.policies import escalation, support
from shopkeep.llm.local.policies.base import ANYTHING_ELSE, HUMAN, Call, Say, Step, item_question
from shopkeep.llm.local.policies.identity import identify
from shopkeep.llm.local.resolve import Resolved, literal_choice, resolve

TASK_OF_INTENT = {
    "cancel_order": "cancel",
    "change_order": "modify_items",
    "change_shipping_address": "order_address",
    "set_up_shipping_address": "user_address",
    "track_order": "track",
    "delivery_period": "track",  # reaches orders only about an order ("when will #W... get here?"): its status
    "return_items": "return",
    "exchange_items": "exchange",
    "change_payment_method": "payment",
    "get_refund": "refund_info",
    "track_refund": "refund_info",
    "order_status_list": "list",
    "get_invoice": "invoice",
    "check_invoice": "invoice",
}
WRITE_TOOL = {
    "cancel": "cancel_pending_order",
    "modify_items": "modify_pending_order_items",
    "order_address": "modify_pending_order_address",
    "user_address": "modify_user_address",
    "return": "return_delivered_order_items",
    "exchange": "exchange_delivered_order_items",
    "payment": "modify_pending_order_payment",
}
STATUS_NEEDED = {
    "cancel": ("pending",),
    "modify_items": ("pending",),
    "order_address": ("pending", "pending (item modified)"),
    "payment": ("pending", "pending (item modified)"),
    "return": ("delivered",),
    "exchange": ("delivered",),
}
ACTION_WORDS = {
    "cancel": "cancelled",
    "modify_items": "changed",
    "order_address": "given a new address",
    "payment": "paid another way",
    "return": "returned",
    "exchange": "exchanged",
}
MAX_ORDERS_TO_SCAN = 10
RETURN_REQUESTED = "return requested"


@dataclass(frozen=True)
class Task:
    kind: str
    turn: Turn


NEW_TASK_CONFIDENCE = 0.6
NEW_TASK_WHILE_ANSWERING = 0.85


KEYWORD_TASKS = (
    (re.compile(r"\b(exchange|swap)\b", re.IGNORECASE), "exchange"),
    (re.compile(r"\breturn(ing)?\b|\bsend (?:\w+ ){0,3}back\b", re.IGNORECASE), "return"),
    (re.compile(r"\b(cancel|cancle|cansel)", re.IGNORECASE), "cancel"),
    (re.compile(r"\b(change|modify|switch|adjust|replace)\b.*\b(to|for|into|with)\b", re.IGNORECASE), "modify_items"),
    # "the t-shirt in red rather than black": a swap of an item's options (an exchange if the order was delivered)
    (re.compile(r"\b(rather than|instead of)\b", re.IGNORECASE), "modify_items"),
)
WEAK_TASKS = frozenset({"payment", "refund_info", "track"})
TRACK_WORDS = re.compile(r"\b(status|where(?:'s| is)|track(?:ing)?|shipped|arriv\w*)\b", re.IGNORECASE)
LATEST_ORDER = re.compile(r"\b(?:last|latest|newest|most recent|recent)\s+(?:order|purchase)\b", re.IGNORECASE)
"""The customer's orders are kept in the order they were placed: "my last order" is the newest of them."""
PAID_WITH = re.compile(
    r"\b(?:which|what)\s+(?:card|payment(?: method)?|method)\b|\b(?:paid|pay|charged?|used)\b.*\b(?:with|on|using)\b",
    re.IGNORECASE,
)
"""How one of the customer's orders was paid ("which card did I pay my last order with?")."""
_RECORD_QUESTION = re.compile(
    r"^(?:which|what|when|how much|is|are|was|were|did|has|have)\b.*\b(?:i|my)\b.*\b(?:orders?|ordered|purchases?|"
    r"bought|refunds?|refunded|paid|pay|charged)\b",
    re.IGNORECASE,
)
_NOT_A_RECORD = re.compile(
    r"\b(?:change|switch|update|modify|cancel|return|exchange|swap|move|want|need|like|please|polic(?:y|ies)|"
    r"rules?|allowed|how long)\b",
    re.IGNORECASE,
)


def asks_own_record(text: str) -> bool:
    """A question about what the customer's orders hold ("what did I order in March?", "is my refund through?",
    "which card did I pay my last order with?"), not a request to change them: answered from their orders."""
    body = without_lead(text)
    return _RECORD_QUESTION.match(body) is not None and _NOT_A_RECORD.search(body) is None


READ_TASKS = frozenset({"track", "refund_info", "list", "invoice", "paid_with"})
# What a correction must carry to keep a declined proposal's task going ("actually, make it 79 Pine Road"): a new
# value for the very thing the proposal was about. Anything else after a "no" ends the task.
CORRECTING_ENTITIES = {
    "cancel": frozenset({"cancel_reason"}),
    "order_address": frozenset({"address"}),
    "user_address": frozenset({"address"}),
    "payment": frozenset({"payment_method"}),
    "return": frozenset({"payment_method"}),
    "exchange": frozenset({"option", "payment_method"}),
    "modify_items": frozenset({"option", "payment_method"}),
}


def _task_of(turn: Turn) -> str | None:
    """The task a message asks for. A hesitant classification is not one, and neither is a short answer to the
    assistant's question ("use my credit card" after "which payment method?"). An explicit verb ("exchange",
    "return", "cancel") outranks a side remark the classifier latched on to ("..., paying the difference by PayPal")."""
    if (turn.answering_task and turn.short) or turn.nlu.general_question:
        return None  # an answer to the assistant's question, or a question about how things work
    if asks_own_record(turn.text) and PAID_WITH.search(turn.text):
        return "paid_with"  # the customer's own record, read from the order (never a change of payment)
    classified = None
    sure = turn.nlu.confidence >= (NEW_TASK_WHILE_ANSWERING if turn.answering_task else NEW_TASK_CONFIDENCE)
    if turn.nlu.intent in TASK_OF_INTENT and sure:
        classified = TASK_OF_INTENT[turn.nlu.intent]
    if classified is None or classified in WEAK_TASKS:
        named = next((task for pattern, task in KEYWORD_TASKS if pattern.search(turn.text)), None)
        if named == "modify_items" and not slots.product_entities(turn):
            named = None
        if named == "modify_items" and classified == "payment" and turn.nlu.entities_of("payment_method"):
            named = None  # "use my gift card for the t-shirt order instead of the card": the product names the order
        if named is not None and (
            classified is not None or turn.nlu.entities_of("order_id") or turn.nlu.entities_of("product")
        ):
            return named
    if classified is None and turn.nlu.entities_of("order_id") and TRACK_WORDS.search(turn.text):
        return "track"  # "status of #W...?": a terse question the classifier is unsure about
    if classified is not None and classified not in READ_TASKS and turn.nlu.act == "own_question":
        return None  # "what's my default address?" looks it up; it does not ask to change it
    return classified


LEAVE_INTENTS = frozenset({"deny", "goodbye", "thanks"})
SLOT_ENTITIES = frozenset(
    {"cancel_reason", "payment_method", "address", "order_id", "product", "option", "email", "zip"}
)


def _leaves(turn: Turn) -> bool:
    """ "No, that's all" leaves the task; "no longer needed" (a deny-sounding answer carrying a slot) does not."""
    if turn.nlu.intent not in LEAVE_INTENTS or turn.nlu.confidence < NEW_TASK_CONFIDENCE:
        return False
    return not any(e.type in SLOT_ENTITIES for e in turn.nlu.entities)


def active_task(dialog: Dialog) -> Task | None:
    """The newest task the customer asked for that no write has finished (done or declined) since, and that the
    customer has not walked away from ("no, that's all", "thanks, bye")."""
    for turn in reversed(dialog.turns):
        if _leaves(turn):
            return None
        kind = _task_of(turn)
        if kind is None:
            continue
        tool = WRITE_TOOL.get(kind)
        finished = tool is not None and any(
            e.name == tool
            and e.index > turn.index
            and (e.ok or (e.declined and not e.redirected and not _corrected(dialog, kind, e)))
            for e in dialog.events
        )
        return None if finished else Task(kind, turn)
    return None


def _corrected(dialog: Dialog, kind: str, declined: ToolEvent) -> bool:
    """The customer answered the declined proposal with a new value for what it was about (a correction)."""
    wanted = CORRECTING_ENTITIES.get(kind, frozenset())
    return any(e.type in wanted for t in dialog.turns if t.index > declined.index for e in t.nlu.entities)


def decide(dialog: Dialog) -> Step:
    event = dialog.just_ran_tool
    if event is not None and event.name in WRITE_TOOL.values():
        return _after_write(dialog, event)
    last = dialog.last_turn
    if (event is not None and event.name == escalation.HANDOFF_TOOL) or (
        last is not None and support.accepts_human(dialog, last)
    ):
        return escalation.decide(dialog)
    step = identify(dialog)
    if step is not None:
        return step
    task = active_task(dialog)
    if task is None and last is not None and last.nlu.intent in support.SMALL_TALK:
        return support.decide(dialog)
    if task is None:
        return Say(
            "How can I help with your orders? I can check an order's status, cancel or change a pending order, "
            "or return or exchange delivered items."
        )
    if task.kind == "user_address":
        return _user_address(dialog, task)
    if task.kind == "list":
        return _list_orders(dialog)
    if (
        task.kind == "refund_info"
        and task.turn.nlu.intent == "track_refund"
        and not slots.order_ids(dialog, task.turn.index)
    ):
        return _refunds_of_customer(dialog)
    order_or_step = _target_order(dialog, task)
    if not isinstance(order_or_step, dict):
        return order_or_step
    order = order_or_step
    if task.kind == "track":
        return Say(_track_text(order) + " " + ANYTHING_ELSE)
    if task.kind == "refund_info":
        return Say(_refund_text(order, dialog.currency) + " " + ANYTHING_ELSE)
    if task.kind == "paid_with":
        user = _user(dialog)
        if not isinstance(user, dict):
            return user
        return Say(_paid_text(order, user, dialog.currency) + " " + ANYTHING_ELSE)
    if task.kind == "invoice":
        return Say(f"{_invoice_text(order, dialog.currency)} {dialog.reply('base.human_offer')}", expects=HUMAN)
    task = _for_status(task, order)
    needed = STATUS_NEEDED[task.kind]
    if order["status"] not in needed:
        return Say(
            f"Order {order['order_id']} is {order['status']}, so it can't be {ACTION_WORDS[task.kind]}: that is "
            f"only possible for {' or '.join(needed)} orders. {ANYTHING_ELSE}"
        )
    handler = {
        "cancel": _cancel,
        "order_address": _order_address,
        "payment": _payment,
        "return": _return,
        "exchange": _swap,
        "modify_items": _swap,
    }[task.kind]
    return handler(dialog, task, order)


def _for_status(task: Task, order: dict[str, Any]) -> Task:
    """Swapping items is a modification on a pending order and an exchange on a delivered one."""
    if task.kind == "modify_items" and order["status"] == "delivered":
        return Task("exchange", task.turn)
    if task.kind == "exchange" and order["status"] == "pending":
        return Task("modify_items", task.turn)
    return task


# finding the order ---------------------------------------------------------------------------------------------


def _user(dialog: Dialog) -> dict[str, Any] | Step:
    user = dialog.user
    if user is None:
        return Call("get_user_details", {"user_id": dialog.customer_id})
    return user


def _target_order(dialog: Dialog, task: Task) -> dict[str, Any] | Step:
    wanted = {name for name, *_ in slots.products_mentioned(_task_turns(dialog, task))}
    named_now = {str(e.value) for e in dialog.entities("order_id", task.turn.index)}
    for order_id in slots.order_ids(dialog, task.turn.index):
        known = dialog.order(order_id)
        if known is not None and order_id not in named_now and not wanted <= {i["name"] for i in known["items"]}:
            continue  # an order named earlier for something else ("back to the return of the helmet")
        if known is not None:
            return known
        failed = dialog.tried("get_order_details", order_id=order_id)
        if failed is None:
            return Call("get_order_details", {"order_id": order_id})
        if not failed.ok:
            return Say(f"I couldn't find order {order_id} on your account. Could you check the order number?")
    user = _user(dialog)
    if not isinstance(user, dict):
        return user
    if user.get("orders") and _latest_wanted(_task_turns(dialog, task)):
        newest = str(user["orders"][-1])
        known = dialog.order(newest)
        if known is not None:
            return known
        if dialog.tried("get_order_details", order_id=newest) is None:
            return Call("get_order_details", {"order_id": newest})
    order_ids = list(user.get("orders", []))[:MAX_ORDERS_TO_SCAN]
    for order_id in order_ids:
        if dialog.order(order_id) is None and dialog.tried("get_order_details", order_id=order_id) is None:
            return Call("get_order_details", {"order_id": order_id})
    orders = [o for oid in order_ids if (o := dialog.order(oid)) is not None]
    status = STATUS_NEEDED.get(task.kind)
    eligible = [o for o in orders if status is None or o["status"] in status]
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
        return Say(f"I don't see any orders on your account. {ANYTHING_ELSE}")
    listing = " or ".join(f"{o['order_id']} ({o['status']}: {', '.join(i['name'] for i in o['items'])})" for o in shown)
    return Say(f"Which order do you mean: {listing}?")


def _latest_wanted(turns: list[Turn]) -> bool:
    """ "My last order", unless a later message of the task named the order by its products."""
    for turn in reversed(turns):
        if LATEST_ORDER.search(turn.text):
            return True
        if slots.product_entities(turn):
            return False
    return False


def _task_turns(dialog: Dialog, task: Task) -> list[Turn]:
    return [t for t in dialog.turns if t.index >= task.turn.index]


# items ---------------------------------------------------------------------------------------------------------


def _chosen_lines(dialog: Dialog, task: Task, order: dict[str, Any]) -> list[tuple[dict[str, Any], str]] | None:
    """(order line, what the customer said about it) for the lines the task is about; None if unclear."""
    turns = _task_turns(dialog, task)
    lines = order["items"]
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


def _ask_items(order: dict[str, Any], verb: str) -> Say:
    listing = ", ".join(f"{i['name']} ({', '.join(i['options'].values())})" for i in order["items"])
    return Say(f"Which items of order {order['order_id']} would you like to {verb}? It has: {listing}.")


# handlers ------------------------------------------------------------------------------------------------------


def _cancel(dialog: Dialog, task: Task, order: dict[str, Any]) -> Step:
    reason = slots.cancel_reason(dialog, task.turn.index)
    if reason is None:
        return Say(
            f"I can cancel order {order['order_id']}. May I ask why: is it no longer needed, or was it ordered by "
            "mistake?"
        )
    return Call("cancel_pending_order", {"order_id": order["order_id"], "reason": reason})


def _order_address(dialog: Dialog, task: Task, order: dict[str, Any]) -> Step:
    address = slots.address_from(dialog, task.turn.index)
    if address is None and any(
        "default" in t.text.lower() or "profile" in t.text.lower() for t in _task_turns(dialog, task)
    ):
        user = _user(dialog)
        if not isinstance(user, dict):
            return user
        address = dict(user["address"])
    if address is None:
        return Say(
            f"What is the new shipping address for order {order['order_id']}? Please give the street, apartment or "
            "suite if any, city, state and zip code."
        )
    return Call("modify_pending_order_address", {"order_id": order["order_id"], **address})


def _user_address(dialog: Dialog, task: Task) -> Step:
    address = slots.address_from(dialog, task.turn.index)
    if address is None:
        return Say("What is your new default address? Please give the street, apartment or suite, city, state and zip.")
    return Call("modify_user_address", {"user_id": dialog.customer_id, **address})


def _payment(dialog: Dialog, task: Task, order: dict[str, Any]) -> Step:
    user = _user(dialog)
    if not isinstance(user, dict):
        return user
    method = slots.payment_method_for(dialog, task.turn.index, user, None)
    current = order["payment_history"][0]["payment_method_id"] if order["payment_history"] else None
    options = [m for m in user["payment_methods"] if m != current]
    last = dialog.last_turn
    only_one = len(options) == 1 and last is not None and last.answering and last.nlu.intent == "affirm"
    if (method is None or method == current) and only_one:
        method = options[0]  # "yes" to "You have: PayPal."
    if method is None or method == current:
        listing = ", ".join(slots.describe_method(m, user, dialog.currency) for m in options)
        return Say(f"Which payment method should order {order['order_id']} use instead? You have: {listing}.")
    return Call("modify_pending_order_payment", {"order_id": order["order_id"], "payment_method_id": method})


def _return(dialog: Dialog, task: Task, order: dict[str, Any]) -> Step:
    chosen = _chosen_lines(dialog, task, order)
    if chosen is None:
        return _ask_items(order, "return")
    user = _user(dialog)
    if not isinstance(user, dict):
        return user
    original = order["payment_history"][0]["payment_method_id"]
    gift_cards = [m for m, v in user["payment_methods"].items() if v.get("source") == "gift_card"]
    method = slots.payment_method_for(dialog, task.turn.index, user, order)
    options = [original, *[g for g in gift_cards if g != original]]
    if method is None and len(options) == 1:
        method = original  # nothing to choose: the refund can only go back where the money came from
    if method is None or (method != original and method not in gift_cards):
        listing = " or ".join(slots.describe_method(m, user, dialog.currency) for m in options)
        return Say(f"Where should the refund go: {listing}?")
    return Call(
        "return_delivered_order_items",
        {
            "order_id": order["order_id"],
            "item_ids": [line["item_id"] for line, _ in chosen],
            "payment_method_id": method,
        },
    )


def _swap(dialog: Dialog, task: Task, order: dict[str, Any]) -> Step:
    """Exchange (delivered) or modify (pending): old lines -> resolved new variants, and who pays the difference."""
    verb = "exchange" if task.kind == "exchange" else "change"
    chosen = _chosen_lines(dialog, task, order)
    if chosen is None:
        return _ask_items(order, verb)
    turns = _task_turns(dialog, task)
    chosen = _without_redirected(turns, chosen)
    if not chosen:
        return _ask_items(order, verb)
    new_ids: list[str] = []
    for line, _ in chosen:
        product = dialog.product(line["product_id"])
        if product is None:
            return Call("get_product_details", {"product_id": line["product_id"]})
        wanted = slots.wanted_descriptions(turns, line["name"], sole=len(chosen) == 1)
        outcome = _resolve_wanted(Product.model_validate(product), line, wanted, dialog.currency)
        if outcome.item_id is None:
            return Say(f"For the {line['name']}: {outcome.message}", expects=item_question(line["name"]))
        new_ids.append(outcome.item_id)
    user = _user(dialog)
    if not isinstance(user, dict):
        return user
    method = slots.payment_method_for(dialog, task.turn.index, user, order)
    if method is None and len(user["payment_methods"]) == 1:
        method = next(iter(user["payment_methods"]))
    if method is None:
        listing = ", ".join(slots.describe_method(m, user, dialog.currency) for m in user["payment_methods"])
        return Say(f"Which payment method should cover or receive any price difference? You have: {listing}.")
    tool = "exchange_delivered_order_items" if task.kind == "exchange" else "modify_pending_order_items"
    return Call(
        tool,
        {
            "order_id": order["order_id"],
            "item_ids": [line["item_id"] for line, _ in chosen],
            "new_item_ids": new_ids,
            "payment_method_id": method,
        },
    )


def _resolve_wanted(product: Product, line: dict[str, Any], descriptions: list[str], currency: str) -> Resolved:
    """The newest description that pins one variant down wins; failing that, everything said together."""
    if not descriptions:
        return Resolved(None, f"What would you like instead of the {_line_text(line)}?")
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
        return Resolved(None, f"that is the item you have now ({_line_text(line)}). What would you like instead?")
    return newest


def _line_text(line: dict[str, Any]) -> str:
    return f"{line['name']} ({', '.join(line['options'].values())})"


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


# replies -------------------------------------------------------------------------------------------------------


def _track_text(order: dict[str, Any]) -> str:
    text = f"Order {order['order_id']} is {order['status']}."
    tracking = [t for f in order.get("fulfillments", []) for t in f.get("tracking_id", [])]
    if tracking:
        text += f" Tracking number{'s' if len(tracking) > 1 else ''}: {', '.join(tracking)}."
    return text


def _invoice_text(order: dict[str, Any], currency: str) -> str:
    """What the order's receipt shows (items, payments); a formal invoice is issued by a human colleague."""
    items = "; ".join(f"{_line_text(i)} {format_money(i['price'], currency)}" for i in order["items"])
    payments = "; ".join(
        f"{p['transaction_type']} {format_money(p['amount'], currency)} ({p['payment_method_id']})"
        for p in order.get("payment_history", [])
    )
    return (
        f"Order {order['order_id']} ({order['status']}): {items}. Payments: {payments or 'none'}. I can't issue a "
        "formal invoice myself, but a human colleague can email one to your account address."
    )


def _paid_text(order: dict[str, Any], user: dict[str, Any], currency: str) -> str:
    payments = [p for p in order.get("payment_history", []) if p["transaction_type"] == "payment"]
    if not payments:
        return f"Order {order['order_id']} has no payment recorded."
    paid = "; ".join(
        f"{format_money(p['amount'], currency)} with {slots.describe_method(p['payment_method_id'], user, currency)}"
        for p in payments
    )
    return f"Order {order['order_id']} ({order['status']}) was paid {paid}."


def _refund_payments(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in order.get("payment_history", []) if p["transaction_type"] == "refund"]


def _refund_text(order: dict[str, Any], currency: str) -> str:
    refunds = _refund_payments(order)
    if not refunds and order["status"] == RETURN_REQUESTED:
        return (
            f"Order {order['order_id']} has a return requested: the refund is issued once the returned items arrive "
            "back with us."
        )
    if not refunds:
        return f"There are no refunds on order {order['order_id']} (it is {order['status']})."
    total = sum((Decimal(str(r["amount"])) for r in refunds), Decimal("0"))
    return (
        f"Order {order['order_id']} has refunds of {format_money(total, currency)} in total. Gift-card refunds arrive "
        "at once; card and PayPal refunds take 5-7 business days."
    )


def _refunds_of_customer(dialog: Dialog) -> Step:
    """ "Where is my refund?" with no order named: the refunds on the customer's orders, read from the orders
    themselves (refund payments, or a return on its way back), rather than asking which order."""
    orders = _customer_orders(dialog)
    if not isinstance(orders, list):
        return orders
    refunding = [o for o in orders if _refund_payments(o) or o["status"] == RETURN_REQUESTED]
    if not refunding:
        listing = "; ".join(f"{o['order_id']} ({o['status']})" for o in orders) or "none"
        return Say(
            f"I don't see a refund on any of your orders ({listing}). Refunds are issued when a pending order is "
            f"cancelled or a returned item arrives back. {ANYTHING_ELSE}"
        )
    return Say(" ".join(_refund_text(o, dialog.currency) for o in refunding) + " " + ANYTHING_ELSE)


def _customer_orders(dialog: Dialog) -> list[dict[str, Any]] | Step:
    """The customer's orders (the first ``MAX_ORDERS_TO_SCAN``), fetching the next one not seen yet."""
    user = _user(dialog)
    if not isinstance(user, dict):
        return user
    order_ids = list(user.get("orders", []))[:MAX_ORDERS_TO_SCAN]
    for order_id in order_ids:
        if dialog.order(order_id) is None and dialog.tried("get_order_details", order_id=order_id) is None:
            return Call("get_order_details", {"order_id": order_id})
    return [o for oid in order_ids if (o := dialog.order(oid)) is not None]


def _list_orders(dialog: Dialog) -> Step:
    orders = _customer_orders(dialog)
    if not isinstance(orders, list):
        return orders
    if not orders:
        return Say(f"You have no orders yet. {ANYTHING_ELSE}")
    listing = "; ".join(f"{o['order_id']}: {o['status']} ({', '.join(i['name'] for i in o['items'])})" for o in orders)
    return Say(f"Your orders: {listing}. {ANYTHING_ELSE}")


def _after_write(dialog: Dialog, event: ToolEvent) -> Say:
    if event.declined:
        return Say("All right, I haven't changed anything. What would you like to do instead?")
    if not event.ok:
        return Say(f"I'm sorry, I couldn't do that: {event.text.removeprefix('Error: ')}. {ANYTHING_ELSE}")
    data = event.data if isinstance(event.data, dict) else {}
    order_id = data.get("order_id", "")
    texts = {
        "cancel_pending_order": f"Done: order {order_id} is cancelled, and the refund is on its way.",
        "modify_pending_order_address": f"Done: order {order_id} will ship to the new address.",
        "modify_pending_order_items": f"Done: order {order_id} has been updated and is now {data.get('status')}.",
        "modify_pending_order_payment": f"Done: order {order_id} is now paid with the new payment method.",
        "modify_user_address": "Done: your default address is updated.",
        "return_delivered_order_items": (
            f"Done: the return for order {order_id} is requested. You'll receive an email with the return label and "
            "instructions."
        ),
        "exchange_delivered_order_items": (
            f"Done: the exchange for order {order_id} is requested. You'll receive an email with instructions for "
            "sending the items back."
        ),
    }
    return Say(f"{texts[event.name]} {ANYTHING_ELSE}")
