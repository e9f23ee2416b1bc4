"""The ``openai`` provider end to end through the real graph, against an in-process OpenAI-compatible server:
chat completions with tools, malformed arguments, streaming, 500/429 with retries, timeouts, a dead server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import SecretStr

from shopkeep.agents.factory import build_service
from shopkeep.agents.service import ConversationService
from shopkeep.agents.state import AGENTS
from shopkeep.agents.toolkit import AGENT_TOOLS
from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.llm.providers import brain_factory
from shopkeep.llm.remote import RemoteBrain
from shopkeep.llm.streaming import ReplyDelta, TurnDone, stream_turn
from shopkeep.settings import LLMSettings, Settings
from shopkeep.store import SqlCommerceStore
from tests.llm.providers.openai_server import (
    USAGE,
    OpenAIServer,
    error,
    free_port,
    reply,
    running_server,
    slow,
    streamed,
    tool_call,
)
from tests.llm.providers.support import ServiceFor
from tests.support.scripted_model import ScriptedChatModel, say

EMAIL = "emma.smith3991@example.com"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with running_server() as running:
        yield running


def settings_for(tmp_path: Path, base_url: str, **llm: Any) -> Settings:
    values: dict[str, Any] = {"provider": "openai", "model": "test-model", "base_url": base_url, "max_retries": 0}
    return Settings(var_dir=tmp_path / "var", llm=LLMSettings(**{**values, **llm}))


def openai_service(
    service_for: ServiceFor, settings: Settings, local: ScriptedChatModel | None = None, agent: Any = "orders"
) -> ConversationService:
    fallback = local or ScriptedChatModel(steps=[])
    return service_for(brain_factory(settings, AGENTS, lambda _agent: fallback), agent)


def kinds(service: ConversationService, cid: str, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in service.transcript(cid) if e.kind == kind]


def test_a_tool_call_and_a_reply_over_http(
    server: OpenAIServer, service_for: ServiceFor, tmp_path: Path, prompts: PromptRegistry
) -> None:
    server.script(tool_call("find_user_id_by_email", {"email": EMAIL}, "call_1"), reply("You're verified, Emma."))
    service = openai_service(service_for, settings_for(tmp_path, server.url, api_key=SecretStr("sk-test")))
    cid = service.start()
    result = service.send(cid, f"hi, {EMAIL}")
    assert result.reply == "You're verified, Emma."
    assert [(c.name, c.ok) for c in result.tool_calls] == [("find_user_id_by_email", True)]
    first, second = server.requests
    assert first["model"] == "test-model" and first["parallel_tool_calls"] is False
    assert [t["function"]["name"] for t in first["tools"]] == list(AGENT_TOOLS["orders"])
    assert first["messages"][0] == {"role": "system", "content": prompts.resolve("orders").text}
    assert first["messages"][-1] == {"role": "user", "content": f"hi, {EMAIL}"}
    tool_result = second["messages"][-1]
    assert tool_result["role"] == "tool" and tool_result["tool_call_id"] == "call_1"
    assert tool_result["content"] == "emma_smith_8564"
    assert server.headers[0]["authorization"] == "Bearer sk-test"
    usage = kinds(service, cid, "usage")
    assert usage == [
        {
            "input_tokens": 2 * USAGE["prompt_tokens"],
            "output_tokens": 2 * USAGE["completion_tokens"],
            "llm_calls": 2,
            "conversation": {
                "input_tokens": 2 * USAGE["prompt_tokens"],
                "output_tokens": 2 * USAGE["completion_tokens"],
                "llm_calls": 2,
            },
        }
    ]
    server.assert_done()


def test_no_api_key_is_needed_for_a_self_hosted_server(
    server: OpenAIServer, service_for: ServiceFor, tmp_path: Path
) -> None:
    server.script(reply("Hello!"))
    service = openai_service(service_for, settings_for(tmp_path, server.url), agent="support")
    assert service.send(service.start(), "hi").reply == "Hello!"
    assert server.headers[0]["authorization"] == "Bearer not-needed"


def test_malformed_arguments_go_back_to_the_model_once(
    server: OpenAIServer, service_for: ServiceFor, tmp_path: Path
) -> None:
    server.script(
        tool_call("find_user_id_by_email", '{"email": "emma', "call_bad"),
        tool_call("find_user_id_by_email", {"email": EMAIL}, "call_ok"),
        reply("Verified."),
    )
    service = openai_service(service_for, settings_for(tmp_path, server.url))
    result = service.send(service.start(), EMAIL)
    assert result.reply == "Verified."
    retry = server.requests[1]["messages"]
    assert retry[-2]["role"] == "assistant" and retry[-2]["tool_calls"][0]["id"] == "call_bad"
    assert retry[-1]["role"] == "tool" and retry[-1]["tool_call_id"] == "call_bad"
    assert retry[-1]["content"].startswith("Error: the call to 'find_user_id_by_email' could not be read")
    server.assert_done()


def test_an_unknown_tool_twice_ends_in_a_safe_reply(
    server: OpenAIServer, service_for: ServiceFor, tmp_path: Path
) -> None:
    server.script(tool_call("refund_everything", {}), tool_call("refund_everything", {}))
    service = openai_service(service_for, settings_for(tmp_path, server.url))
    result = service.send(service.start(), "refund me")
    assert "couldn't work that out" in result.reply and result.tool_calls == []
    server.assert_done()


@pytest.mark.parametrize("status", [500, 429])
def test_a_failed_request_is_retried(
    server: OpenAIServer, service_for: ServiceFor, tmp_path: Path, status: int
) -> None:
    server.script(error(status, {"retry-after-ms": "10"}), reply("Back again."))
    service = openai_service(service_for, settings_for(tmp_path, server.url, max_retries=1), agent="support")
    cid = service.start()
    assert service.send(cid, "hello").reply == "Back again."
    assert len(server.requests) == 2 and kinds(service, cid, "llm_fallback") == []
    server.assert_done()


def test_persistent_server_errors_fall_back_to_the_local_brain(
    server: OpenAIServer, service_for: ServiceFor, tmp_path: Path
) -> None:
    server.script(error(500, {"retry-after-ms": "10"}), error(503, {"retry-after-ms": "10"}))
    local = ScriptedChatModel(steps=[say("The local brain answers.")])
    service = openai_service(service_for, settings_for(tmp_path, server.url, max_retries=1), local, agent="support")
    cid = service.start()
    assert service.send(cid, "hello").reply == "The local brain answers."
    [fallback] = kinds(service, cid, "llm_fallback")
    assert fallback["provider"] == "openai" and fallback["agent"] == "support"
    assert "503" in fallback["fallback_reason"]
    local.assert_done()
    server.assert_done()


def test_a_timeout_falls_back_to_the_local_brain(server: OpenAIServer, service_for: ServiceFor, tmp_path: Path) -> None:
    server.script(slow(1.5, reply("too late")))
    local = ScriptedChatModel(steps=[say("The local brain answers.")])
    service = openai_service(service_for, settings_for(tmp_path, server.url, timeout_s=0.3), local, agent="support")
    cid = service.start()
    assert service.send(cid, "hello").reply == "The local brain answers."
    [fallback] = kinds(service, cid, "llm_fallback")
    assert "Timeout" in fallback["fallback_reason"]


def test_a_dead_server_falls_back_to_the_local_brain(service_for: ServiceFor, tmp_path: Path) -> None:
    local = ScriptedChatModel(steps=[say("Still here, offline.")])
    dead = f"http://127.0.0.1:{free_port()}/v1"
    service = openai_service(service_for, settings_for(tmp_path, dead), local, agent="support")
    cid = service.start()
    assert service.send(cid, "hello").reply == "Still here, offline."
    [fallback] = kinds(service, cid, "llm_fallback")
    assert "ConnectionError" in fallback["fallback_reason"]
    local.assert_done()


def test_streamed_tokens_pass_the_output_rails_sentence_by_sentence(
    server: OpenAIServer, service_for: ServiceFor, tmp_path: Path
) -> None:
    server.script(
        streamed("Your order ", "ships today. ", "Your card 4242 4242 ", "4242 4242 was not ", "charged. Bye!")
    )
    service = openai_service(service_for, settings_for(tmp_path, server.url), agent="support")
    cid = service.start()
    events = list(stream_turn(service, cid, "hello"))
    deltas = [e.text for e in events if isinstance(e, ReplyDelta)]
    done = events[-1]
    assert isinstance(done, TurnDone)
    assert deltas == ["Your order ships today. ", "Your card [card ending 4242] was not charged. ", "Bye!"]
    assert "".join(deltas) == done.turn.reply
    assert all("4242 4242" not in d for d in deltas)
    assert server.requests[0]["stream"] is True
    [usage] = kinds(service, cid, "usage")
    assert usage["input_tokens"] == USAGE["prompt_tokens"]
    server.assert_done()


@pytest.fixture(scope="module")
def nlu() -> NLU:
    return NLU.load(Settings())


def test_settings_alone_switch_the_service_to_the_openai_provider(
    server: OpenAIServer, sqlite_store: SqlCommerceStore, tmp_path: Path, nlu: NLU
) -> None:
    settings = settings_for(tmp_path, server.url)
    service = build_service(settings, sqlite_store, InMemorySaver(), nlu=nlu)
    server.script(reply("Hello from the model!"))
    cid = service.start()
    result = service.send(cid, "Hello there")
    assert result.reply == "Hello from the model!"
    assert server.requests[0]["messages"][0]["role"] == "system"
    server.assert_done()


def test_per_agent_overrides_pick_each_agents_model(tmp_path: Path, nlu: NLU) -> None:
    settings = Settings(
        var_dir=tmp_path / "var",
        llm=LLMSettings(
            provider="openai",
            model="big-model",
            base_url="http://127.0.0.1:9/v1",
            agents={"support": {"model": "small-model"}, "escalation": {"provider": "local"}},
        ),
    )
    from shopkeep.agents.factory import local_brains

    brains = brain_factory(settings, AGENTS, local_brains(nlu))
    orders, support, escalation = brains("orders"), brains("support"), brains("escalation")
    assert isinstance(orders, RemoteBrain) and orders.model_name == "big-model"
    assert isinstance(support, RemoteBrain) and support.model_name == "small-model"
    assert not isinstance(escalation, RemoteBrain)
    assert orders.fallback is not None and orders.fallback is not support.fallback
