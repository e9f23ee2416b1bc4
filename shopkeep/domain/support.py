"""Escalation tickets (hand-offs to human agents) and conversation events (the audit and analytics trail)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from shopkeep.domain._base import Frozen


class TicketStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


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
