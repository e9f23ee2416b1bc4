"""Fixtures for the LLM-path tests: an offline token counter, the prompt registry, services on any brain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.memory import InMemorySaver

from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.state import AgentName
from shopkeep.agents.toolkit import agent_registry
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.llm.tokens import TokenCounter
from shopkeep.store import SqlCommerceStore
from tests.llm.providers.support import POLICY, FixedRouter, ServiceFor


@pytest.fixture(scope="session")
def counter(tmp_path_factory: pytest.TempPathFactory) -> TokenCounter:
    return TokenCounter.offline(tmp_path_factory.mktemp("var"))


@pytest.fixture(scope="session")
def prompts() -> PromptRegistry:
    return PromptRegistry.load(POLICY)


@pytest.fixture
def service_for(sqlite_store: SqlCommerceStore, prompts: PromptRegistry) -> ServiceFor:
    """A service on the real graph and a fresh demo store; ``brain`` is one model for every agent, or a factory."""

    def make(
        brain: BaseChatModel | Callable[[str], BaseChatModel],
        agent: AgentName = "orders",
        *,
        max_steps: int = 8,
        registry: PromptRegistry | None = None,
    ) -> ConversationService:
        registry = registry or prompts
        brains: Any = brain if not isinstance(brain, BaseChatModel) else (lambda _agent: brain)
        deps = AgentDeps(
            store=sqlite_store,
            brains=brains,
            router=FixedRouter(agent),
            registry=agent_registry(),
            max_steps=max_steps,
            prompts=registry,
        )
        graph = build_graph(deps, checkpointer=InMemorySaver())
        return ConversationService(graph, sqlite_store, variant_of=registry.experiment.assign)

    return make
