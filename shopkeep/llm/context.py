"""What an LLM is sent: the history trimmed to a token budget, older turns folded into an extractive summary.

The history is cut only between whole units: a customer message, a reply, or a tool call together with its
results (a model must never see a tool result without the call that asked for it, nor a call without its
result). The current turn, from the latest customer message on, is always kept whole. What falls out is
summarised deterministically (the customer's requests, the tool calls and how they ended, the ids they named) and
appended to the system message, so facts such as a verified email or an order id survive the cut.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from shopkeep.llm.tokens import TokenCounter

SUMMARY_HEADING = "Earlier in this conversation (summary of older messages, which are not shown):"
SUMMARY_SHARE = 0.25
"""At most this share of the budget goes to the summary; its oldest lines go first."""
MAX_WORDS = 30
MAX_VALUE_CHARS = 60
_IDS = re.compile(r"#W\d{7}\b|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b[a-z]+_[a-z]+_\d{4}\b")


@dataclass(frozen=True)
class Fitted:
    """The messages to send, and how many history messages were folded into the summary."""

    messages: list[BaseMessage]
    dropped: int


def _units(history: Sequence[BaseMessage]) -> list[list[BaseMessage]]:
    """Messages grouped so that a tool call and its results are never separated."""
    units: list[list[BaseMessage]] = []
    for message in history:
        if isinstance(message, ToolMessage) and units and _has_calls(units[-1]):
            units[-1].append(message)
        else:
            units.append([message])
    return units


def _has_calls(unit: list[BaseMessage]) -> bool:
    head = unit[0]
    return isinstance(head, AIMessage) and bool(head.tool_calls or head.invalid_tool_calls)


def _clip(text: str, words: int = MAX_WORDS) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def _value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def _outcome(result: ToolMessage) -> str:
    text = str(result.content)
    if result.status == "error":
        return f"failed ({_clip(text.removeprefix('Error: '), 14)})"
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return f"ok: {_value(text)}"
    if isinstance(data, dict):
        keys = ("user_id", "order_id", "status", "name", "email")
        facts = [f"{k}={_value(data[k])}" for k in keys if k in data and not isinstance(data[k], dict | list)]
        return "ok" + (f" ({', '.join(facts)})" if facts else "")
    return f"ok: {_value(data)}"


def summarize(dropped: Sequence[BaseMessage]) -> list[str]:
    """One line per customer message, assistant reply and tool call of the dropped messages, oldest first."""
    results = {m.tool_call_id: m for m in dropped if isinstance(m, ToolMessage)}
    lines: list[str] = []
    for message in dropped:
        if isinstance(message, HumanMessage):
            lines.append(f'- Customer: "{_clip(str(message.content))}"')
        elif isinstance(message, AIMessage):
            if message.content:
                lines.append(f'- Assistant: "{_clip(str(message.content))}"')
            for call in message.tool_calls:
                args = ", ".join(f"{k}={_value(v)}" for k, v in call["args"].items())
                result = results.get(call["id"] or "")
                outcome = _outcome(result) if result is not None else "no result"
                lines.append(f"- Tool {call['name']}({args}): {outcome}")
    ids = sorted({i for m in dropped for i in _IDS.findall(str(m.content))})
    if ids:
        lines.append(f"- Ids mentioned: {', '.join(ids)}")
    return lines


def _with_summary(system: SystemMessage | None, lines: list[str]) -> SystemMessage | None:
    if not lines:
        return system
    block = "\n".join([SUMMARY_HEADING, *lines])
    if system is None:
        return SystemMessage(content=block)
    return SystemMessage(
        content=f"{system.content}\n\n{block}", additional_kwargs=dict(system.additional_kwargs), id=system.id
    )


def fit(messages: Sequence[BaseMessage], budget: int, counter: TokenCounter) -> Fitted:
    """``messages`` (a system message first, then the history) cut to about ``budget`` tokens."""
    system = messages[0] if messages and isinstance(messages[0], SystemMessage) else None
    history = list(messages[1:] if system is not None else messages)
    if counter.messages(messages) <= budget:
        return Fitted(list(messages), 0)
    last_human = max((n for n, m in enumerate(history) if isinstance(m, HumanMessage)), default=0)
    older, current = history[:last_human], history[last_human:]
    used = counter.messages([*([system] if system else []), *current])
    summary_budget = int(budget * SUMMARY_SHARE)
    kept: list[BaseMessage] = []
    units = _units(older)
    while units:
        cost = sum(counter.message(m) for m in units[-1])
        if used + cost > budget - summary_budget:
            break
        kept[:0] = units.pop()
        used += cost
    dropped = [m for unit in units for m in unit]
    lines = summarize(dropped)
    while lines and counter.text("\n".join(lines)) > summary_budget:
        lines.pop(0)
    head = _with_summary(system, lines)
    return Fitted([*([head] if head else []), *kept, *current], len(dropped))
