"""Request and response bodies of the HTTP API: the public contract, kept apart from domain and storage types.

The turn response's ``reply``, ``agent``, ``intent``, ``tool_calls`` (``name``, ``arguments``, ``ok``) and
``awaiting_confirmation`` are a public contract: their names never change. Everything else is additive.
``TurnResponse.from_turn`` is also what ``shopkeep chat --script`` prints, so the CLI and the API agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from shopkeep.agents.service import TurnResult
from shopkeep.api.views import CartLineView, CartSummary, ProductCard, cart_summary, product_cards
from shopkeep.domain import Cart, ConversationEvent, CreditCard, Customer, GiftCard, Order
from shopkeep.guardrails.cards import mask_card_numbers
from shopkeep.inbox.service import TicketDetail

MAX_MESSAGE_CHARS = 10_000
"""Longer messages are refused with 413; the input rail already reads only the first 4,000 characters."""

FINGERPRINT_EXAMPLE = "3f9a1c0d5e7b2a64"
MESSAGE_KINDS = ("user", "assistant", "agent")
"""Transcript events that are messages (their ``text`` is shown): the customer's, the bot's, a person's."""


class ConversationCreated(BaseModel):
    """A new, empty conversation."""

    id: str = Field(description="The conversation id: use it in every later call.")

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "9b2f4c6d8e0a4b1c9d3e5f7a1b2c3d4e"}]})


class RatingIn(BaseModel):
    """The customer's thumbs up or down on a reply."""

    value: Literal["up", "down"]
    event_id: int | None = Field(default=None, description="The rated reply's event id, when the client knows it")


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
    mode: str = Field(
        default="bot",
        description="'bot'; 'human' while a person owns the conversation (the bot stays silent); 'closed' once a "
        "person closed it (a new conversation is needed).",
    )
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
            products=product_cards(outputs, turn.currency),
            cart=cart_summary(outputs, turn.currency),
        )


class TranscriptEvent(BaseModel):
    """Something that happened in the conversation, oldest first."""

    id: int | None = Field(
        default=None, description="The event's id, increasing: `after` of the live stream (`GET .../events`)"
    )
    kind: str = Field(
        description="started, user, assistant, agent (a person's message), tool, proposal, agent_joined, bot_back, "
        "closed, ..."
    )
    text: str | None = Field(default=None, description="The message, for user, assistant and agent events.")
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
                id=e.event_id,
                kind=e.kind,
                text=_masked(e.payload["text"]) if e.kind in MESSAGE_KINDS and "text" in e.payload else None,
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


# --- the escalation API (human agents) ----------------------------------------------------------------------------


class AgentOut(BaseModel):
    """A human agent: the name customers see with their messages, and the role."""

    name: str
    role: Literal["agent", "supervisor"]


class CustomerRef(BaseModel):
    """The customer of a ticket, when the conversation identified them."""

    id: str
    name: str | None = None


class EscalationOut(BaseModel):
    """A ticket in the queue."""

    id: str
    conversation_id: str
    status: Literal["open", "claimed", "resolved"]
    reason: str = Field(description="Why the conversation was handed over (the intent at the time).")
    summary: str = Field(description="The bot's summary for the person taking over.")
    customer: CustomerRef | None = Field(description="Null while the customer is anonymous.")
    assignee: str | None = Field(description="The agent who owns the ticket.")
    created_at: datetime
    waiting_seconds: int = Field(description="Since the hand-off (until the resolution, for resolved tickets).")


class _AgentText(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must contain at least one non-whitespace character")
        return value


class AgentMessageIn(_AgentText):
    """A person's message to the customer (card numbers are masked, as in the bot's replies)."""


class NoteIn(_AgentText):
    """An internal note: never shown to the customer."""


class AssignIn(BaseModel):
    """Give the ticket to an agent (supervisors only)."""

    agent: str = Field(min_length=1, max_length=64, description="The agent's name")


class ResolveIn(BaseModel):
    """Resolve the ticket: hand the conversation back to the bot, or close it."""

    note: str = Field(default="", max_length=MAX_MESSAGE_CHARS, description="What was done; the bot is told it.")
    hand_back: StrictBool = Field(
        description="true: the assistant answers again (and can use the note); false: the conversation is closed."
    )


class AgentMessageOut(BaseModel):
    """A person's message as the customer sees it."""

    kind: Literal["agent"] = "agent"
    text: str
    agent: str
    created_at: datetime


class NoteOut(BaseModel):
    id: int
    author: str
    text: str
    created_at: datetime


class PaymentMethodOut(BaseModel):
    """A saved payment method: never more of a card than its brand and last four digits."""

    id: str
    source: str
    brand: str | None = None
    last_four: str | None = None
    balance: Decimal | None = Field(default=None, description="Gift cards' balance")


class ProfileOut(BaseModel):
    id: str
    name: str
    email: str
    address: dict[str, str]
    payment_methods: list[PaymentMethodOut]


class OrderLineOut(BaseModel):
    name: str
    item_id: str
    price: Decimal
    options: dict[str, str]


class OrderOut(BaseModel):
    order_id: str
    status: str
    items: list[OrderLineOut]
    total: Decimal


class CustomerContext(BaseModel):
    """What the agent knows of the customer: profile, orders, the conversation's cart."""

    profile: ProfileOut | None
    orders: list[OrderOut]
    cart: CartSummary | None


class EscalationDetail(EscalationOut):
    """A ticket with the whole transcript, its notes and the customer's context."""

    transcript: list[TranscriptEvent] = Field(
        description="Every event of the conversation, oldest first: the customer's, the bot's and agents' "
        "messages, tool calls, proposals (card numbers and vault tokens masked)."
    )
    notes: list[NoteOut]
    context: CustomerContext
    resolution_note: str | None = None
    handed_back: bool | None = None

    @classmethod
    def of(cls, detail: TicketDetail) -> EscalationDetail:
        transcript = Transcript.from_events(detail.ticket.conversation_id, detail.events).events
        notes = [
            NoteOut(id=n.note_id or 0, author=n.author, text=n.text, created_at=n.created_at) for n in detail.notes
        ]
        context = CustomerContext(
            profile=_profile(detail.customer) if detail.customer is not None else None,
            orders=[_order(o) for o in detail.orders],
            cart=_cart(detail.cart) if detail.cart is not None and detail.cart.lines else None,
        )
        return cls.model_validate(
            {
                **detail.summary,
                "transcript": transcript,
                "notes": notes,
                "context": context,
                "resolution_note": detail.ticket.resolution_note,
                "handed_back": detail.ticket.handed_back,
            }
        )


def _profile(customer: Customer) -> ProfileOut:
    methods = []
    for method in customer.payment_methods.values():
        methods.append(
            PaymentMethodOut(
                id=method.id,
                source=method.source,
                brand=method.brand if isinstance(method, CreditCard) else None,
                last_four=method.last_four if isinstance(method, CreditCard) else None,
                balance=method.balance if isinstance(method, GiftCard) else None,
            )
        )
    return ProfileOut(
        id=customer.user_id,
        name=f"{customer.name.first_name} {customer.name.last_name}".strip(),
        email=customer.email,
        address=customer.address.model_dump(),
        payment_methods=methods,
    )


def _order(order: Order) -> OrderOut:
    items = [OrderLineOut(name=i.name, item_id=i.item_id, price=i.price, options=i.options) for i in order.items]
    return OrderOut(order_id=order.order_id, status=order.status.value, items=items, total=order.total)


def _cart(cart: Cart) -> CartSummary:
    lines = [
        CartLineView(
            item_id=line.item_id,
            product_id=line.product_id,
            name=line.name,
            options=line.options,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.subtotal,
        )
        for line in cart.lines
    ]
    return CartSummary(lines=lines, item_count=cart.item_count, subtotal=cart.subtotal)


__all__ = [
    "MAX_MESSAGE_CHARS",
    "AgentMessageIn",
    "AgentMessageOut",
    "AgentOut",
    "AssignIn",
    "CartSummary",
    "ConversationCreated",
    "ErrorResponse",
    "EscalationDetail",
    "EscalationOut",
    "MessageIn",
    "NoteIn",
    "NoteOut",
    "PendingProposal",
    "ProductCard",
    "ProposalOut",
    "ResolveIn",
    "ToolCallOut",
    "Transcript",
    "TranscriptEvent",
    "TurnResponse",
]
