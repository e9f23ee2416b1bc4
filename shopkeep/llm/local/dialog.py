"""What the local brain reads from a conversation: customer turns (with NLU), tool results, and the facts they hold.

The brain is stateless between calls, like an LLM: everything it knows is recomputed from the messages it is
given, so a conversation survives restarts and can move between workers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage

from shopkeep.domain.shop import DEMO_SHOP_NAME, DEMO_SUPPORT_HOURS, ShopProfile
from shopkeep.llm.local.nlu import NLU, Entity, NLUResult
from shopkeep.replies import reply

NOT_CONFIRMED_PREFIX = "Error: Not done: the customer did not confirm"
REDIRECTED_MARK = "they answered with something else"
ANSWER_WORDS = 12
SHOPPING_ASKERS = frozenset({"catalog", "cart"})
OPEN_QUESTIONS = (
    "anything else i can help you with?",
    "what can i do for you?",
    "what would you like to do instead?",
    "what would you like to do next?",
    "could you rephrase what you need?",
)


def expected_after(messages: Sequence[BaseMessage]) -> str:
    """What the assistant's last reply in ``messages`` waited for, as it recorded it ("" when nothing)."""
    for message in reversed(messages):
        if isinstance(message, AIMessage) and message.content:
            return str(message.response_metadata.get("expects", ""))
    return ""


def asks_for_answer(reply: str) -> bool:
    """The assistant asked something specific (a slot, a choice), not an open "anything else?"."""
    text = reply.rstrip().lower()
    return "?" in text and not text.endswith(OPEN_QUESTIONS)


def analyze(nlu: NLU, text: str) -> NLUResult:
    """NLU results are pure functions of the text and the shop's words: each message is analyzed once, not at
    every step, until the shop's words change."""
    return _analyze(nlu, nlu.vocabulary_key(), text)


@lru_cache(maxsize=4096)
def _analyze(nlu: NLU, key: tuple[int, int], text: str) -> NLUResult:
    return nlu.analyze(text)


@dataclass(frozen=True)
class ToolEvent:
    """One tool call and its result, as the conversation recorded them."""

    name: str
    args: dict[str, Any]
    ok: bool
    text: str
    index: int  # position of the result in the message list

    @cached_property
    def data(self) -> Any:
        try:
            return json.loads(self.text)
        except (json.JSONDecodeError, TypeError):
            return self.text

    @property
    def declined(self) -> bool:
        """Not executed: the customer said no, or answered the proposal with something else."""
        return self.text.startswith(NOT_CONFIRMED_PREFIX)

    @property
    def redirected(self) -> bool:
        """Not executed because the customer answered with something else (a correction, a question, more details):
        the task it was for goes on."""
        return self.declined and REDIRECTED_MARK in self.text


@dataclass(frozen=True)
class Turn:
    text: str
    nlu: NLUResult
    index: int
    question: str = ""
    """The assistant's previous message, when it asked something specific (this message most likely answers it)."""
    asker: str = ""
    """The agent whose question that was (empty when unknown)."""
    expects: str = ""
    """What the assistant's previous message waited for, as it recorded it (see ``policies.base.Say.expects``)."""

    @property
    def answering(self) -> bool:
        return bool(self.question)

    @property
    def answering_task(self) -> bool:
        """The message follows a question of a task (an order, the account, the checkout), not a shopping offer
        ("Would you like details on one of them?"), which a request for such a task leaves rather than answers."""
        return self.answering and self.asker not in SHOPPING_ASKERS

    @property
    def short(self) -> bool:
        return len(self.text.split()) <= ANSWER_WORDS


DEMO_PROFILE = ShopProfile(name=DEMO_SHOP_NAME, support_hours=DEMO_SUPPORT_HOURS, demo=True)


@dataclass
class Dialog:
    """A read-only view of the conversation for one decision of one agent."""

    agent: str
    messages: list[BaseMessage]
    nlu: NLU
    shop: ShopProfile = DEMO_PROFILE
    """The shop the assistant speaks for: its name, currency (what replies write prices in) and support hours."""
    turns: list[Turn] = field(init=False)
    events: list[ToolEvent] = field(init=False)

    def __post_init__(self) -> None:
        self.turns = []
        asked, asker, expects = "", "", ""
        for n, m in enumerate(self.messages):
            if isinstance(m, HumanMessage):
                self.turns.append(Turn(str(m.content), analyze(self.nlu, str(m.content)), n, asked, asker, expects))
            elif isinstance(m, AIMessage) and m.content:
                asked = str(m.content) if asks_for_answer(str(m.content)) else ""
                asker = str(m.response_metadata.get("agent", "")) if asked else ""
                expects = str(m.response_metadata.get("expects", ""))
        calls: dict[str, ToolCall] = {}
        self.events = []
        for n, message in enumerate(self.messages):
            if isinstance(message, AIMessage):
                for tool_call in message.tool_calls:
                    calls[tool_call["id"] or ""] = tool_call
            elif isinstance(message, ToolMessage):
                made = calls.get(message.tool_call_id)
                self.events.append(
                    ToolEvent(
                        name=made["name"] if made else message.name or "",
                        args=dict(made["args"]) if made else {},
                        ok=message.status != "error",
                        text=str(message.content),
                        index=n,
                    )
                )

    @property
    def currency(self) -> str:
        return self.shop.currency

    def reply(self, key: str, /, **fields: object) -> str:
        """The reply ``key`` of ``data/replies`` with ``fields`` and the shop's own (``shop_name``,
        ``support_hours``) filled in."""
        return reply(key, shop_name=self.shop.name, support_hours=self.shop.support_hours, **fields)

    # the customer's words -----------------------------------------------------------------------------------------

    @property
    def last_turn(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    @property
    def just_ran_tool(self) -> ToolEvent | None:
        """The tool result this decision follows, if the last message is one."""
        if self.messages and isinstance(self.messages[-1], ToolMessage) and self.events:
            return self.events[-1]
        return None

    def entities(self, kind: str, since: int = 0) -> list[Entity]:
        """Every entity of a kind the customer mentioned, oldest first (from message index ``since``)."""
        return [e for t in self.turns if t.index >= since for e in t.nlu.entities if e.type == kind]

    def latest(self, kind: str, since: int = 0) -> Entity | None:
        found = self.entities(kind, since)
        return found[-1] if found else None

    # facts from tool results ---------------------------------------------------------------------------------------

    def results(self, name: str, *, ok: bool | None = True) -> list[ToolEvent]:
        return [e for e in self.events if e.name == name and (ok is None or e.ok == ok)]

    @property
    def customer_id(self) -> str | None:
        found = [e for e in self.events if e.name.startswith("find_user_id") and e.ok]
        return found[-1].text if found else None

    @property
    def user(self) -> dict[str, Any] | None:
        found = [e.data for e in self.events if e.name in ("get_user_details", "modify_user_address") and e.ok]
        return found[-1] if found and isinstance(found[-1], dict) else None

    def order(self, order_id: str) -> dict[str, Any] | None:
        """The newest state of an order any tool returned."""
        for event in reversed(self.events):
            if event.ok and isinstance(event.data, dict) and event.data.get("order_id") == order_id:
                return event.data
        return None

    def product(self, product_id: str) -> dict[str, Any] | None:
        for event in reversed(self.results("get_product_details")):
            if isinstance(event.data, dict) and event.data.get("product_id") == product_id:
                return event.data
        return None

    def tried(self, name: str, **args: Any) -> ToolEvent | None:
        """The last call of a tool with these arguments, if any."""
        for event in reversed(self.events):
            if event.name == name and all(event.args.get(k) == v for k, v in args.items()):
                return event
        return None
