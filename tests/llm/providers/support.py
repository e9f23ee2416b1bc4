"""Helpers for the LLM-path tests: services on the real graph with any brain, remote brains on scripted models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from shopkeep.agents.deps import Route
from shopkeep.agents.service import ConversationService
from shopkeep.agents.state import AgentName, ConversationState
from shopkeep.llm.binding import ToolBindingChatModel
from shopkeep.llm.experiments import Experiment
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.llm.remote import RemoteBrain
from shopkeep.llm.tokens import TokenCounter
from tests.conftest import DATA_DIR

POLICY = DATA_DIR / "policy.md"

ServiceFor = Callable[..., ConversationService]
"""``service_for(brain_or_factory, agent="orders", *, max_steps=8, registry=None)``: see the fixture."""


class FixedRouter:
    """Sends every message to one agent (routing is tested with the real NLU elsewhere)."""

    def __init__(self, agent: AgentName) -> None:
        self.agent = agent

    def route(self, text: str, state: ConversationState) -> Route:
        return Route(agent=self.agent, intent="test", confidence=1.0)


def remote(model: BaseChatModel, counter: TokenCounter, agent: str = "orders", **fields: Any) -> RemoteBrain:
    """A scripted (or failing) model in the place of a remote provider's model."""
    return RemoteBrain(
        agent=agent, model=model, provider="scripted", model_name="scripted-1", counter=counter, **fields
    )


def experiment_registry() -> PromptRegistry:
    """The shipped prompts with an experiment: half the conversations get the draft orders@2."""
    return PromptRegistry.load(POLICY, experiment=Experiment("terse-orders", {"control": {}, "terse": {"orders": 2}}))


class Down(ToolBindingChatModel):
    """A provider that is unreachable."""

    error: Exception

    @property
    def _llm_type(self) -> str:
        return "down"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        raise self.error
