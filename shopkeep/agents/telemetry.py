"""What a turn tells operations: its span, its log context, and its metrics.

``observe_turn`` wraps one customer message in the conversation service: an ``invoke_agent shopkeep`` span, the
conversation and trace ids bound to every log line written meanwhile (structlog context variables, which follow
the turn into LangGraph's and the API's worker threads), and on the way out the turn's metrics and one
``turn_completed`` log line. ``traced_node`` and ``tool_span`` give the graph's nodes and tool calls their spans.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from opentelemetry.trace import Span, Status, StatusCode

from shopkeep import metrics, tracing
from shopkeep.agents.state import AGENTS, ConversationState
from shopkeep.guardrails.redaction import redact
from shopkeep.llm.usage import Usage

if TYPE_CHECKING:
    from shopkeep.agents.service import TurnResult

log = structlog.get_logger(__name__)

_OWN_ID = re.compile(r"[0-9a-f]{32}")
"""A conversation id as ``ConversationService.start`` makes it."""

ASSISTANT = "shopkeep"
"""``gen_ai.agent.name`` of the whole assistant (a turn); the specialists' spans carry their own names."""
PLACE_ORDER = "place_order"


@dataclass
class TurnObservation:
    """Filled by the service when the turn has its result (``finish``); what ``observe_turn`` records."""

    conversation_id: str
    span: Span
    result: TurnResult | None = None
    trips: list[dict[str, Any]] = field(default_factory=list)
    escalated: bool = False
    usage: Usage = field(default_factory=Usage)

    def finish(self, result: TurnResult, *, trips: list[dict[str, Any]], escalated: bool, usage: Usage) -> None:
        self.result, self.trips, self.escalated, self.usage = result, trips, escalated, usage

    @property
    def outcome(self) -> str:
        result = self.result
        if result is None:
            return "error"
        if self.escalated:
            return "escalated"
        if any(trip.get("blocked") and trip.get("stage") == "input" for trip in self.trips):
            return "blocked"
        if result.awaiting_confirmation:
            return "awaiting_confirmation"
        return "human" if result.mode == "human" else "replied"


@contextmanager
def observe_turn(conversation_id: str) -> Iterator[TurnObservation]:
    """Span, log context and metrics of one turn (see the module docstring)."""
    started = time.perf_counter()
    attributes = {
        tracing.OPERATION: "invoke_agent",
        tracing.AGENT_NAME: ASSISTANT,
        tracing.CONVERSATION_ID: conversation_id,
    }
    with (
        tracing.span(f"invoke_agent {ASSISTANT}", attributes) as span,
        structlog.contextvars.bound_contextvars(conversation_id=conversation_id, trace_id=_trace_id()),
    ):
        observation = TurnObservation(conversation_id, span)
        try:
            yield observation
        finally:
            _record(observation, time.perf_counter() - started)


def bind_log_context(conversation_id: str) -> None:
    """Bind the conversation and trace ids to every log line of the current context (an API request). The id comes
    from the request's path: anything but an id the service made is redacted first (log lines skip redaction for
    the ids Shopkeep makes, ``observability.redact_pii``)."""
    if not _OWN_ID.fullmatch(conversation_id):
        conversation_id = redact(conversation_id)
    structlog.contextvars.bind_contextvars(conversation_id=conversation_id, trace_id=_trace_id())


def _trace_id() -> str:
    """The current trace's id; without tracing, the one already bound (the request's) or a new one."""
    bound = structlog.contextvars.get_contextvars().get("trace_id")
    return tracing.current_trace_id() or (str(bound) if bound else tracing.new_trace_id())


def _record(observation: TurnObservation, seconds: float) -> None:
    result, outcome = observation.result, observation.outcome
    agent = (result.agent if result is not None else None) or "none"
    metrics.TURNS.labels(agent=agent, outcome=outcome).inc()
    metrics.TURN_SECONDS.labels(agent=agent).observe(seconds)
    for trip in observation.trips:
        metrics.RAIL_TRIPS.labels(rail=str(trip.get("rail")), stage=str(trip.get("stage"))).inc()
    if observation.escalated:
        metrics.ESCALATIONS.inc()
    calls = result.tool_calls if result is not None else []
    for call in calls:
        metrics.TOOL_CALLS.labels(tool=call.name).inc()
        if not call.ok:
            metrics.TOOL_ERRORS.labels(tool=call.name).inc()
        if call.name == PLACE_ORDER:
            _record_checkout(call.ok, call.output)
    span = observation.span
    span.set_attribute("shopkeep.turn.outcome", outcome)
    span.set_attribute("shopkeep.agent", agent)
    if result is not None and result.intent:
        span.set_attribute("shopkeep.intent", result.intent)
    span.set_attribute("shopkeep.tool_calls", len(calls))
    if observation.usage.llm_calls:
        span.set_attribute(tracing.INPUT_TOKENS, observation.usage.input_tokens)
        span.set_attribute(tracing.OUTPUT_TOKENS, observation.usage.output_tokens)
    (log.info if result is not None else log.warning)(
        "turn_completed",
        agent=agent,
        intent=result.intent if result is not None else None,
        outcome=outcome,
        tool_calls=len(calls),
        llm_calls=observation.usage.llm_calls,
        duration_ms=round(seconds * 1000, 1),
    )


def _record_checkout(ok: bool, output: Any) -> None:
    placed = ok and isinstance(output, dict) and output.get("status") == "placed"
    metrics.CHECKOUTS.labels(outcome="placed" if placed else "failed").inc()
    if placed and output.get("charged") is not None:
        currency = str((output.get("quote") or {}).get("currency") or "unknown")
        metrics.REVENUE.labels(currency=currency).inc(float(Decimal(str(output["charged"]))))


class Node(Protocol):
    """A graph node as LangGraph calls it."""

    def __call__(self, state: ConversationState) -> Any: ...


def traced_node(name: str, node: Node) -> Node:
    """The graph node ``node`` inside a span: ``invoke_agent <agent>`` for a specialist, ``node <name>`` else."""
    if name in AGENTS:
        span_name = f"invoke_agent {name}"
        attributes: dict[str, Any] = {tracing.OPERATION: "invoke_agent", tracing.AGENT_NAME: name}
    else:
        span_name, attributes = f"node {name}", {}
    attributes["langgraph.node"] = name

    def run(state: ConversationState) -> Any:
        with tracing.span(span_name, {**attributes, tracing.CONVERSATION_ID: state.get("conversation_id") or ""}):
            return node(state)

    return run


@contextmanager
def tool_span(name: str, call_id: str | None, *, rehearsal: bool = False) -> Iterator[Callable[[bool], None]]:
    """An ``execute_tool <name>`` span; the caller reports whether the tool succeeded with the function it gets."""
    attributes: dict[str, Any] = {
        tracing.OPERATION: "execute_tool",
        tracing.TOOL_NAME: name,
        tracing.TOOL_TYPE: "function",
        "shopkeep.tool.rehearsal": rehearsal,
    }
    if call_id:
        attributes[tracing.TOOL_CALL_ID] = call_id
    with tracing.span(f"execute_tool {name}", attributes) as span:

        def report(ok: bool) -> None:
            if not ok:
                span.set_attribute(tracing.ERROR_TYPE, "tool_error")
                span.set_status(Status(StatusCode.ERROR))

        yield report
