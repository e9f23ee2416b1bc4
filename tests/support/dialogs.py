"""Hand-built conversations for dialog-policy tests: customer turns, assistant replies and tool results recorded the
way the graph records them, read into a ``Dialog`` with the real NLU.

``Conversation.run`` plays a policy the way the graph does within one customer turn: each ``Call`` gets its canned
result (a value, a function of the arguments, or a ``ToolError``) and the policy decides again, until it says
something. Tool results are built from the tools' own result models, so their shape is the real one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

from shopkeep.llm.local.dialog import DEMO_PROFILE, NOT_CONFIRMED_PREFIX, Dialog
from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.policies.base import Call, Say, Step
from shopkeep.replies import reply

Policy = Callable[[Dialog], Step]
_PRICE = re.compile(r"\$(\d[\d,]*\.\d{2})")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class ToolError:
    """A tool result that is an error (the text the model reads)."""

    text: str


DECLINED = ToolError(f"{NOT_CONFIRMED_PREFIX}, so nothing was changed.")


def as_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


@dataclass
class Conversation:
    messages: list[BaseMessage] = field(default_factory=list)

    def user(self, text: str) -> Conversation:
        self.messages.append(HumanMessage(content=text))
        return self

    def bot(self, text: str, expects: str | None = None) -> Conversation:
        """An assistant reply, with what it waits for recorded as the local brain records it."""
        self.messages.append(AIMessage(content=text, response_metadata={"expects": expects} if expects else {}))
        return self

    def tool(self, name: str, args: dict[str, Any] | None = None, result: Any = None) -> Conversation:
        call_id = f"call_{len(self.messages)}"
        self.messages.append(AIMessage(content="", tool_calls=[{"name": name, "args": args or {}, "id": call_id}]))
        if isinstance(result, ToolError):
            content, status = result.text, "error"
        else:
            value = as_json(result)
            content, status = (value if isinstance(value, str) else json.dumps(value)), "success"
        self.messages.append(ToolMessage(content=content, tool_call_id=call_id, name=name, status=status))
        return self

    def dialog(self, nlu: NLU, agent: str = "catalog") -> Dialog:
        return Dialog(agent=agent, messages=list(self.messages), nlu=nlu)

    def decide(self, policy: Policy, nlu: NLU, agent: str = "catalog") -> Step:
        return policy(self.dialog(nlu, agent))

    def run(
        self, policy: Policy, nlu: NLU, tools: dict[str, Any], agent: str = "catalog", max_steps: int = 10
    ) -> tuple[list[Call], Say]:
        """Decide, answer each call from ``tools`` and decide again until the policy speaks; the reply is recorded.
        A call without a canned result fails the test."""
        calls: list[Call] = []
        for _ in range(max_steps):
            step = self.decide(policy, nlu, agent)
            if isinstance(step, Say):
                self.bot(step.text, step.expects)
                return calls, step
            calls.append(step)
            assert step.name in tools, f"unexpected call {step.name}({step.args}) after {[c.name for c in calls]}"
            canned = tools[step.name]
            result = canned(step.args) if callable(canned) else canned
            self.tool(step.name, step.args, result)
        raise AssertionError(f"no reply after {max_steps} steps: {[c.name for c in calls]}")


def prices_in(text: str) -> set[Decimal]:
    return {Decimal(p.replace(",", "")) for p in _PRICE.findall(text)}


def assert_prices_from_tools(reply: Say, conversation: Conversation) -> None:
    """Every dollar amount the reply states is a number some tool returned."""
    known: set[Decimal] = set()
    for message in conversation.messages:
        if isinstance(message, ToolMessage):
            known |= {Decimal(n).quantize(Decimal("0.01")) for n in _NUMBER.findall(str(message.content))}
    stated = prices_in(reply.text)
    assert stated <= known, f"prices not from any tool result: {sorted(stated - known)} in {reply.text!r}"


def demo_reply(key: str, /, **fields: object) -> str:
    """A reply of ``data/replies`` as the local brain writes it for the demo store."""
    return reply(key, shop_name=DEMO_PROFILE.name, support_hours=DEMO_PROFILE.support_hours, **fields)
