"""Which brain speaks for an agent, chosen by settings alone: ``local`` (default), ``openai`` or ``oci``.

``get_chat_model(settings, agent)`` applies the agent's overrides (``SHOPKEEP_LLM__AGENTS__<AGENT>__MODEL``...)
and returns a LangChain chat model. A remote provider comes wrapped in ``RemoteBrain`` (token budget, checked
tool calls, usage, fallback to the local brain). Vendor SDKs are imported only by their provider module, and only
when that provider is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel

from shopkeep.llm.config import ModelConfig
from shopkeep.llm.remote import RemoteBrain, Unavailable
from shopkeep.llm.tokens import TokenCounter
from shopkeep.settings import Settings

PROVIDERS = ("local", "openai", "oci")
LocalBrains = Callable[[str], BaseChatModel]


def token_counter(settings: Settings) -> TokenCounter:
    """The offline tiktoken counter, its cache under ``var_dir``."""
    return TokenCounter.offline(settings.var_dir, settings.llm.encoding)


@dataclass(frozen=True)
class ProviderModel:
    """A provider's chat model and what ``RemoteBrain`` needs to know about it."""

    model: BaseChatModel
    unavailable: Unavailable
    """Whether a failure means the service is down (so the local brain answers)."""
    tool_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``bind_tools`` (parallel tool calls off)."""
    convert_tools: Callable[[list[Any]], list[Any]] = list
    """OpenAI-style tool schemas to the provider's ``bind_tools`` input."""


def provider_model(config: ModelConfig, transport: Any = None) -> ProviderModel:
    """The provider's own chat model. ``transport``: an ``httpx.Client`` (openai) or an OCI SDK client (oci), for
    tests and custom networking."""
    if config.provider == "openai":
        from shopkeep.llm import openai as provider

        return ProviderModel(
            provider.chat_model(config, http_client=transport), provider.unavailable, provider.TOOL_KWARGS
        )
    if config.provider == "oci":
        from shopkeep.llm import oci as oci_provider

        return ProviderModel(
            oci_provider.chat_model(config, client=transport),
            oci_provider.unavailable,
            oci_provider.TOOL_KWARGS,
            oci_provider.convert_tools,
        )
    raise ValueError(f"unknown LLM provider {config.provider!r}: use one of {', '.join(PROVIDERS)}")


def _default_local(settings: Settings, agent: str) -> BaseChatModel:
    from shopkeep.llm.local.brain import LocalBrain
    from shopkeep.llm.local.nlu import NLU
    from shopkeep.llm.local.policies import POLICIES

    if agent not in POLICIES:
        raise ValueError(f"the local brain has no policy for {agent!r}; configure an LLM provider for it")
    return LocalBrain(agent=agent, nlu=NLU.load(settings), policies=POLICIES)


def get_chat_model(
    settings: Settings,
    agent: str,
    *,
    local: BaseChatModel | None = None,
    transport: Any = None,
    counter: TokenCounter | None = None,
) -> BaseChatModel:
    """The chat model for ``agent``. ``local`` is the agent's local brain: the ``local`` provider itself, and the
    fallback of a remote one (built from the NLU when not given)."""
    config = ModelConfig.for_agent(settings.llm, agent)
    if config.provider == "local":
        return local if local is not None else _default_local(settings, agent)
    provider = provider_model(config, transport)
    return RemoteBrain(
        agent=agent,
        model=provider.model,
        provider=config.provider,
        model_name=config.model,
        counter=counter or token_counter(settings),
        context_tokens=config.context_tokens,
        fallback=local if settings.llm.fallback_to_local else None,
        unavailable=provider.unavailable,
        tool_kwargs=provider.tool_kwargs,
        convert_tools=provider.convert_tools,
    )


def uses_llm(settings: Settings, agents: Iterable[str]) -> bool:
    """Whether any of ``agents`` is configured with a remote provider."""
    return any(ModelConfig.for_agent(settings.llm, a).provider != "local" for a in agents)


def brain_factory(
    settings: Settings, agents: Iterable[str], local: LocalBrains | None = None, *, transport: Any = None
) -> Callable[[str], BaseChatModel]:
    """Every agent's brain, built once up front (a misconfigured provider fails at start-up, not mid-chat)."""
    counter = token_counter(settings) if uses_llm(settings, agents) else None
    brains = {
        agent: get_chat_model(
            settings, agent, local=local(agent) if local else None, transport=transport, counter=counter
        )
        for agent in agents
    }

    def brain_for(agent: str) -> BaseChatModel:
        return brains[agent]

    return brain_for
