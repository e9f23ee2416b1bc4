"""Conversations as a service: start one, send a customer message, read the transcript.

The API, the CLI chat and the evals all go through ``ConversationService``; it turns one graph run into a
``TurnResult`` and records every turn as conversation events (the transcript and the analytics trail).
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.types import Command
from pydantic import BaseModel

from shopkeep.domain import ConversationEvent
from shopkeep.errors import NotFoundError
from shopkeep.store.base import CommerceStore


class ToolCallRecord(BaseModel):
    name: str
    arguments: dict[str, Any]
    ok: bool


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


class ConversationService:
    """Runs turns on a compiled graph with a checkpointer; one turn at a time per conversation."""

    def __init__(self, graph: Any, store: CommerceStore) -> None:
        self._graph = graph
        self._store = store
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def start(self, channel: str = "api", customer_id: str | None = None) -> str:
        conversation_id = uuid.uuid4().hex
        self._record(conversation_id, "started", {"channel": channel, "customer_id": customer_id})
        return conversation_id

    def exists(self, conversation_id: str) -> bool:
        with self._store.session() as session:
            return bool(session.list_events(conversation_id))

    def send(self, conversation_id: str, text: str, *, confirm: str | None = None) -> TurnResult:
        if not self.exists(conversation_id):
            raise NotFoundError("Conversation", conversation_id)
        with self._locks[conversation_id]:
            return self._turn(conversation_id, text, confirm)

    def transcript(self, conversation_id: str) -> list[ConversationEvent]:
        with self._store.session() as session:
            events = session.list_events(conversation_id)
        if not events:
            raise NotFoundError("Conversation", conversation_id)
        return events

    def _turn(self, conversation_id: str, text: str, confirm: str | None) -> TurnResult:
        config = {"configurable": {"thread_id": conversation_id}}
        snapshot = self._graph.get_state(config)
        before = len(snapshot.values.get("messages", []))
        pending = _pending_proposal(snapshot)
        self._record(conversation_id, "user", {"text": text})
        if pending is not None:
            payload: Any = Command(resume={"text": text, "fingerprint": confirm or pending["fingerprint"]})
        else:
            payload = {
                "messages": [HumanMessage(content=text)],
                "conversation_id": conversation_id,
                "cart_id": conversation_id,
            }
        self._graph.invoke(payload, config)
        snapshot = self._graph.get_state(config)
        values = snapshot.values
        new = values.get("messages", [])[before:]
        proposal = _pending_proposal(snapshot)
        calls = [
            ToolCallRecord(
                name=m.name or "", arguments=(m.artifact or {}).get("arguments", {}), ok=m.status == "success"
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
        )
        for call in calls:
            self._record(conversation_id, "tool", call.model_dump())
        if proposal is not None:
            self._record(
                conversation_id, "proposal", {"tool": proposal["tool"], "fingerprint": proposal["fingerprint"]}
            )
        if reply:
            self._record(conversation_id, "assistant", {"text": reply, "agent": result.agent, "intent": result.intent})
        return result

    def _record(self, conversation_id: str, kind: str, payload: dict[str, Any]) -> None:
        event = ConversationEvent(
            conversation_id=conversation_id, kind=kind, payload=payload, created_at=datetime.now(UTC)
        )
        with self._store.session(write=True) as session:
            session.append_event(event)


def _pending_proposal(snapshot: Any) -> dict[str, Any] | None:
    for task in snapshot.tasks:
        for pending in task.interrupts:
            if isinstance(pending.value, dict) and "fingerprint" in pending.value:
                return dict(pending.value)
    return None
