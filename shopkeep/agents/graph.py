"""The LangGraph graph: input guard -> router -> specialists <-> tools -> output guard.

``build_graph`` takes every dependency; the topology is pinned by a snapshot test of ``draw_mermaid()``. Every node
runs inside its own span (``agents.telemetry.traced_node``).
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.nodes import after_input, human_mode, input_guard_node, router_node, takes_up_queued
from shopkeep.agents.output_guard import output_guard_node
from shopkeep.agents.specialists import agent_node
from shopkeep.agents.state import AGENTS, ConversationState
from shopkeep.agents.telemetry import Node, traced_node
from shopkeep.agents.tools_node import tools_node


def _after_agent(state: ConversationState) -> str:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else "output_guard"


def _after_router(state: ConversationState) -> str:
    return state.get("active_agent") or "support"


def _after_output(state: ConversationState) -> str:
    return "router" if takes_up_queued(state) else END


def _after_tools(state: ConversationState) -> str:
    return "router" if state.get("reroute") else state.get("active_agent") or "support"


def build_graph(deps: AgentDeps, checkpointer: Any = None) -> CompiledStateGraph[Any, Any, Any, Any]:
    graph = StateGraph(ConversationState)
    nodes: dict[str, Node] = {
        "input_guard": input_guard_node(deps.input_rails),
        "router": router_node(deps),
        "human": human_mode,
        **{agent: agent_node(agent, deps) for agent in AGENTS},
        "tools": tools_node(deps),
        "output_guard": output_guard_node(deps),
    }
    for name, node in nodes.items():
        graph.add_node(name, traced_node(name, node))

    graph.add_edge(START, "input_guard")
    graph.add_conditional_edges("input_guard", after_input, ["router", "human", "output_guard"])
    graph.add_conditional_edges("router", _after_router, list(AGENTS))
    for agent in AGENTS:
        graph.add_conditional_edges(agent, _after_agent, ["tools", "output_guard"])
    graph.add_conditional_edges("tools", _after_tools, ["router", *AGENTS])
    graph.add_edge("human", END)
    graph.add_conditional_edges("output_guard", _after_output, ["router", END])
    return graph.compile(checkpointer=checkpointer)
