"""Traces of real turns on the graph (remote brain over the strict scripted model), caught by the SDK's in-memory
exporter: a span per turn, node, tool call and model request with the GenAI conventions, nothing personal in them;
and every log line of a turn carries its conversation and trace ids."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_trace_id

from shopkeep import tracing
from shopkeep.agents.telemetry import bind_log_context
from shopkeep.llm.tokens import TokenCounter
from shopkeep.observability import configure_logging
from shopkeep.settings import Settings
from tests.llm.providers.support import ServiceFor, remote
from tests.support.scripted_model import ScriptedChatModel, call, say

EMAIL = "emma.smith3991@example.com"
PENDING_ORDER = "#W2417020"
CARD = "4242 4242 4242 4242"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Shopkeep's spans into memory. The test session disables the SDK (``tests/conftest.py`` sets
    OTEL_SDK_DISABLED=true): this switches it on explicitly, for this test only."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "false")
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    yield exporter
    tracing.use_provider(None)
    provider.shutdown()


def _children(all_spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in all_spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def test_turns_nodes_tools_and_model_calls_are_spans_without_personal_data(
    spans: InMemorySpanExporter, service_for: ServiceFor, counter: TokenCounter
) -> None:
    model = ScriptedChatModel(
        steps=[
            call("find_user_id_by_email", email=EMAIL),
            say("You're verified."),
            call("cancel_pending_order", order_id=PENDING_ORDER, reason="no longer needed"),
            say("Cancelled."),
        ]
    )
    service = service_for(remote(model, counter))
    cid = service.start()
    verified = service.send(cid, f"hi, I'm {EMAIL}, my card is {CARD}")
    user_id = str(verified.tool_calls[0].output)
    assert service.send(cid, f"cancel {PENDING_ORDER}, no longer needed").awaiting_confirmation
    assert service.send(cid, "yes").tool_calls[0].ok
    model.assert_done()
    finished = list(spans.get_finished_spans())

    turns = [s for s in finished if s.name == "invoke_agent shopkeep"]
    assert [t.attributes and t.attributes["shopkeep.turn.outcome"] for t in turns] == [
        "replied",
        "awaiting_confirmation",
        "replied",
    ]
    for turn in turns:
        assert turn.parent is None
        assert turn.attributes is not None
        assert turn.attributes["gen_ai.operation.name"] == "invoke_agent"
        assert turn.attributes["gen_ai.agent.name"] == "shopkeep"
        assert turn.attributes["gen_ai.conversation.id"] == cid
        assert turn.attributes["gen_ai.usage.input_tokens"] > 0
        assert turn.status.status_code is not StatusCode.ERROR

    first = _children(finished, turns[0])
    assert [s.name for s in first] == [
        "node input_guard",
        "node router",
        "invoke_agent orders",
        "node tools",
        "invoke_agent orders",
        "node output_guard",
    ]
    agent, tools = first[2], first[3]
    assert agent.attributes is not None and agent.attributes["gen_ai.agent.name"] == "orders"
    (chat,) = _children(finished, agent)
    assert chat.name == "chat scripted-1" and chat.kind is SpanKind.CLIENT
    assert chat.attributes is not None
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.provider.name"] == "scripted"
    assert chat.attributes["gen_ai.request.model"] == "scripted-1"
    assert chat.attributes["gen_ai.usage.input_tokens"] > 0
    assert chat.attributes["gen_ai.usage.output_tokens"] > 0
    (lookup,) = _children(finished, tools)
    assert lookup.name == "execute_tool find_user_id_by_email"
    assert lookup.attributes is not None
    assert lookup.attributes["gen_ai.operation.name"] == "execute_tool"
    assert lookup.attributes["gen_ai.tool.name"] == "find_user_id_by_email"
    assert lookup.attributes["gen_ai.tool.type"] == "function"
    assert str(lookup.attributes["gen_ai.tool.call.id"]).startswith("call_")

    # the proposal: the cancel is rehearsed, the graph pauses (not an error), and runs for real after the yes
    cancels = [s for s in finished if s.name == "execute_tool cancel_pending_order"]
    assert [c.attributes and c.attributes["shopkeep.tool.rehearsal"] for c in cancels] == [True, True, False]
    paused = next(s for s in _children(finished, turns[1]) if s.name == "node tools")
    assert paused.attributes is not None and paused.attributes["shopkeep.interrupted"] is True
    assert paused.status.status_code is not StatusCode.ERROR
    assert {c.context.trace_id for c in cancels[1:]} == {turns[2].context.trace_id}

    recorded = json.dumps([dict(s.attributes or {}) for s in finished] + [s.name for s in finished])
    for secret in (EMAIL, user_id, "Emma", "Smith", CARD, CARD.replace(" ", ""), "4242", "no longer needed"):
        assert secret not in recorded, secret


def test_a_failing_tool_marks_its_span(
    spans: InMemorySpanExporter, service_for: ServiceFor, counter: TokenCounter
) -> None:
    unknown = "nobody@example.com"
    model = ScriptedChatModel(steps=[call("find_user_id_by_email", email=unknown), say("I can't find you.")])
    service = service_for(remote(model, counter))
    assert not service.send(service.start(), f"I'm {unknown}").tool_calls[0].ok
    (failed,) = [s for s in spans.get_finished_spans() if s.name == "execute_tool find_user_id_by_email"]
    assert failed.attributes is not None and failed.attributes["error.type"] == "tool_error"
    assert failed.status.status_code is StatusCode.ERROR


class LoggingModel(ScriptedChatModel):
    """Logs through the standard library while it answers, as a provider's HTTP client does."""

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        logging.getLogger("provider.http").warning("POST /v1/chat/completions 200")
        return super()._generate(messages, stop, run_manager, **kw)


def test_every_log_line_of_a_turn_carries_the_conversation_and_trace_ids(
    spans: InMemorySpanExporter,
    service_for: ServiceFor,
    counter: TokenCounter,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in production: no handler but Shopkeep's
    configure_logging(Settings(log_format="json"))
    try:
        model = LoggingModel(steps=[say("Hello!")])
        service = service_for(remote(model, counter))
        cid = service.start()
        capsys.readouterr()
        service.send(cid, "hello")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    finally:
        structlog.reset_defaults()
    (turn,) = [s for s in spans.get_finished_spans() if s.name == "invoke_agent shopkeep"]
    events = {line["event"] for line in lines}
    assert {"POST /v1/chat/completions 200", "turn_completed"} <= events
    for line in lines:
        assert line["conversation_id"] == cid, line
        assert line["trace_id"] == format_trace_id(turn.context.trace_id), line


def test_a_conversation_id_from_a_request_path_is_redacted_unless_shopkeep_made_it() -> None:
    def bound(conversation_id: str) -> object:
        bind_log_context(conversation_id)
        return structlog.contextvars.get_contextvars()["conversation_id"]

    made = "5fa11746148e4ba5bcab3908116f9944"
    assert contextvars.copy_context().run(bound, made) == made
    assert contextvars.copy_context().run(bound, "mei.ahmed5231@example.com") == "[email]"
