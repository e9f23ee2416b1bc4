"""Conversations as a service: start one, send a customer message, read the transcript.

The API, the CLI chat and the evals all go through ``ConversationService``; it turns one graph run into a
``TurnResult`` and records every turn as conversation events (the transcript and the analytics trail).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.types import Command, Durability
from pydantic import BaseModel, Field

from shopkeep import replies
from shopkeep.agents.locks import ConversationLocks, ProcessLocks
from shopkeep.agents.nodes import QUEUED
from shopkeep.agents.telemetry import TurnObservation, observe_turn
from shopkeep.domain import ConversationEvent
from shopkeep.errors import NotFoundError
from shopkeep.guardrails.cards import mask_card_numbers, vault_card_numbers
from shopkeep.guardrails.rails import OUTPUT_RAILS, OutputRail
from shopkeep.llm.usage import Usage
from shopkeep.payments.vault import CardVault
from shopkeep.shop.profile import ProfileSource, currency_of
from shopkeep.store.base import CommerceStore


class ToolCallRecord(BaseModel):
    name: str
    arguments: dict[str, Any]
    ok: bool
    output: Any = Field(default=None, exclude=True)
    """The tool's JSON output when it succeeded (the web chat shows products and the cart from it); left out of
    dumps, so transcripts and evals still see only name, arguments and ok."""


class TurnResult(BaseModel):
    """What one customer message produced."""

    conversation_id: str
    reply: str
    agent: str | None
    intent: str | None
    confidence: float | None = None
    tool_calls: list[ToolCallRecord]
    awaiting_confirmation: bool
    proposal: dict[str, Any] | None = None
    mode: str = "bot"
    currency: str = "USD"
    """The shop's currency, which the turn's prices are in."""


log = structlog.get_logger(__name__)


TURN_DURABILITY: Durability = "exit"
"""A turn's graph state is checkpointed once, when the run ends or stops for a confirmation, not after every step:
the per-step checkpoints cost about half of a turn (measured in-process on the five-turn mix: 70 -> 32 ms p50, CPU
28.8 -> 15.7 ms per turn). A process killed mid-turn loses that turn as a whole; the customer's retry runs it again
from the previous turn's state. That was already the case for a write made after the last step checkpoint, and
writes do not repeat: a confirmed proposal's tool refuses a second effect (an order is no longer pending, a quote
is placed once, payments carry idempotency keys)."""

MessageSink = Callable[[BaseMessage, dict[str, Any]], None]
"""Receives the graph's message stream of a turn (LLM tokens as they come), for streaming replies."""


class TurnNotice(BaseModel):
    """A finished turn, as turn listeners see it (the human agents' inbox publishes from it)."""

    conversation_id: str
    text: str
    """The customer's message as recorded (card numbers already vaulted or masked)."""
    result: TurnResult
    escalated: bool
    """This turn handed the conversation to a person."""
    handed_back: bool = False
    """A person gave the conversation back to the bot earlier (its tickets' consoles follow the bot's turns)."""


TurnListener = Callable[[TurnNotice], None]


class ConversationService:
    """Runs turns on a compiled graph with a checkpointer; one turn at a time per conversation.

    ``variant_of`` assigns a conversation its experiment variant (stable per id); it is put in the graph state and
    recorded on every event. ``policy`` gives the shop's policy text the brains follow, as it is now; streamed replies
    are checked against it (``llm.streaming``), as the graph's output guard checks the final reply.
    """

    def __init__(
        self,
        graph: Any,
        store: CommerceStore,
        *,
        variant_of: Callable[[str], str | None] | None = None,
        vault: CardVault | None = None,
        locks: ConversationLocks | None = None,
        policy: str | Callable[[], str] = "",
        output_rails: tuple[OutputRail, ...] = OUTPUT_RAILS,
        shop: ProfileSource | None = None,
    ) -> None:
        self._graph = graph
        self._store = store
        self._policy = policy
        self._shop = shop
        self.output_rails = output_rails
        """What streamed sentences are checked with (the graph's output guard runs the same rails)."""
        self._vault = vault
        self._variant_of = variant_of
        self._locks = locks or ProcessLocks()
        self._listeners: list[TurnListener] = []

    def rate(self, conversation_id: str, value: str, event_id: int | None = None) -> None:
        """Record the customer's rating of a reply (``up`` or ``down``; ``event_id``: the reply's event, when known)
        as a ``rating`` event: experiment reports and the analytics read it from there."""
        if value not in ("up", "down"):
            raise ValueError(f"a rating is up or down, not {value!r}")
        if not self.exists(conversation_id):
            raise NotFoundError("Conversation", conversation_id)
        self._record(conversation_id, "rating", {"value": value, "event_id": event_id}, None)

    def add_listener(self, listener: TurnListener) -> None:
        """Call ``listener`` after every turn; its failure is logged and never fails the turn."""
        self._listeners.append(listener)

    def set_mode(self, conversation_id: str, mode: str, *, handback: dict[str, Any] | None = None) -> None:
        """Put the conversation in ``bot``, ``human`` or ``closed`` mode (a person took it, gave it back, closed it);
        ``handback`` (the agent and their note) is what the bot's next turns are told about the person's work."""
        update: dict[str, Any] = {"mode": mode}
        if handback is not None:
            update["handback"] = handback
        with self._locks.hold(conversation_id):
            self._graph.update_state({"configurable": {"thread_id": conversation_id}}, update)

    @property
    def store(self) -> CommerceStore:
        return self._store

    @property
    def policy(self) -> str:
        """The shop's policy text now (empty when the service was built without one)."""
        return self._policy if isinstance(self._policy, str) else self._policy()

    @property
    def checkpointer(self) -> Any:
        """Where the graph keeps the conversations' state."""
        return self._graph.checkpointer

    def values(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's graph state as last checkpointed (empty before its first turn)."""
        return dict(self._graph.get_state({"configurable": {"thread_id": conversation_id}}).values)

    def start(self, channel: str = "api", customer_id: str | None = None) -> str:
        conversation_id = uuid.uuid4().hex
        self._record(conversation_id, "started", {"channel": channel, "customer_id": customer_id}, customer_id)
        return conversation_id

    def exists(self, conversation_id: str) -> bool:
        with self._store.session() as session:
            return session.has_events(conversation_id)

    def send(
        self, conversation_id: str, text: str, *, confirm: str | None = None, on_message: MessageSink | None = None
    ) -> TurnResult:
        """Run one customer message; ``on_message`` (optional) sees the turn's messages and tokens as they come."""
        if not self.exists(conversation_id):
            raise NotFoundError("Conversation", conversation_id)
        with observe_turn(conversation_id) as observation, replies.recording() as wording:
            text, notice = self._protect(text)
            with self._locks.hold(conversation_id):
                result = self._turn(conversation_id, text, confirm, observation, wording, on_message)
        if notice is None:
            return result
        return result.model_copy(update={"reply": f"{notice} {result.reply}".strip()})

    def _protect(self, text: str) -> tuple[str, str | None]:
        """Card numbers become vault tokens (or are masked, without a vault) before the text is recorded,
        checkpointed or seen by any model; the customer is told."""
        if self._vault is None:
            masked, numbers = mask_card_numbers(text)
            return masked, replies.reply("guardrails.card_masked") if numbers else None
        vaulted, cards = vault_card_numbers(text, self._vault.put)
        if not cards:
            return text, None
        endings = ", ".join(card.last_four for card in cards)
        return vaulted, replies.reply("guardrails.card_secured", endings=endings)

    def transcript(self, conversation_id: str) -> list[ConversationEvent]:
        with self._store.session() as session:
            events = session.list_events(conversation_id)
        if not events:
            raise NotFoundError("Conversation", conversation_id)
        return events

    def _turn(
        self,
        conversation_id: str,
        text: str,
        confirm: str | None,
        observation: TurnObservation,
        wording: set[str],
        on_message: MessageSink | None = None,
    ) -> TurnResult:
        """One turn through the graph. ``wording``: the ``group@version`` of the replies rendered so far in this turn
        (``replies.recording``), completed as the graph runs and recorded on the ``assistant`` event."""
        config = {"configurable": {"thread_id": conversation_id}}
        snapshot = self._graph.get_state(config)
        if snapshot.values.get("mode") == "closed":
            return self._closed(conversation_id, text, snapshot.values.get("customer_id"), observation, wording)
        before = len(snapshot.values.get("messages", []))
        mode_before = snapshot.values.get("mode")
        trips_before = len(snapshot.values.get("rail_trips") or [])
        pending = _pending_proposal(snapshot)
        self._record(conversation_id, "user", {"text": text}, snapshot.values.get("customer_id"))
        if pending is not None:
            payload: Any = Command(resume={"text": text, "fingerprint": confirm or pending["fingerprint"]})
        else:
            payload = {
                "messages": [HumanMessage(content=text)],
                "conversation_id": conversation_id,
                "cart_id": conversation_id,
                "variant": self._variant(conversation_id),
            }
        if on_message is None:
            self._graph.invoke(payload, config, durability=TURN_DURABILITY)
        else:
            for message, metadata in self._graph.stream(
                payload, config, stream_mode="messages", durability=TURN_DURABILITY
            ):
                on_message(message, metadata)
        snapshot = self._graph.get_state(config)
        values = snapshot.values
        customer = values.get("customer_id")
        new = values.get("messages", [])[before:]
        proposal = _pending_proposal(snapshot)
        calls = [
            ToolCallRecord(
                name=m.name or "",
                arguments=(m.artifact or {}).get("arguments", {}),
                ok=m.status == "success",
                output=_output(m),
            )
            for m in new
            if isinstance(m, ToolMessage)
        ]
        if proposal is not None:
            reply = proposal["summary"]
        elif values.get("mode") == "human" and not any(isinstance(m, AIMessage) for m in new):
            reply = ""
        else:
            reply = next((str(m.content) for m in reversed(new) if isinstance(m, AIMessage) and m.content), "")
        reply = "\n\n".join([*_replies_before_queued(new), reply]) if reply else reply
        result = TurnResult(
            conversation_id=conversation_id,
            reply=reply,
            agent="human" if values.get("mode") == "human" and not reply else values.get("active_agent"),
            intent=values.get("intent"),
            confidence=values.get("confidence"),
            tool_calls=calls,
            awaiting_confirmation=proposal is not None,
            proposal=proposal,
            mode=values.get("mode") or "bot",
            currency=currency_of(self._shop),
        )
        events: list[tuple[str, dict[str, Any]]] = []
        for call in calls:
            events.append(("tool", call.model_dump()))
            order = placed_order(call)
            if order is not None:
                events.append(("order", order))
        trips = (values.get("rail_trips") or [])[trips_before:]
        for trip in trips:
            events.append(("rail", trip))
            log.info("rail_tripped", **trip)
        if proposal is not None:
            events.append(("proposal", {"tool": proposal["tool"], "fingerprint": proposal["fingerprint"]}))
        usage = Usage.of(new)
        events.extend(("llm_fallback", fallback) for fallback in usage.fallbacks)
        if usage.llm_calls:
            total = Usage.of(values.get("messages", []))
            events.append(("usage", {**usage.as_payload(), "conversation": total.as_payload()}))
        if reply:
            assistant = {"text": reply, "agent": result.agent, "intent": result.intent, "replies": sorted(wording)}
            events.append(("assistant", assistant))
        self._record_all(conversation_id, events, customer)
        escalated = values.get("mode") == "human" and mode_before != "human"
        observation.finish(result, trips=trips, escalated=escalated, usage=usage)
        handed_back = values.get("handback") is not None
        notice = TurnNotice(
            conversation_id=conversation_id, text=text, result=result, escalated=escalated, handed_back=handed_back
        )
        self._notify(notice)
        return result

    def _closed(
        self, conversation_id: str, text: str, customer: str | None, observation: TurnObservation, wording: set[str]
    ) -> TurnResult:
        """A message into a closed conversation: recorded, answered with the closed notice; no model, no tool."""
        self._record(conversation_id, "user", {"text": text}, customer)
        closed = replies.reply("graph.closed")
        result = TurnResult(
            conversation_id=conversation_id,
            reply=closed,
            agent=None,
            intent=None,
            tool_calls=[],
            awaiting_confirmation=False,
            mode="closed",
        )
        self._record(
            conversation_id,
            "assistant",
            {"text": closed, "agent": None, "intent": None, "replies": sorted(wording)},
            customer,
        )
        observation.finish(result, trips=[], escalated=False, usage=Usage.of([]))
        self._notify(TurnNotice(conversation_id=conversation_id, text=text, result=result, escalated=False))
        return result

    def _notify(self, notice: TurnNotice) -> None:
        for listener in self._listeners:
            try:
                listener(notice)
            except Exception as exc:  # a listener (live events, webhooks) never fails the customer's turn
                log.warning("turn_listener_failed", error=type(exc).__name__)

    def _record(self, conversation_id: str, kind: str, payload: dict[str, Any], customer_id: str | None) -> None:
        self._record_all(conversation_id, [(kind, payload)], customer_id)

    def _record_all(
        self, conversation_id: str, events: list[tuple[str, dict[str, Any]]], customer_id: str | None
    ) -> None:
        """Append events (kind, payload) in one transaction, with the customer identified so far (what erasure
        finds a customer's data by). A turn's outcome is one commit: on SQLite each commit waits for the disk."""
        if not events:
            return
        variant, now = self._variant(conversation_id), datetime.now(UTC)
        with self._store.session(write=True) as session:
            for kind, payload in events:
                session.append_event(
                    ConversationEvent(
                        conversation_id=conversation_id,
                        kind=kind,
                        payload=payload,
                        variant=variant,
                        created_at=now,
                        customer_id=customer_id,
                    )
                )

    def _variant(self, conversation_id: str) -> str | None:
        return self._variant_of(conversation_id) if self._variant_of is not None else None


PLACE_ORDER = "place_order"
CENT = Decimal("0.01")


def placed_order(call: ToolCallRecord) -> dict[str, str] | None:
    """The ``order`` event of a call that placed an order: its id, value (what was charged, exact, as a string) and
    currency; analytics and experiment reports read order values from these events (tool outputs are not stored)."""
    output = call.output
    if call.name != PLACE_ORDER or not call.ok or not isinstance(output, dict) or output.get("status") != "placed":
        return None
    quote = output.get("quote") or {}
    charged = output.get("charged")
    value = Decimal(str(charged if charged is not None else quote.get("total", 0))).quantize(CENT)
    return {"order_id": str(output.get("order_id")), "value": str(value), "currency": str(quote.get("currency", ""))}


def _output(message: ToolMessage) -> Any:
    """A successful tool's output: its JSON, or the plain text (a user id) the tool returned."""
    if message.status != "success":
        return None
    try:
        return json.loads(str(message.content))
    except ValueError:
        return str(message.content)


def _replies_before_queued(new: list[Any]) -> list[str]:
    """The replies a turn gave to a first request before the graph took up a queued second one: the customer reads
    them all."""
    replies: list[str] = []
    for n, message in enumerate(new):
        if isinstance(message, HumanMessage) and message.name == QUEUED:
            before = (str(m.content) for m in reversed(new[:n]) if isinstance(m, AIMessage) and m.content)
            replies += [text for text in [next(before, "")] if text]
    return replies


def _pending_proposal(snapshot: Any) -> dict[str, Any] | None:
    for task in snapshot.tasks:
        for pending in task.interrupts:
            if isinstance(pending.value, dict) and "fingerprint" in pending.value:
                return dict(pending.value)
    return None
