"""The checkout specialist's dialog policy: from the cart to a placed order.

Identify the customer, look at the cart, then collect the shipping speed, the payment method (a saved one, shown as
brand + last four, or a card typed in chat, which reaches the brain only as a vault token) and an optional promo
code from anything the customer said since checkout began. ``propose_checkout`` prices it all; ``place_order`` for
that exact quote goes to the graph, which shows the summary and runs it only on the customer's explicit yes. If a
price changed in between, the order fails before any charge and the checkout is priced and proposed again.

"I want to buy the water bottle" starts a checkout too: the product goes into the cart first (the cart's add flow).

A customer without an account checks out as a **guest** ("as a guest", "I don't have an account"): their email
first, which is looked up (an email the shop knows verifies that customer, who then checks out as themselves), then
their first and last name, the delivery address and a card typed in the chat; the quote, the proposal and the
explicit yes are the same, and placing the order creates their account.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from shopkeep.llm.local.dialog import Dialog, ToolEvent, Turn
from shopkeep.llm.local.policies import _slots as slots
from shopkeep.llm.local.policies import cart, support
from shopkeep.llm.local.policies._shop import ShopTask, cart_since, leaves, money, named_products, ordinal, since
from shopkeep.llm.local.policies.base import Call, Say, Step
from shopkeep.llm.local.policies.identity import identify

CHECKOUT_INTENTS = frozenset({"checkout", "place_order"})
NEW_TASK_CONFIDENCE = 0.6
NEW_TASK_WHILE_ANSWERING = 0.85
MAX_REPROPOSALS = 2
"""How often one message may re-price a checkout whose prices changed before the customer's yes."""

CHANGED_MARK = "changed since it was confirmed"

SHIPPING_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("next_day", re.compile(r"\b(next[- ]?day|overnight|tomorrow)\b", re.IGNORECASE)),
    ("express", re.compile(r"\b(express|expedited|faster|fastest|rush|2-3 (?:business )?days)\b", re.IGNORECASE)),
    (
        "standard",
        re.compile(
            r"\b(standard|regular|normal|ground|slowest|free shipping|cheapest|least expensive)\b", re.IGNORECASE
        ),
    ),
)
VAULT_TOKEN = re.compile(r"\bvault token (vt_[0-9a-f]{24})\b")
PROMO = re.compile(
    r"\b(?:promo(?:tion(?:al)?)?|discount|coupon|voucher)?\s*code\s*(?:is\s+|:\s*)?(?P<code>[A-Za-z0-9][\w-]{2,23})\b",
    re.IGNORECASE,
)
BARE_CODE = re.compile(r"\b[A-Z]{3,}[0-9]{1,4}\b")
"""A code written on its own, the way codes are printed ("WELCOME10")."""
NOT_A_CODE = frozenset({"email", "order_id", "address", "person_name", "zip", "payment_method", "user_id", "item_id"})
NOT_CODES = frozenset({"please", "for", "and", "the", "no", "none", "yet", "thanks", "thank", "too", "also", "either"})

GUEST = re.compile(
    r"\bguests?\b|\bwithout (?:an?|creating an?|making an?|signing up for an?) ?account\b|\bno account\b|"
    r"\b(?:don'?t|do not|dont) have an? (?:account|login)\b|\bnot (?:a )?registered\b",
    re.IGNORECASE,
)
_BARE_NAME = re.compile(
    r"^\s*(?:it'?s\s+|i'?m\s+)?(?P<first>[^\W\d_][\w'-]*)\s+(?P<last>[^\W\d_][\w' -]*?)\s*[.!]?\s*$", re.IGNORECASE
)


def decide(dialog: Dialog) -> Step:
    event = dialog.just_ran_tool
    if event is not None and event.name == "place_order":
        after = _after_place(dialog, event)
        if after is not None:
            return after
    session = _session(dialog)
    if session is None:
        return support.decide(dialog)
    first, task = session
    aside = _aside(dialog, task)
    if aside is None:
        return _checkout(dialog, first, task)
    answer = support.knowledge(dialog, aside)
    if not isinstance(answer, Say):
        return answer
    following = _checkout(dialog, first, task)
    if isinstance(following, Say) and following.text.endswith("?"):
        answered = answer.text.removesuffix(dialog.reply("base.anything_else")).rstrip()
        return Say(dialog.reply("checkout.back_to_checkout", answer=answered, question=following.text))
    return answer


def _checkout(dialog: Dialog, first: Turn, task: Turn) -> Step:
    step = _checkout_step(dialog, first, task)
    if isinstance(step, Say) and _guest_found_account(dialog, first):
        return Say(f"{dialog.reply('checkout.known_guest')} {step.text}")
    return step


def _checkout_step(dialog: Dialog, first: Turn, task: Turn) -> Step:
    guest = _as_guest(dialog, first)
    step = _guest_email(dialog, first) if guest else identify(dialog)
    if step is not None:
        if isinstance(step, Say) and step.text == dialog.reply("identity.ask"):
            return Say(dialog.reply("checkout.ask_identity_or_guest"), expects=step.expects)
        if isinstance(step, Say) and step.text == dialog.reply("identity.not_found"):
            return Say(dialog.reply("checkout.not_found_or_guest"), expects=step.expects)
        return step
    if task.nlu.intent == "place_order" and (named_products(task) or ordinal(task) is not None):
        # "I want to buy the pink yoga mat", "I'd like to order the second one": it goes into the cart first
        adding = cart.add_pending(dialog, ShopTask("add", task))
        if adding is not None:
            return adding
    current = cart_since(dialog, task.index)
    if current is None:
        return Call("view_cart")
    if not current.data["lines"]:
        return Say(dialog.reply("checkout.empty_cart"))
    turns = [t for t in dialog.turns if t.index >= first.index]
    details: dict[str, str] = {}
    if guest:
        found = _guest_details(dialog, first)
        if not isinstance(found, dict):
            return found
        details = found
    shipping = _shipping(turns)
    if shipping is None:
        return _ask_shipping(dialog, first)
    payment = _guest_card(dialog, turns) if guest else _payment(dialog, turns)
    if not isinstance(payment, str):
        return payment
    promo = _promo(dialog, turns, first)
    if not isinstance(promo, str):
        return promo
    args: dict[str, Any] = {"shipping_method": shipping, "payment_method_id": payment, "promo_code": promo}
    address = slots.address_from(dialog, first.index)
    if address is not None:
        args.update(address)
    args.update(details)
    return _propose_then_place(dialog, args)


# checking out as a guest -----------------------------------------------------------------------------------------


def _as_guest(dialog: Dialog, first: Turn) -> bool:
    """The customer, not verified, asked to check out without an account (in this checkout, or just before it)."""
    if dialog.customer_id is not None:
        return False
    return _asked_as_guest(dialog, first)


def _asked_as_guest(dialog: Dialog, first: Turn) -> bool:
    return any(GUEST.search(t.text) for t in dialog.turns if t.index >= first.index)


def _guest_email(dialog: Dialog, first: Turn) -> Step | None:
    """The guest's email, looked up once: an account the shop has is that customer's (the look-up verifies them and
    the checkout goes on as theirs); None when the email is new, so the guest goes on."""
    emails = [str(e.value) for e in dialog.entities("email", first.index)]
    if not emails:
        return Say(dialog.reply("checkout.ask_guest_email"))
    if dialog.tried("find_user_id_by_email", email=emails[-1]) is None:
        return Call("find_user_id_by_email", {"email": emails[-1]})
    return None


def _guest_found_account(dialog: Dialog, first: Turn) -> bool:
    """The email a would-be guest gave was found in this message: they check out as that customer now."""
    now = dialog.turns[-1].index
    found = [e for e in dialog.results("find_user_id_by_email") if e.index > now]
    return bool(found) and _asked_as_guest(dialog, first)


def _guest_name(dialog: Dialog, first: Turn) -> tuple[str, str] | None:
    """The guest's first and last name: a name the customer gave, or the answer to the question for it."""
    for turn in reversed([t for t in dialog.turns if t.index >= first.index]):
        for entity in reversed(turn.nlu.entities_of("person_name")):
            value = entity.value
            if isinstance(value, dict) and value.get("first_name") and value.get("last_name"):
                return str(value["first_name"]), str(value["last_name"])
        if turn.question == dialog.reply("checkout.ask_guest_name") and not turn.nlu.entities_of("email"):
            bare = _BARE_NAME.match(turn.text)
            if bare is not None:
                return bare.group("first"), bare.group("last").strip()
    return None


def _guest_details(dialog: Dialog, first: Turn) -> dict[str, str] | Step:
    """Who the guest is (email, first and last name) once they gave a delivery address; else the next question."""
    email = str(dialog.entities("email", first.index)[-1].value)
    name = _guest_name(dialog, first)
    if name is None:
        return Say(dialog.reply("checkout.ask_guest_name"))
    if slots.address_from(dialog, first.index) is None:
        return Say(dialog.reply("checkout.ask_guest_address"))
    return {"email": email, "first_name": name[0], "last_name": name[1]}


def _guest_card(dialog: Dialog, turns: list[Turn]) -> str | Step:
    """A guest pays with a card typed in this chat (nobody's saved method): its vault token."""
    for turn in reversed(turns):
        token = VAULT_TOKEN.search(turn.text)
        if token:
            return token.group(1)
    return Say(dialog.reply("checkout.ask_card"))


# the checkout session ------------------------------------------------------------------------------------------


def _starts(turn: Turn) -> bool:
    nlu = turn.nlu
    if nlu.intent not in CHECKOUT_INTENTS or nlu.confidence < NEW_TASK_CONFIDENCE or nlu.general_question:
        return False  # "how do I check out?" asks how, it does not start a checkout
    return not (turn.answering_task and nlu.confidence < NEW_TASK_WHILE_ANSWERING)


def _has_checkout_details(turn: Turn) -> bool:
    return (
        any(pattern.search(turn.text) for _, pattern in SHIPPING_WORDS)
        or bool(GUEST.search(turn.text))
        or bool(VAULT_TOKEN.search(turn.text))
        or any(e.type in ("payment_method", "address") for e in turn.nlu.entities)
        or _code_in(turn) is not None
    )


def _session(dialog: Dialog) -> tuple[Turn, Turn] | None:
    """(first, newest) message that asked to check out since the last placed order, while the checkout is on:
    not walked away from, and not declined without new details after."""
    placed = max((e.index for e in dialog.events if e.name == "place_order" and e.ok), default=-1)
    starts = [t for t in dialog.turns if t.index > placed and _starts(t)]
    if not starts:
        return None
    # an answer that reads as checkout ("pay with my visa", "express please") goes on with the checkout already
    # started, with its details; it does not start it again
    while len(starts) > 1 and _has_checkout_details(starts[-1]):
        starts.pop()
    task = starts[-1]
    for turn in dialog.turns:
        if turn.index > task.index and leaves(dialog, turn) and not _has_checkout_details(turn):
            return None
    declined = [e.index for e in dialog.events if e.name == "place_order" and e.declined and e.index > task.index]
    if declined and not any(t.index > declined[-1] and _has_checkout_details(t) for t in dialog.turns):
        return None
    return starts[0], task


def _aside(dialog: Dialog, task: Turn) -> Turn | None:
    """A policy question in the middle of checkout ("what's your return policy?"): it is answered from the
    knowledge base, and the checkout goes on where it was."""
    turn = dialog.last_turn
    if turn is None or turn.index <= task.index or _has_checkout_details(turn):
        return None
    nlu = turn.nlu
    if nlu.intent not in dialog.nlu.taxonomy or nlu.confidence < NEW_TASK_WHILE_ANSWERING:
        return None
    return turn if dialog.nlu.taxonomy.handling_for(nlu.intent) == "knowledge" else None


# shipping, payment, promo code ---------------------------------------------------------------------------------


def _shipping(turns: list[Turn]) -> str | None:
    """The newest shipping speed named (the last one named in a message wins)."""
    for turn in reversed(turns):
        found = [(m.start(), method) for method, pattern in SHIPPING_WORDS for m in pattern.finditer(turn.text)]
        if found:
            return max(found)[1]
    return None


def _ask_shipping(dialog: Dialog, first: Turn) -> Step:
    event = since(dialog, "list_shipping_options", first.index - 1)
    if event is None:
        return Call("list_shipping_options")
    if not event.ok:
        return Say(dialog.reply("checkout.shipping_failed", reason=event.text.removeprefix("Error: ")))
    offers = []
    for option in event.data["options"]:
        free = float(option["cost"]) == 0
        cost = dialog.reply("checkout.shipping_free") if free else money(option["cost"], dialog.currency)
        text = dialog.reply("checkout.shipping_option", label=option["label"], cost=cost)
        if not option["available"]:
            text = dialog.reply("checkout.shipping_unavailable", option=text, note=option["note"])
        offers.append(text)
    listing = ", ".join(offers[:-1]) + f" or {offers[-1]}" if len(offers) > 1 else offers[0]
    return Say(dialog.reply("checkout.ask_shipping", options=listing))


def _payment(dialog: Dialog, turns: list[Turn]) -> str | Step:
    """The payment method the customer chose (newest mention first): a card token, a saved method's id, or a saved
    method described ("my visa", "PayPal", "the gift card"). Otherwise the question, listing the saved methods."""
    methods_event = next((e for e in reversed(dialog.events) if e.name == "list_payment_methods" and e.ok), None)
    methods: list[dict[str, Any]] = methods_event.data["payment_methods"] if methods_event else []
    for turn in reversed(turns):
        token = VAULT_TOKEN.search(turn.text)
        if token:
            return token.group(1)
        for method in methods:
            if method["payment_method_id"] in turn.text:
                return str(method["payment_method_id"])
        described = [e for e in turn.nlu.entities if e.type == "payment_method"]
        if described and methods_event is None:
            return Call("list_payment_methods")
        for entity in reversed(described):
            fitting = _fitting(entity.value, methods)
            if len(fitting) == 1:
                return str(fitting[0]["payment_method_id"])
            if fitting:
                listing = " or ".join(m["description"] for m in fitting)
                return Say(dialog.reply("checkout.which_method", methods=listing))
    if methods_event is None:
        return Call("list_payment_methods")
    if not methods:
        return Say(dialog.reply("checkout.no_saved_methods"))
    listing = "; ".join(m["description"] for m in methods)
    return Say(dialog.reply("checkout.ask_payment", methods=listing))


def _fitting(value: Any, methods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    spec = value if isinstance(value, dict) else {"kind": str(value)}
    kind = str(spec.get("kind") or "")
    brand, last_four = spec.get("brand"), spec.get("last_four")
    fitting = []
    for method in methods:
        method_id, description = str(method["payment_method_id"]), str(method["description"])
        if kind and not method_id.startswith({"credit_card": "credit_card", "card": "credit_card"}.get(kind, kind)):
            continue
        if brand and str(brand).lower() not in description.lower():
            continue
        if last_four and str(last_four) not in description:
            continue
        fitting.append(method)
    return fitting


def _code_in(turn: Turn) -> str | None:
    """The promo code a message gives, if any (never a part of an email, an order id, a name or a card)."""
    taken = [(e.start, e.end) for e in turn.nlu.entities if e.type in NOT_A_CODE]
    found = [(m.start("code"), m.end("code"), m.group("code")) for m in PROMO.finditer(turn.text)]
    found += [(m.start(), m.end(), m.group()) for m in BARE_CODE.finditer(turn.text)]
    for start, end, code in sorted(found, reverse=True):
        inside = any(s <= start and end <= e for s, e in taken)
        if not inside and code.lower() not in NOT_CODES and not code.lower().startswith("vt_"):
            return code
    return None


def _promo(dialog: Dialog, turns: list[Turn], first: Turn) -> str | Step:
    """The newest promo code the customer gave, once ``check_promo_code`` accepted it ("" for none). A refused code
    is explained once; whatever the customer says next goes on without it."""
    code = next((c for t in reversed(turns) if (c := _code_in(t))), None)
    if code is None:
        return ""
    check = since(dialog, "check_promo_code", first.index - 1, promo_code=code)
    if check is None:
        return Call("check_promo_code", {"promo_code": code})
    if check.ok:
        return code
    if any(t.index > check.index for t in dialog.turns):
        return ""
    return Say(dialog.reply("checkout.promo_refused", code=code, reason=check.text.removeprefix("Error: ")))


# proposing and placing -----------------------------------------------------------------------------------------


def _propose_then_place(dialog: Dialog, args: dict[str, Any]) -> Step:
    """Price the checkout in this message (prices may have moved since an earlier one), then hand ``place_order``
    for exactly that quote to the graph, which asks the customer to confirm it."""
    now = dialog.turns[-1].index
    placed = [e.index for e in dialog.events if e.name == "place_order" and e.index > now]
    after = max([now, *placed])
    quote = next(
        (e for e in reversed(dialog.events) if e.index > after and e.name == "propose_checkout" and e.args == args),
        None,
    )
    if quote is None:
        refused = any(
            e.name == "propose_checkout" and not e.ok and e.args == args and e.index < now for e in dialog.events
        )
        if refused and not _has_checkout_details(dialog.turns[-1]):
            return _ask_instead(dialog)
        return Call("propose_checkout", args)
    if not quote.ok:
        return Say(dialog.reply("checkout.quote_failed", reason=quote.text.removeprefix("Error: ")))
    return Call("place_order", {"quote_id": quote.data["quote_id"], **args})


def _ask_instead(dialog: Dialog) -> Say:
    """The checkout these choices make was refused (a gift card too small, no next-day there): ask for others."""
    methods = next((e.data for e in reversed(dialog.events) if e.name == "list_payment_methods" and e.ok), None)
    saved = "; ".join(m["description"] for m in methods["payment_methods"]) if methods else ""
    if saved:
        return Say(dialog.reply("checkout.combination_refused", methods=saved))
    return Say(dialog.reply("checkout.combination_refused_no_methods"))


def _after_place(dialog: Dialog, event: ToolEvent) -> Say | None:
    if event.declined:
        return Say(dialog.reply("checkout.declined"))
    if event.ok:
        return Say(_placed_text(dialog, event.data))
    now = dialog.turns[-1].index if dialog.turns else -1
    changed = [e for e in dialog.events if e.name == "place_order" and e.index > now and CHANGED_MARK in e.text]
    if CHANGED_MARK in event.text and len(changed) <= MAX_REPROPOSALS:
        return None
    return Say(dialog.reply("checkout.not_placed", reason=event.text.removeprefix("Error: ")))


def _placed_text(dialog: Dialog, placed: dict[str, Any]) -> str:
    quote = placed["quote"]
    earliest, latest = (
        date.fromisoformat(quote["delivery"]["earliest"]),
        date.fromisoformat(quote["delivery"]["latest"]),
    )
    window = f"{earliest:%a %b %d}"
    if latest != earliest:
        window = dialog.reply("checkout.delivery_window", earliest=window, latest=f"{latest:%a %b %d}")
    return dialog.reply(
        "checkout.placed",
        order_id=placed["order_id"],
        charged=money(placed["charged"], dialog.currency),
        payment=quote["payment"]["description"],
        shipping=quote["shipping_label"],
        window=window,
    )
