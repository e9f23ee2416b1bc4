"""Request and response bodies of the HTTP API: the public contract, kept apart from domain and storage types.

The turn response's ``reply``, ``agent``, ``intent``, ``tool_calls`` (``name``, ``arguments``, ``ok``) and
``awaiting_confirmation`` are a public contract: their names never change. Everything else is additive.
``TurnResponse.from_turn`` is also what ``shopkeep chat --script`` prints, so the CLI and the API agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shopkeep.agents.service import TurnResult
from shopkeep.api.views import CartSummary, ProductCard, cart_summary, product_cards
from shopkeep.domain import ConversationEvent
from shopkeep.guardrails.cards import mask_card_numbers

MAX_MESSAGE_CHARS = 10_000
"""Longer messages are refused with 413; the input rail already reads only the first 4,000 characters."""

FINGERPRINT_EXAMPLE = "3f9a1c0d5e7b2a64"


class ConversationCreated(BaseModel):
    """A new, empty conversation."""

    id: str = Field(description="The conversation id: use it in every later call.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "9b2f4c6d8e0a4b1c9d3e5f7a1b2c3d4e"}]})


class MessageIn(BaseModel):
    """One customer message."""

    text: str = Field(
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
        description="What the customer wrote. Not empty; at most 10,000 characters (413 beyond that).",
    )
    confirm: str | None = Field(
        default=None,
        max_length=128,
        description="The fingerprint of the proposal this message answers (the web chat's Confirm button sends it "
        "with text 'yes'). A yes runs the action only when the fingerprint matches the pending proposal.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"text": "Hi! I'd like to cancel my order #W2974929."},
                {"text": "yes", "confirm": FINGERPRINT_EXAMPLE},
            ]
        }
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must contain at least one non-whitespace character")
        return value


class ToolCallOut(BaseModel):
    """A tool the assistant called during the turn."""

    name: str
    arguments: dict[str, Any]
    ok: bool = Field(description="False when the tool refused (a business rule) or failed.")


class ProposalOut(BaseModel):
    """A consequential action waiting for the customer's explicit yes."""

    fingerprint: str = Field(description="Send it back as ``confirm`` with a yes to run exactly this action.")
    tool: str
    arguments: dict[str, Any]
    summary: str = Field(description="The exact action, as shown to the customer.")
    preview: Any = Field(default=None, description="The rehearsed result of the action (nothing was changed).")


class TurnResponse(BaseModel):
    """What one customer message produced."""

    conversation_id: str
    reply: str = Field(description="The assistant's reply (empty while a human agent owns the conversation).")
    agent: str | None = Field(description="The specialist that answered: catalog, cart, orders, account, ...")
    intent: str | None = Field(description="The intent of the customer's message.")
    confidence: float | None = Field(default=None, description="The intent classifier's confidence, 0 to 1.")
    tool_calls: list[ToolCallOut]
    awaiting_confirmation: bool = Field(description="True when ``proposal`` waits for a yes or a no.")
    proposal: ProposalOut | None = None
    mode: str = Field(default="bot", description="'bot', or 'human' once handed to a person.")
    products: list[ProductCard] = Field(
        default_factory=list, description="Products the turn's catalog tools returned, ready to show as cards."
    )
    cart: CartSummary | None = Field(
        default=None, description="The cart as the turn's last cart tool left it; null when no cart tool ran."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "9b2f4c6d8e0a4b1c9d3e5f7a1b2c3d4e",
                    "reply": "I will cancel order #W2974929 (Skateboard), reason: no longer needed; the refund of "
                    "$171.27 goes to the original payment method. Shall I go ahead? (yes/no)",
                    "agent": "orders",
                    "intent": "cancel_order",
                    "confidence": 0.93,
                    "tool_calls": [
                        {"name": "get_order_details", "arguments": {"order_id": "#W2974929"}, "ok": True},
                    ],
                    "awaiting_confirmation": True,
                    "proposal": {
                        "fingerprint": FINGERPRINT_EXAMPLE,
                        "tool": "cancel_pending_order",
                        "arguments": {"order_id": "#W2974929", "reason": "no longer needed"},
                        "summary": "I will cancel order #W2974929 ...",
                        "preview": None,
                    },
                    "mode": "bot",
                    "products": [],
                    "cart": None,
                }
            ]
        }
    )

    @classmethod
    def from_turn(cls, turn: TurnResult) -> TurnResponse:
        # ``output`` is there once the service records tool outputs (see the API's report); until then no views.
        outputs = [(call.name, call.ok, getattr(call, "output", None)) for call in turn.tool_calls]
        return cls(
            conversation_id=turn.conversation_id,
            reply=turn.reply,
            agent=turn.agent,
            intent=turn.intent,
            confidence=turn.confidence,
            tool_calls=[ToolCallOut(name=c.name, arguments=c.arguments, ok=c.ok) for c in turn.tool_calls],
            awaiting_confirmation=turn.awaiting_confirmation,
            proposal=ProposalOut.model_validate(turn.proposal) if turn.proposal is not None else None,
            mode=turn.mode,
            products=product_cards(outputs),
            cart=cart_summary(outputs),
        )


class TranscriptEvent(BaseModel):
    """Something that happened in the conversation, oldest first."""

    kind: str = Field(description="started, user, assistant, tool, proposal, ...")
    text: str | None = Field(default=None, description="The message, for user and assistant events.")
    payload: dict[str, Any] = Field(description="Everything recorded with the event.")
    created_at: datetime


class PendingProposal(BaseModel):
    """The proposal the conversation is waiting on, as the transcript shows it."""

    fingerprint: str
    tool: str
    summary: str


class Transcript(BaseModel):
    """A conversation's transcript."""

    id: str
    events: list[TranscriptEvent]
    pending_proposal: PendingProposal | None = Field(
        default=None, description="Set while the last proposal waits for the customer's answer."
    )

    @classmethod
    def from_events(cls, conversation_id: str, events: Sequence[ConversationEvent]) -> Transcript:
        shown = [
            TranscriptEvent(
                kind=e.kind,
                text=_masked(e.payload["text"]) if e.kind in ("user", "assistant") and "text" in e.payload else None,
                payload={k: _masked(v) if k == "text" else v for k, v in e.payload.items()},
                # SQLite hands timestamps back without their zone; the service records them in UTC.
                created_at=e.created_at if e.created_at.tzinfo else e.created_at.replace(tzinfo=UTC),
            )
            for e in events
        ]
        return cls(id=conversation_id, events=shown, pending_proposal=_pending(events))

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "9b2f4c6d8e0a4b1c9d3e5f7a1b2c3d4e",
                    "events": [
                        {
                            "kind": "started",
                            "text": None,
                            "payload": {"channel": "api", "customer_id": None},
                            "created_at": "2025-01-01T12:00:00Z",
                        },
                        {
                            "kind": "user",
                            "text": "hi",
                            "payload": {"text": "hi"},
                            "created_at": "2025-01-01T12:00:01Z",
                        },
                        {
                            "kind": "assistant",
                            "text": "Hello! How can I help?",
                            "payload": {"text": "Hello! How can I help?", "agent": "support", "intent": "greeting"},
                            "created_at": "2025-01-01T12:00:01Z",
                        },
                    ],
                    "pending_proposal": None,
                }
            ]
        }
    )


def _masked(text: Any) -> str:
    """A card number typed in chat is never shown back, even from a transcript recorded before it was masked."""
    return mask_card_numbers(str(text))[0]


def _pending(events: Sequence[ConversationEvent]) -> PendingProposal | None:
    """The last proposal, if no customer message came after it (its summary is the reply recorded next)."""
    kinds = [e.kind for e in events]
    if "proposal" not in kinds:
        return None
    at = len(kinds) - 1 - kinds[::-1].index("proposal")
    if "user" in kinds[at:]:
        return None
    summary = next((str(e.payload.get("text", "")) for e in events[at:] if e.kind == "assistant"), "")
    proposal = events[at].payload
    return PendingProposal(fingerprint=str(proposal["fingerprint"]), tool=str(proposal["tool"]), summary=summary)


class ErrorResponse(BaseModel):
    """Every error body: a stable machine code, a message safe to show, and what else helps."""

    code: str = Field(description="not_found, invalid_request, message_too_long, store_unavailable, internal_error")
    message: str
    error_id: str | None = Field(default=None, description="Quote it to support: the server logged the details.")
    details: list[dict[str, Any]] | None = Field(default=None, description="Per-field problems, for 422.")


__all__ = [
    "MAX_MESSAGE_CHARS",
    "CartSummary",
    "ConversationCreated",
    "ErrorResponse",
    "MessageIn",
    "PendingProposal",
    "ProductCard",
    "ProposalOut",
    "ToolCallOut",
    "Transcript",
    "TranscriptEvent",
    "TurnResponse",
]
