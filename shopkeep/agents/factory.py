"""Wiring: the conversation service on a store, a checkpointer and the configured brains."""

from __future__ import annotations

from typing import Any

from shopkeep.llm.local.nlu import NLU

from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.routing import LocalRouter
from shopkeep.agents.service import ConversationService
from shopkeep.agents.state import AgentName
from shopkeep.agents.toolkit import agent_registry
from shopkeep.llm.local.brain import LocalBrain
from shopkeep.llm.local.policies import POLICIES
from shopkeep.settings import Settings
from shopkeep.store.base import CommerceStore


def local_brains(nlu: NLU) -> Any:
    brains = {agent: LocalBrain(agent=agent, nlu=nlu, policies=POLICIES) for agent in POLICIES}

    def brain_for(agent: AgentName) -> LocalBrain:
        return brains[agent]

    return brain_for


def build_service(
    settings: Settings, store: CommerceStore, checkpointer: Any, *, nlu: NLU | None = None
) -> ConversationService:
    """A ready conversation service (the local brain; LLM providers come through settings later)."""
    nlu = nlu or NLU.load(settings)
    deps = AgentDeps(
        store=store, brains=local_brains(nlu), router=LocalRouter(nlu), registry=agent_registry(), max_steps=20
    )
    return ConversationService(build_graph(deps, checkpointer=checkpointer), store)
