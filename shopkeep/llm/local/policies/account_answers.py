"""The answers of the account flows (``answer:`` in ``data/flows/*.yaml`` whose agent is ``account``): the
customer's profile, their gift card balances, and the hand-off of what only a human colleague can do (deleting an
account). ``ANSWERS`` is what the flow check knows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shopkeep.llm.local.dialog import Dialog
from shopkeep.llm.local.policies import escalation
from shopkeep.llm.local.policies._shop import money
from shopkeep.llm.local.policies.base import Say, Step
from shopkeep.llm.local.policies.resolvers import Need, user


def profile(need: Need) -> Step:
    found = user(need.dialog)
    return Say(_profile(need.dialog, found)) if isinstance(found, dict) else found


def balances(need: Need) -> Step:
    found = user(need.dialog)
    return Say(_balances(need.dialog, found)) if isinstance(found, dict) else found


def hand_off(need: Need) -> Step:
    return escalation.decide(need.dialog)


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


ANSWERS: Mapping[str, Callable[[Need], Step]] = {"profile": profile, "balances": balances, "hand_off": hand_off}
