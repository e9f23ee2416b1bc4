"""The small nodes around the specialists: input guard, router, human mode (the output guard: ``output_guard``)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.state import ConversationState
from shopkeep.guardrails.rails import INPUT_RAILS, run_rails

EMPTY_MESSAGE = "I didn't get a message there. What can I help you with?"


def input_guard(state: ConversationState) -> dict[str, Any]:
    """Runs the input rails on the new customer message (rewriting it in place) and starts a fresh turn."""
    last = state["messages"][-1]
    text = str(last.content)
    guarded, trips = run_rails(INPUT_RAILS, text)
    update: dict[str, Any] = {
        "steps": 0,
        "reroute": False,
        "notices": [t.reason for t in trips if t.reason],
        "rail_trips": [t.event() for t in trips],
    }
    if guarded != text:
        update["messages"] = [HumanMessage(content=guarded, id=last.id)]
    if not guarded.strip():
        update["messages"] = [AIMessage(content=EMPTY_MESSAGE)]
    return update


def after_input(state: ConversationState) -> str:
    if isinstance(state["messages"][-1], AIMessage):
        return "output_guard"
    return "human" if state.get("mode") == "human" else "router"


def router_node(deps: AgentDeps) -> Any:
    def run(state: ConversationState) -> dict[str, Any]:
        text = next(str(m.content) for m in reversed(state["messages"]) if isinstance(m, HumanMessage))
        route = deps.router.route(text, state)
        return {"active_agent": route.agent, "intent": route.intent, "confidence": route.confidence, "reroute": False}

    return run


def human_mode(state: ConversationState) -> dict[str, Any]:
    """A human agent owns the conversation: the bot records the message and stays silent."""
    return {}
