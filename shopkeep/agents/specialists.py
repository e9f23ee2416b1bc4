"""The specialist node: one brain, one system instruction, one tool list per agent."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, SystemMessage

from shopkeep import replies
from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.state import AgentName, ConversationState
from shopkeep.agents.toolkit import tool_schemas

INSTRUCTIONS: dict[AgentName, str] = {
    "catalog": "You help customers find products: search, details, comparisons, recommendations.",
    "cart": "You manage the customer's cart: add, remove, change quantities, show it with totals.",
    "checkout": "You take the customer from cart to a confirmed order proposal.",
    "orders": (
        "You help authenticated customers with their orders: status and tracking, cancel, change address, items or "
        "payment of pending orders, return or exchange delivered ones, following the store policy."
    ),
    "account": "You identify customers (email, or name and zip) and help with their profile and default address.",
    "support": "You answer questions about store policies from the knowledge base, citing sources.",
    "escalation": "You hand the conversation to a human agent with a clear summary.",
}


def agent_node(agent: AgentName, deps: AgentDeps) -> Any:
    """A graph node that asks the agent's brain for its next step (a reply or one tool call)."""

    def run(state: ConversationState) -> dict[str, Any]:
        steps = state.get("steps", 0) + 1
        if steps > deps.max_steps:
            return {"messages": [AIMessage(content=replies.reply("graph.too_many_steps"))], "steps": steps}
        brain = deps.brains(agent).bind_tools(tool_schemas(deps.registry, agent))
        if deps.prompts is not None:
            prompt = [deps.prompts.system_message(agent, state)]
        else:
            prompt = [SystemMessage(content=INSTRUCTIONS[agent], additional_kwargs={"agent": agent})]
        handback = state.get("handback")
        if handback:
            prompt = [_with_handback(prompt[0], handback)]
        reply = brain.invoke([*prompt, *state.get("messages", [])])
        return {"messages": [reply], "active_agent": agent, "steps": steps}

    return run


def _with_handback(system: Any, handback: dict[str, Any]) -> SystemMessage:
    """The system instruction, told that a person worked on the conversation and what their note says."""
    note = str(handback.get("note") or "").strip() or "(no note)"
    told = (
        f"{system.content}\n\nA human colleague ({handback.get('agent') or 'support'}) took over this conversation "
        f"and has handed it back to you. Their note for you: {note}"
    )
    return SystemMessage(content=told, additional_kwargs=dict(system.additional_kwargs))
