"""What the graph needs from outside: the store, the brains, the router, the tools. Passed in, never global."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage

from shopkeep.agents.state import AgentName, ConversationState
from shopkeep.guardrails.rails import INPUT_RAILS, OUTPUT_RAILS, OutputRail, Rail
from shopkeep.guardrails.tool_rails import ToolRails, default_tool_rails
from shopkeep.shop.profile import ProfileSource, currency_of
from shopkeep.store.base import CommerceStore
from shopkeep.tools import ToolRegistry


@dataclass(frozen=True)
class Route:
    """The router's decision for one customer message."""

    agent: AgentName
    intent: str
    confidence: float
    queued: str | None = None
    """The message's second request, when it held two: handled once the first is done."""


class Router(Protocol):
    def route(self, text: str, state: ConversationState) -> Route: ...


class PromptSource(Protocol):
    """The system message a specialist sends its brain (the prompt registry; the local brain ignores its text)."""

    def system_message(self, agent: str, state: Any) -> SystemMessage: ...


BrainFactory = Callable[[AgentName], BaseChatModel]
"""Returns the chat model that speaks for a specialist (the local brain, or an LLM per agent)."""


@dataclass(frozen=True)
class AgentDeps:
    store: CommerceStore
    brains: BrainFactory
    router: Router
    registry: ToolRegistry
    retrieval: Any = None
    max_steps: int = 8
    prompts: PromptSource | None = None
    tool_rails: ToolRails = field(default_factory=default_tool_rails)
    """The tool-call rails the tools node runs before every tool (``ToolRails.from_settings`` in the app)."""
    input_rails: tuple[Rail, ...] = INPUT_RAILS
    """The input rails (``rails.input_rails(screen)`` in the app: with the injection/abuse classifier, then the shop's
    own validators)."""
    output_rails: tuple[OutputRail, ...] = OUTPUT_RAILS
    """The output rails: ours, then the shop's own validators (``guardrails.validators``)."""
    shop: ProfileSource | None = None
    """The shop's profile (``ShopProfiles`` in the app); None: the demo's rules (US dollars)."""

    def currency(self) -> str:
        """The shop's currency now: what checkout charges in and what prices are written in."""
        return currency_of(self.shop)
