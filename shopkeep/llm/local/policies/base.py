"""A policy's decision: call one tool, or say something. Policies are pure functions of a ``Dialog``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shopkeep.llm.local.dialog import Dialog


@dataclass(frozen=True)
class Call:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Say:
    text: str
    awaits: str | None = None
    """The agent whose question the reply ends with, when it is not the speaker's own (a policy question answered
    in the middle of another agent's flow, which then asks its question again): the answer goes back to it."""


Step = Call | Say

ANYTHING_ELSE = "Is there anything else I can help you with?"


def failure_reply(dialog: Dialog) -> Say | None:
    """When the last tool failed, explain it in the customer's terms (tool errors are customer-safe)."""
    event = dialog.just_ran_tool
    if event is None or event.ok or event.declined:
        return None
    reason = event.text.removeprefix("Error: ")
    return Say(f"I'm sorry, I couldn't do that: {reason}.")
