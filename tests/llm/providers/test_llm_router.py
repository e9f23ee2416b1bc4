"""Routing by an LLM: one ``route`` call with the router prompt; anything else falls back to the offline router."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from shopkeep.agents.state import ConversationState
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.llm.router import ROUTE_TOOL, LLMRouter
from tests.llm.providers.support import Down, FixedRouter
from tests.support.scripted_model import ScriptedChatModel, call, say

STATE: ConversationState = {
    "conversation_id": "c1",
    "messages": [
        HumanMessage(content="hi"),
        AIMessage(content="", tool_calls=[{"name": "view_cart", "args": {}, "id": "1"}]),
        AIMessage(content="Hello! How can I help?"),
        HumanMessage(content="add two red mugs to my cart"),
    ],
}


def test_the_model_routes_with_the_router_prompt(prompts: PromptRegistry) -> None:
    model = ScriptedChatModel(steps=[call("route", agent="cart", intent="add to cart")])
    route = LLMRouter(model, prompts, FixedRouter("support")).route("add two red mugs to my cart", STATE)
    assert (route.agent, route.intent) == ("cart", "add to cart")
    sent = model.calls[0]
    assert isinstance(sent[0], SystemMessage) and sent[0].additional_kwargs["prompt"] == "router@1"
    assert [m.content for m in sent[1:]] == ["hi", "Hello! How can I help?", "add two red mugs to my cart"]
    assert ROUTE_TOOL["function"]["parameters"]["properties"]["agent"]["enum"][0] == "catalog"
    model.assert_done()


def test_no_call_an_unknown_agent_or_a_failure_falls_back(prompts: PromptRegistry) -> None:
    fallback = FixedRouter("support")
    for model in (
        ScriptedChatModel(steps=[say("I think cart")]),
        ScriptedChatModel(steps=[call("route", agent="billing")]),
        Down(error=ConnectionError("down")),
    ):
        assert LLMRouter(model, prompts, fallback).route("hello", STATE).agent == "support"
