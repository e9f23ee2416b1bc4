"""Escalation tickets (hand-offs to human agents), the human agents who work them, their internal notes, and
conversation events (the audit and analytics trail)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from shopkeep.domain._base import Frozen


class TicketStatus(StrEnum):
    """``open``: waiting for a person; ``claimed``: a person owns it (``assignee``); ``resolved``: done."""

    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class AgentRole(StrEnum):
    """A human agent works tickets; a supervisor also assigns them and may resolve any."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"


class HumanAgent(Frozen):
    """A person who works escalations (an account of the console and the escalation API)."""

    name: str
    role: AgentRole = AgentRole.AGENT
    created_at: datetime


class TicketNote(Frozen):
    """An internal note on a ticket: for colleagues only, never shown to the customer."""

    note_id: int | None = None
    ticket_id: str
    author: str
    text: str
    created_at: datetime


class EscalationTicket(Frozen):
    """A conversation handed to a human agent, with the summary the bot wrote for them."""

    ticket_id: str
    conversation_id: str
    customer_id: str | None
    reason: str
    summary: str
    status: TicketStatus = TicketStatus.OPEN
    assignee: str | None = None
    created_at: datetime
    updated_at: datetime
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None
    handed_back: bool | None = None
    """Set on resolve: true when the conversation went back to the bot, false when it was closed."""


class ConversationEvent(Frozen):
    """Something that happened in a conversation: a turn, a tool call, a guardrail trip, a hand-off."""

    event_id: int | None = None
    conversation_id: str
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict)
    variant: str | None = None
    created_at: datetime
    customer_id: str | None = None
    """The identified customer when the event was recorded (what erasure and retention go by)."""
