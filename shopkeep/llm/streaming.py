"""Streaming a turn's reply as it is written, with the output rails applied before any text leaves.

The model's tokens are buffered by sentence; a sentence is released only once it is complete and has passed the
same output rails as the graph's output guard, against the same facts: the conversation's tool results so far
(those of this turn arrive on the stream before the reply that uses them), the customer's messages and record, and
the store policy. Card numbers are masked and other customers' data redacted in place; a sentence with an
ungrounded amount, date, id or status, or an unpermitted promise, stops the stream (the graph re-asks the brain or
falls back to the safe reply). A card number never contains a sentence end, so it is always judged whole. The final
``TurnDone`` carries the turn as ``send`` returns it: its ``reply`` (guarded by the graph's own output node, with
any input-rail notices) is authoritative, and clients replace the streamed text with it.

``stream_turn`` is a plain generator, so an async endpoint can drive it with
``starlette.concurrency.iterate_in_threadpool``.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage

from shopkeep.agents.service import ConversationService, TurnResult
from shopkeep.agents.state import AGENTS
from shopkeep.agents.toolkit import AUTH_TOOLS
from shopkeep.guardrails.cards import mask_card_numbers
from shopkeep.guardrails.facts import Facts, conversation_facts
from shopkeep.guardrails.rails import OUTPUT_RAILS, OutputRail, run_output_rails

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n+")
_SAFE_CUT = re.compile(r"(?<=[^\d\s-])\s+")
MAX_BUFFER = 400
"""A "sentence" longer than this is released at a word boundary that cannot split a card number."""


@dataclass(frozen=True)
class ReplyDelta:
    """Guarded text to append to the reply being shown."""

    text: str


@dataclass(frozen=True)
class TurnDone:
    """The turn is over; ``turn.reply`` is the final, guarded reply."""

    turn: TurnResult


StreamEvent = ReplyDelta | TurnDone


class SentenceGuard:
    """Collects streamed text and releases complete sentences that passed the rails."""

    def __init__(
        self, rails: tuple[OutputRail, ...] = OUTPUT_RAILS, max_buffer: int = MAX_BUFFER, facts: Facts | None = None
    ) -> None:
        self._rails = rails
        self._max = max_buffer
        self._buffer = ""
        self.blocked = False
        self.facts = facts or Facts()
        """What released text is checked against; the stream updates it as the turn's tool results come in."""

    def feed(self, text: str) -> list[str]:
        if self.blocked:
            return []
        self._buffer += text
        released: list[str] = []
        while True:
            end = _SENTENCE_END.search(self._buffer)
            if end is None:
                break
            sentence, self._buffer = self._buffer[: end.end()], self._buffer[end.end() :]
            released += self._pass(sentence)
        if len(self._buffer) > self._max:
            cuts = [m.end() for m in _SAFE_CUT.finditer(self._buffer, 0, len(self._buffer) - 32)]
            if cuts:
                head, self._buffer = self._buffer[: cuts[-1]], self._buffer[cuts[-1] :]
                released += self._pass(head)
        return released

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer, ""
        return self._pass(rest) if rest and not self.blocked else []

    def _pass(self, text: str) -> list[str]:
        guarded, trips = run_output_rails(self._rails, text, self.facts)
        if any(t.blocked for t in trips):
            self.blocked = True
            return []
        return [guarded] if guarded else []


def reply_text(message: BaseMessage, metadata: dict[str, Any]) -> str:
    """The customer-facing text in one item of the graph's message stream ("" for anything else)."""
    if metadata.get("langgraph_node") not in AGENTS or not isinstance(message, AIMessage):
        return ""
    if not isinstance(message, AIMessageChunk) and message.tool_calls:
        return ""
    return message.text


class TurnFacts:
    """The facts a streamed turn is checked against, kept up to date as the turn's tool results come in."""

    def __init__(self, service: ConversationService, conversation_id: str, text: str) -> None:
        values = service.values(conversation_id)
        self._service = service
        # the customer's message as the graph will see it: a card number in it is never a fact to repeat
        self._messages: list[BaseMessage] = [
            *values.get("messages", []),
            HumanMessage(content=mask_card_numbers(text)[0]),
        ]
        self._customer_id: str | None = values.get("customer_id")

    def add(self, message: ToolMessage) -> None:
        self._messages.append(message)
        if message.status != "error" and message.name in AUTH_TOOLS:
            self._customer_id = str(message.content)  # as the tools node authenticates the customer

    def facts(self) -> Facts:
        return conversation_facts(self._service.store, self._messages, self._customer_id, self._service.policy)


def stream_turn(
    service: ConversationService, conversation_id: str, text: str, *, confirm: str | None = None
) -> Iterator[StreamEvent]:
    """Run one customer message, yielding guarded reply text as it is written, then ``TurnDone``.

    Errors of the turn (unknown conversation, store down, ...) are raised from the generator, as ``send`` raises.
    """
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    seen: set[str] = set()

    def sink(message: BaseMessage, metadata: dict[str, Any]) -> None:
        if isinstance(message, ToolMessage):
            items.put(("fact", message))
            return
        piece = reply_text(message, metadata)
        key = message.id or ""
        if not piece or (not isinstance(message, AIMessageChunk) and key in seen):
            return  # a whole message already streamed as chunks comes again when its node finishes
        seen.add(key)
        items.put(("text", (key, piece)))

    def work() -> None:
        try:
            items.put(("done", service.send(conversation_id, text, confirm=confirm, on_message=sink)))
        except BaseException as exc:  # handed to the consumer, which raises it
            items.put(("error", exc))

    turn_facts = TurnFacts(service, conversation_id, text)
    guard = SentenceGuard(rails=service.output_rails, facts=turn_facts.facts())
    worker = threading.Thread(target=work, name=f"turn-{conversation_id[:8]}", daemon=True)
    worker.start()
    current: str | None = None
    while True:
        kind, value = items.get()
        if kind == "fact":
            turn_facts.add(value)
            guard.facts = turn_facts.facts()
            continue
        if kind == "error":
            worker.join()
            raise value
        if kind == "done":
            for piece in guard.flush():
                yield ReplyDelta(piece)
            worker.join()
            yield TurnDone(value)
            return
        key, piece = value
        if current is not None and key != current:
            # A new message of the turn: finish the previous one before it.
            for flushed in guard.flush():
                yield ReplyDelta(flushed)
            piece = "\n\n" + piece
        current = key
        for released in guard.feed(piece):
            yield ReplyDelta(released)
