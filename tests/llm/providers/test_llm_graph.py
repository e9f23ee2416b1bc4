"""The graph on an LLM brain, driven by the strict scripted model: registry prompts, one tool call at a time,
malformed calls sent back once then a safe reply, bounded loops, fallback to the local brain, usage and variants."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import Field

from shopkeep.agents.toolkit import AGENT_TOOLS
from shopkeep.llm.binding import ToolBindingChatModel
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.llm.remote import RemoteBrain
from shopkeep.llm.tokens import TokenCounter
from shopkeep.replies import reply
from shopkeep.store import SqlCommerceStore
from tests.llm.providers.support import Down, ServiceFor, experiment_registry, remote
from tests.support.scripted_model import ScriptedChatModel, call, say

EMAIL = "emma.smith3991@example.com"
PENDING_ORDER = "#W2417020"


class KwargsScripted(ScriptedChatModel):
    """The scripted model, also keeping the keyword arguments of every call (tools, parallel_tool_calls)."""

    kwargs_seen: list[dict[str, Any]] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.kwargs_seen.append(kwargs)
        return super()._generate(messages, stop, run_manager, **kwargs)


def malformed(name: str = "get_order_details") -> AIMessage:
    return AIMessage(
        content="",
        invalid_tool_calls=[
            {"name": name, "args": "{order_id: W24", "id": "call_bad", "error": "not JSON", "type": "invalid_tool_call"}
        ],
    )


def test_the_specialist_sends_its_registry_prompt_and_only_its_tools(
    service_for: ServiceFor, counter: TokenCounter, prompts: PromptRegistry
) -> None:
    model = KwargsScripted(steps=[call("find_user_id_by_email", email=EMAIL), say("You're verified.")])
    service = service_for(remote(model, counter, tool_kwargs={"parallel_tool_calls": False}))
    cid = service.start()
    result = service.send(cid, f"hi, I'm {EMAIL}")
    assert result.reply == "You're verified."
    system = model.calls[0][0]
    assert isinstance(system, SystemMessage)
    assert system.content == prompts.resolve("orders").text
    assert system.additional_kwargs["prompt"] == "orders@1"
    assert "## Pending orders: cancel or modify" in str(system.content)  # the store policy, included by reference
    names = [t["function"]["name"] for t in model.kwargs_seen[0]["tools"]]
    assert names == list(AGENT_TOOLS["orders"])
    assert model.kwargs_seen[0]["parallel_tool_calls"] is False
    model.assert_done()


def test_a_second_tool_call_in_one_reply_is_refused_not_run(service_for: ServiceFor, counter: TokenCounter) -> None:
    double = call("find_user_id_by_email", email=EMAIL)
    double.tool_calls.append({"name": "get_order_details", "args": {"order_id": PENDING_ORDER}, "id": "second"})
    model = ScriptedChatModel(steps=[double, say("Verified; which order?")])
    service = service_for(remote(model, counter))
    result = service.send(service.start(), EMAIL)
    assert [(c.name, c.ok) for c in result.tool_calls] == [
        ("find_user_id_by_email", True),
        ("get_order_details", False),
    ]
    refused = [m for m in model.calls[1] if isinstance(m, ToolMessage) and m.tool_call_id == "second"]
    assert "one at a time" in str(refused[0].content)
    model.assert_done()


def test_a_malformed_call_goes_back_once_as_a_structured_error(service_for: ServiceFor, counter: TokenCounter) -> None:
    model = ScriptedChatModel(
        steps=[malformed("find_user_id_by_email"), call("find_user_id_by_email", email=EMAIL), say("Verified.")]
    )
    service = service_for(remote(model, counter))
    cid = service.start()
    result = service.send(cid, EMAIL)
    assert result.reply == "Verified."
    assert [(c.name, c.ok) for c in result.tool_calls] == [("find_user_id_by_email", True)]
    retry = model.calls[1]
    error = retry[-1]
    assert isinstance(error, ToolMessage) and error.status == "error" and error.tool_call_id == "call_bad"
    assert "could not be read" in str(error.content) and "JSON object" in str(error.content)
    assert isinstance(retry[-2], AIMessage) and retry[-2].tool_calls[0]["id"] == "call_bad"  # the pair stays whole
    repaired = [e for e in service.transcript(cid) if e.kind == "usage"]
    assert repaired and repaired[-1].payload["llm_calls"] == 3
    model.assert_done()


@pytest.mark.parametrize(
    ("first", "second", "fragment"),
    [
        (malformed(), malformed(), "could not be read"),
        (call("drop_database"), call("drop_database"), "there is no tool 'drop_database'"),
        (call("get_order_details"), call("get_order_details", order="x"), "missing 'order_id'"),
    ],
)
def test_two_bad_replies_in_a_row_end_in_a_safe_reply(
    service_for: ServiceFor, counter: TokenCounter, first: AIMessage, second: AIMessage, fragment: str
) -> None:
    model = ScriptedChatModel(steps=[first, second])
    service = service_for(remote(model, counter))
    result = service.send(service.start(), "where is my order?")
    assert result.reply == reply("graph.model_failed")
    assert result.tool_calls == []  # nothing ran
    assert fragment in str(model.calls[1][-1].content)
    model.assert_done()


def test_arguments_the_tool_rejects_come_back_from_the_tools_node(
    service_for: ServiceFor, counter: TokenCounter
) -> None:
    model = ScriptedChatModel(
        steps=[
            call("find_user_id_by_email", email=12345),
            call("find_user_id_by_email", email=EMAIL),
            say("Found you."),
        ]
    )
    service = service_for(remote(model, counter))
    result = service.send(service.start(), EMAIL)
    assert [(c.name, c.ok) for c in result.tool_calls] == [
        ("find_user_id_by_email", False),
        ("find_user_id_by_email", True),
    ]
    assert "email" in str(model.calls[1][-1].content)
    model.assert_done()


def test_a_model_that_loops_is_stopped_by_the_step_budget(service_for: ServiceFor, counter: TokenCounter) -> None:
    model = ScriptedChatModel(steps=[call("list_all_product_types") for _ in range(3)])
    service = service_for(remote(model, counter, agent="catalog"), agent="catalog", max_steps=3)
    result = service.send(service.start(), "what do you sell?")
    assert result.reply == reply("graph.too_many_steps")
    assert len(result.tool_calls) == 3
    model.assert_done()


def test_prose_instead_of_a_tool_call_is_just_a_reply(service_for: ServiceFor, counter: TokenCounter) -> None:
    model = ScriptedChatModel(steps=[say("Your order is on its way, I'm sure.")])
    service = service_for(remote(model, counter))
    result = service.send(service.start(), "cancel #W2417020")
    assert result.tool_calls == [] and not result.awaiting_confirmation
    model.assert_done()


def test_consequential_calls_still_wait_for_a_yes(
    service_for: ServiceFor, counter: TokenCounter, sqlite_store: SqlCommerceStore
) -> None:
    model = ScriptedChatModel(
        steps=[
            call("find_user_id_by_email", email=EMAIL),
            call("cancel_pending_order", order_id=PENDING_ORDER, reason="no longer needed"),
            say("Cancelled."),
        ]
    )
    service = service_for(remote(model, counter))
    cid = service.start()
    asked = service.send(cid, f"{EMAIL}: cancel {PENDING_ORDER}, no longer needed")
    assert asked.awaiting_confirmation
    with sqlite_store.session() as s:
        order = s.get_order(PENDING_ORDER)
    assert order is not None and order.status.value == "pending"
    done = service.send(cid, "yes")
    assert [(c.name, c.ok) for c in done.tool_calls] == [("cancel_pending_order", True)]
    model.assert_done()


def test_a_dead_provider_falls_back_to_the_local_brain_and_is_recorded(
    service_for: ServiceFor, counter: TokenCounter
) -> None:
    local = ScriptedChatModel(steps=[say("Local brain here: how can I help?")])
    brain = remote(
        Down(error=ConnectionError("connection refused")),
        counter,
        fallback=local,
        unavailable=lambda exc: isinstance(exc, ConnectionError),
    )
    service = service_for(brain)
    cid = service.start()
    result = service.send(cid, "hello")
    assert result.reply == "Local brain here: how can I help?"
    assert isinstance(local.calls[0][0], SystemMessage) and local.calls[0][-1].content == "hello"
    fallbacks = [e for e in service.transcript(cid) if e.kind == "llm_fallback"]
    assert len(fallbacks) == 1
    assert (
        fallbacks[0].payload["provider"] == "scripted"
        and "connection refused" in fallbacks[0].payload["fallback_reason"]
    )
    local.assert_done()


def test_other_provider_errors_are_not_hidden(service_for: ServiceFor, counter: TokenCounter) -> None:
    brain = remote(
        Down(error=ValueError("401 invalid api key")),
        counter,
        fallback=ScriptedChatModel(steps=[]),
        unavailable=lambda exc: isinstance(exc, ConnectionError),
    )
    service = service_for(brain)
    with pytest.raises(ValueError, match="invalid api key"):
        service.send(service.start(), "hello")


def test_usage_is_recorded_per_turn_and_per_conversation(service_for: ServiceFor, counter: TokenCounter) -> None:
    model = ScriptedChatModel(steps=[call("find_user_id_by_email", email=EMAIL), say("Verified."), say("Bye!")])
    service = service_for(remote(model, counter))
    cid = service.start()
    service.send(cid, EMAIL)
    service.send(cid, "thanks")
    usage = [e.payload for e in service.transcript(cid) if e.kind == "usage"]
    assert [u["llm_calls"] for u in usage] == [2, 1]
    first, second = usage
    assert first["input_tokens"] > 1000 and first["output_tokens"] > 0  # the orders prompt alone is ~1,500 tokens
    assert second["conversation"]["input_tokens"] == first["input_tokens"] + second["input_tokens"]
    assert second["conversation"]["llm_calls"] == 3
    model.assert_done()


def test_each_conversation_keeps_one_variant_recorded_on_every_event(
    service_for: ServiceFor, counter: TokenCounter
) -> None:
    registry = experiment_registry()
    seen: dict[str, str] = {}
    for _ in range(12):
        model = ScriptedChatModel(steps=[say("Hi!"), say("Sure.")])
        service = service_for(remote(model, counter), registry=registry)
        cid = service.start()
        service.send(cid, "hello")
        service.send(cid, "and again")
        variants = {e.variant for e in service.transcript(cid)}
        assert len(variants) == 1
        variant = variants.pop()
        assert variant == registry.experiment.assign(cid)
        assert variant is not None
        seen[cid] = variant
        prompt = model.calls[0][0].additional_kwargs["prompt"]
        assert prompt == ("orders@2" if variant == "terse" else "orders@1")
        assert model.calls[1][0].additional_kwargs["prompt"] == prompt
        model.assert_done()
    assert set(seen.values()) == {"control", "terse"}


def test_no_experiment_records_no_variant(service_for: ServiceFor, counter: TokenCounter) -> None:
    model = ScriptedChatModel(steps=[say("Hi!")])
    service = service_for(remote(model, counter))
    cid = service.start()
    service.send(cid, "hello")
    assert {e.variant for e in service.transcript(cid)} == {None}


def test_the_local_brain_path_is_unchanged_by_the_registry(service_for: ServiceFor) -> None:
    model = ScriptedChatModel(steps=[say("Hello!")])
    service = service_for(model, agent="support")
    cid = service.start()
    assert service.send(cid, "hi").reply == "Hello!"
    assert not [e for e in service.transcript(cid) if e.kind == "usage"]  # no LLM call was made
    model.assert_done()


def test_remote_brain_is_a_chat_model(counter: TokenCounter) -> None:
    brain = remote(ScriptedChatModel(steps=[say("ok")]), counter)
    assert isinstance(brain, RemoteBrain) and isinstance(brain, BaseChatModel)
    reply = brain.invoke("hi")
    assert reply.content == "ok" and reply.response_metadata["shopkeep"]["llm_calls"] == 1


class StreamingScripted(ToolBindingChatModel):
    """Streams each scripted reply as the given chunks."""

    steps: list[list[AIMessageChunk]]

    @property
    def _llm_type(self) -> str:
        return "streaming-scripted"

    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        for chunk in self.steps.pop(0):
            yield ChatGenerationChunk(message=chunk)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        raise AssertionError("this model only streams")


def test_a_streamed_reply_that_stays_malformed_still_ends_in_the_safe_reply(counter: TokenCounter) -> None:
    def bad() -> list[AIMessageChunk]:
        broken = {"name": "get_order_details", "args": '{"order_id": ', "id": "c1", "index": 0}
        return [AIMessageChunk(content="Let me check. "), AIMessageChunk(content="", tool_call_chunks=[broken])]

    brain = remote(StreamingScripted(steps=[bad(), bad()]), counter)
    parameters = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
    tools = [{"type": "function", "function": {"name": "get_order_details", "parameters": parameters}}]
    chunks = list(brain.bind_tools(tools).stream("where is my order?"))
    text = "".join(str(c.content) for c in chunks)
    assert (
        text == f"Let me check. Let me check. {reply('graph.model_failed')}"
    )  # the cut-off JSON parses to {}: order_id missing
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert isinstance(merged, AIMessageChunk) and not merged.tool_calls
    assert merged.response_metadata["shopkeep"]["safe_reply"] is True
