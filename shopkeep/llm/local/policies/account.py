"""The account specialist: identify the customer, show the profile or gift card balances, change the default
address, and hand an account deletion to a human colleague (the assistant cannot delete accounts)."""

from __future__ import annotations

from typing import Any

from shopkeep.llm.local.dialog import Dialog, Turn
from shopkeep.llm.local.policies import escalation, flow, orders
from shopkeep.llm.local.policies._shop import money
from shopkeep.llm.local.policies.base import Call, Say, Step
from shopkeep.llm.local.policies.identity import identify

HANDOFF_INTENTS = frozenset({"delete_account"})
"""Account requests only a human colleague can carry out."""
BALANCE_INTENT = "gift_card_balance"
REQUEST_CONFIDENCE = 0.6


def decide(dialog: Dialog) -> Step:
    event = dialog.just_ran_tool
    if event is not None and event.name == "modify_user_address":
        return orders.decide(dialog)
    if event is not None and event.name == escalation.HANDOFF_TOOL:
        return escalation.decide(dialog)
    step = identify(dialog)
    if step is not None:
        return step
    task = flow.active_task(dialog)
    if task is not None and task.kind == "user_address":
        return orders.decide(dialog)
    request = _request(dialog)
    if request is not None and request.nlu.intent in HANDOFF_INTENTS:
        return escalation.decide(dialog)
    if request is not None:
        user = dialog.user
        if user is None:
            return Call("get_user_details", {"user_id": dialog.customer_id})
        return Say(_balances(dialog, user) if request.nlu.intent == BALANCE_INTENT else _profile(dialog, user))
    if event is not None and event.name.startswith("find_user_id") and event.ok:
        return Say(dialog.reply("account.verified_now"))
    return Say(dialog.reply("account.verified"))


def _request(dialog: Dialog) -> Turn | None:
    """The account request the customer is waiting on: a hand-off, a gift card balance, or a question about their
    own account ("what's my default address?", "show me my profile"). Messages that only identify the customer
    are skipped; anything else ends the search."""
    for turn in reversed(dialog.turns):
        nlu = turn.nlu
        if nlu.intent == "authenticate" or (turn.answering and turn.short and _identifies(turn)):
            continue
        sure = nlu.confidence >= REQUEST_CONFIDENCE
        if sure and (nlu.intent in HANDOFF_INTENTS or nlu.intent == BALANCE_INTENT) and not nlu.general_question:
            return turn
        if nlu.act == "own_question":
            return turn
        return None
    return None


def _identifies(turn: Turn) -> bool:
    return any(e.type in ("email", "person_name", "zip", "user_id") for e in turn.nlu.entities)


def _profile(dialog: Dialog, user: dict[str, Any]) -> str:
    address = user["address"]
    return dialog.reply(
        "account.profile",
        first_name=user["name"]["first_name"],
        last_name=user["name"]["last_name"],
        email=user["email"],
        street=", ".join(p for p in (address["address1"], address.get("address2")) if p),
        city=address["city"],
        state=address["state"],
        zip=address["zip"],
    )


def _balances(dialog: Dialog, user: dict[str, Any]) -> str:
    cards = {m: v for m, v in user.get("payment_methods", {}).items() if v.get("source") == "gift_card"}
    if not cards:
        return dialog.reply("account.no_gift_card")
    listing = "; ".join(
        dialog.reply("account.gift_card_balance", card=m, balance=money(v.get("balance", 0), dialog.currency))
        for m, v in cards.items()
    )
    if len(cards) == 1:
        return dialog.reply("account.gift_card", listing=listing)
    return dialog.reply("account.gift_cards", listing=listing)
