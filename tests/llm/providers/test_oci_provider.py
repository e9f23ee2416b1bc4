"""The ``oci`` provider through the real graph on recorded OCI Generative AI exchanges (no network, no keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shopkeep.agents.state import AGENTS
from shopkeep.agents.toolkit import AGENT_TOOLS
from shopkeep.llm.oci import convert_tools
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.llm.providers import brain_factory
from shopkeep.settings import LLMSettings, Settings
from tests.llm.providers.oci_replay import ENDPOINT, replaying_client
from tests.llm.providers.support import ServiceFor
from tests.support.scripted_model import ScriptedChatModel, say

# langchain-oci warns that a tool-call-only reply has no text (see shopkeep/llm/oci.py); pytest turns it into an error.
pytestmark = pytest.mark.filterwarnings("ignore:GenericProvider could not extract text:UserWarning")

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaatestonlycompartment"
MODEL = "meta.llama-3.3-70b-instruct"


def oci_settings(tmp_path: Path, **llm: Any) -> Settings:
    values: dict[str, Any] = {
        "provider": "oci",
        "model": MODEL,
        "oci_compartment_id": COMPARTMENT,
        "oci_service_endpoint": ENDPOINT,
        "max_retries": 0,
    }
    return Settings(var_dir=tmp_path / "var", llm=LLMSettings(**{**values, **llm}))


def test_a_tool_call_and_a_reply_on_recorded_exchanges(
    service_for: ServiceFor, tmp_path: Path, prompts: PromptRegistry
) -> None:
    client, replay = replaying_client("oci_orders_chat.json")
    settings = oci_settings(tmp_path)
    service = service_for(brain_factory(settings, AGENTS, lambda _a: ScriptedChatModel(steps=[]), transport=client))
    cid = service.start()
    result = service.send(cid, "hi, it's emma.smith3991@example.com")
    assert result.reply == "Thanks, Emma, you're verified. Which order can I help with?"
    assert [(c.name, c.ok) for c in result.tool_calls] == [("find_user_id_by_email", True)]
    first, second = replay.bodies()
    assert first["compartmentId"] == COMPARTMENT
    assert first["servingMode"] == {"servingType": "ON_DEMAND", "modelId": MODEL}
    chat = first["chatRequest"]
    assert chat["apiFormat"] == "GENERIC" and not chat.get("isParallelToolCalls")
    assert [t["name"] for t in chat["tools"]] == list(AGENT_TOOLS["orders"])
    assert chat["messages"][0]["role"] == "SYSTEM"
    assert chat["messages"][0]["content"][0]["text"] == prompts.resolve("orders").text
    tool_result = second["chatRequest"]["messages"][-1]
    assert tool_result["role"] == "TOOL" and tool_result["toolCallId"] == "chatcmpl-tool-7f3a"
    usage = [e.payload for e in service.transcript(cid) if e.kind == "usage"]
    assert usage[0]["input_tokens"] == 1712 + 1761 and usage[0]["llm_calls"] == 2
    replay.assert_done()


def test_an_unavailable_service_is_retried_then_falls_back_to_the_local_brain(
    service_for: ServiceFor, tmp_path: Path
) -> None:
    client, replay = replaying_client("oci_unavailable.json", max_retries=1)
    local = ScriptedChatModel(steps=[say("The local brain answers.")])
    settings = oci_settings(tmp_path, max_retries=1)
    service = service_for(brain_factory(settings, AGENTS, lambda _a: local, transport=client), "support")
    cid = service.start()
    assert service.send(cid, "hello").reply == "The local brain answers."
    [fallback] = [e.payload for e in service.transcript(cid) if e.kind == "llm_fallback"]
    assert fallback["provider"] == "oci" and "429" in fallback["fallback_reason"]
    replay.assert_done()
    local.assert_done()


def test_tool_schemas_are_converted_for_langchain_oci() -> None:
    schema = {
        "type": "function",
        "function": {
            "name": "get_order_details",
            "description": "Get an order.",
            "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
        },
    }
    assert convert_tools([schema]) == [
        {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
            "title": "get_order_details",
            "description": "Get an order.",
        }
    ]
