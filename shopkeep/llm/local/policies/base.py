"""A policy's decision: call one tool, or say something. Policies are pure functions of a ``Dialog``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shopkeep.llm.local.dialog import Dialog


@dataclass(frozen=True)
class Call:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


Expects = str
"""What a reply waits for, recorded with it (``response_metadata["expects"]``) so the next decision reads a typed
fact, not the reply's wording: ``human`` (the offer of a human colleague), ``add_to_cart`` (the offer to add the
item shown), ``item:<product name>`` (what the customer wants instead of that order line), ``identity`` (the question
for the customer's email, or name and zip code, that a request waits on)."""
HUMAN = "human"
ADD = "add_to_cart"
IDENTITY = "identity"
"""The question for who the customer is: the answer goes back to the agent that asked, whose request waits on it."""


def item_question(name: str) -> Expects:
    return f"item:{name}"


@dataclass(frozen=True)
class Say:
    text: str
    awaits: str | None = None
    """The agent whose question the reply ends with, when it is not the speaker's own (a policy question answered
    in the middle of another agent's flow, which then asks its question again): the answer goes back to it."""
    expects: Expects | None = None


Step = Call | Say


def failure_reply(dialog: Dialog) -> Say | None:
    """When the last tool failed, explain it in the customer's terms (tool errors are customer-safe)."""
    event = dialog.just_ran_tool
    if event is None or event.ok or event.declined:
        return None
    reason = event.text.removeprefix("Error: ")
    return Say(dialog.reply("base.could_not", reason=reason))
