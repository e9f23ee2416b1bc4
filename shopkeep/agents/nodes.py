"""The small nodes around the specialists: input guard, router, human mode (the output guard: ``output_guard``)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from shopkeep.agents.deps import AgentDeps, Route
from shopkeep.agents.state import ConversationState
from shopkeep.guardrails.abuse import NAME as ABUSE
from shopkeep.guardrails.rails import INPUT_RAILS, Rail, run_rails
from shopkeep.llm.local.dialog import asks_for_answer
from shopkeep.replies import reply

# Abuse trips in one conversation from which the refusal also offers a human colleague.
ABUSE_BEFORE_HUMAN_OFFER = 1


def input_guard_node(rails: tuple[Rail, ...] = INPUT_RAILS) -> Any:
    """The input guard over ``rails`` (``AgentDeps.input_rails``)."""

    def input_guard(state: ConversationState) -> dict[str, Any]:
        """Runs the input rails on the new customer message (rewriting it in place) and starts a fresh turn.

        A blocking trip (prompt injection, abuse) answers with the rail's reply, and the message is replaced by a
        placeholder, so no model reads it in this turn or any later one (the transcript keeps the original). While
        a human owns the conversation the trips are recorded and the bot stays silent."""
        last = state["messages"][-1]
        text = str(last.content)
        guarded, trips = run_rails(rails, text)
        blocked = next((t for t in trips if t.blocked), None)
        update: dict[str, Any] = {
            "steps": 0,
            "reroute": False,
            "notices": [t.reason for t in trips if t.reason and not t.blocked],
            "rail_trips": [t.event() for t in trips],
        }
        if blocked is not None and state.get("mode") != "human":
            refusal = blocked.reason
            earlier = sum(1 for trip in state.get("rail_trips") or [] if trip.get("rail") == ABUSE)
            if blocked.name == ABUSE and earlier >= ABUSE_BEFORE_HUMAN_OFFER:
                refusal = f"{refusal} {reply('guardrails.abuse_human_offer')}"
            withheld = HumanMessage(content=f"[message withheld by the {blocked.name} guardrail]", id=last.id)
            update["messages"] = [withheld, AIMessage(content=refusal)]
            return update
        if guarded != text:
            update["messages"] = [HumanMessage(content=guarded, id=last.id)]
        if not guarded.strip():
            update["messages"] = [AIMessage(content=reply("graph.empty_message"))]
        return update

    return input_guard


def after_input(state: ConversationState) -> str:
    if isinstance(state["messages"][-1], AIMessage):
        return "output_guard"
    return "human" if state.get("mode") == "human" else "router"


QUEUED = "queued"
"""The name of the customer message the graph takes up from a queued second request (``queued_request``)."""


def router_node(deps: AgentDeps) -> Any:
    def run(state: ConversationState) -> dict[str, Any]:
        """Routes the customer's message. A message holding two requests is routed by the first and the second is
        queued (the customer is told); once the first is done, the graph comes back here and the second is routed
        as the customer's next message."""
        queued = state.get("queued_request")
        if queued and isinstance(state["messages"][-1], AIMessage):
            route = deps.router.route(queued, state)
            return {
                "messages": [HumanMessage(content=queued, name=QUEUED)],
                "queued_request": None,
                "notices": [],  # shown with the first reply already
                "steps": 0,
                **_routed(route),
            }
        text = next(str(m.content) for m in reversed(state["messages"]) if isinstance(m, HumanMessage))
        route = deps.router.route(text, state)
        update = _routed(route)
        if route.queued:
            update["queued_request"] = route.queued
            update["notices"] = [*(state.get("notices") or []), reply("base.queued", request=route.queued)]
        return update

    return run


def _routed(route: Route) -> dict[str, Any]:
    return {"active_agent": route.agent, "intent": route.intent, "confidence": route.confidence, "reroute": False}


def takes_up_queued(state: ConversationState) -> bool:
    """The reply just given finished a request and waits for nothing, and a second request is queued."""
    last = state["messages"][-1]
    if not state.get("queued_request") or state.get("mode", "bot") != "bot" or not isinstance(last, AIMessage):
        return False
    # the notices put in front of the reply (the queued request's own words among them) are not its question
    own = str(last.content).removeprefix(" ".join(state.get("notices") or []))
    return not last.response_metadata.get("expects") and not asks_for_answer(own)


def human_mode(state: ConversationState) -> dict[str, Any]:
    """A human agent owns the conversation: the bot records the message and stays silent."""
    return {}
