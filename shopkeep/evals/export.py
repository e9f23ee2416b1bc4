"""A stored conversation as a scenario file (``shopkeep scenarios export``): a bad conversation from production
becomes a regression test in one command.

The events of the conversation give the turns: each customer message, the tools the turn called (``name!`` when one
failed or was declined), whether it ended on a proposal waiting for a yes, and the agent that answered. The store
gives the end: the conversation's cart and how many escalation tickets it opened. Replies are not pinned (their
wording changes with prompts and models); add ``reply_contains`` by hand where a wording matters. The file follows
``tests/scenarios/README.md`` and is played by ``tests/scenarios/test_scenarios.py`` once saved there.
"""

from __future__ import annotations

from typing import Any

import yaml

from shopkeep.domain.support import ConversationEvent
from shopkeep.errors import NotFoundError
from shopkeep.store import SqlCommerceStore


def turns_of(events: list[ConversationEvent]) -> list[dict[str, Any]]:
    """One scenario turn per customer message, with what the turn did as its expectations."""
    turns: list[dict[str, Any]] = []
    for event in events:
        if event.kind == "user":
            turns.append({"user": str(event.payload.get("text", "")), "expect": {"tools": [], "confirm": False}})
        elif not turns:
            continue
        elif event.kind == "tool":
            name = str(event.payload.get("name", ""))
            turns[-1]["expect"]["tools"].append(name + ("" if event.payload.get("ok") else "!"))
        elif event.kind == "proposal":
            turns[-1]["expect"]["confirm"] = True
        elif event.kind == "assistant" and event.payload.get("agent"):
            turns[-1]["expect"] = {"agent": str(event.payload["agent"]), **turns[-1]["expect"]}
    return turns


def export_scenario(store: SqlCommerceStore, conversation_id: str, name: str | None = None) -> dict[str, Any]:
    """The scenario of a stored conversation; NotFoundError when the store holds none with that id."""
    with store.session() as session:
        events = session.list_events(conversation_id)
        cart = session.get_cart(conversation_id)
        tickets = [t for t in session.list_tickets() if t.conversation_id == conversation_id]
    if not events:
        raise NotFoundError("Conversation", conversation_id)
    turns = turns_of(events)
    if not turns:
        raise NotFoundError("Conversation with customer messages", conversation_id)
    return {
        "name": name or f"exported conversation {conversation_id}",
        "tags": ["exported"],
        "turns": turns,
        "cart": {line.item_id: line.quantity for line in cart.lines} if cart and cart.lines else {},
        "tickets": len(tickets),
    }


def dump_scenario(scenario: dict[str, Any]) -> str:
    header = "# Exported by `shopkeep scenarios export`; see tests/scenarios/README.md for the format.\n"
    body: str = yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True, width=120)
    return header + body
