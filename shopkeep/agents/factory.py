"""Wiring: the conversation service on a store, a checkpointer and the configured brains.

Settings alone choose the brains (``SHOPKEEP_LLM__PROVIDER`` and per-agent overrides): the local brain, or an LLM
per agent with the local brain as its fallback; and the shop's own guardrails-ai validators join our rails
(``SHOPKEEP_GUARDRAILS__VALIDATORS``). Every specialist gets its system prompt from the prompt registry
(the local brain ignores the text), and the conversation's experiment variant picks the prompt versions.
"""

from __future__ import annotations

from typing import Any

from shopkeep.agents.deps import AgentDeps, Router
from shopkeep.agents.graph import build_graph
from shopkeep.agents.locks import ConversationLocks, PostgresAdvisoryLocks, ProcessLocks
from shopkeep.agents.routing import LocalRouter
from shopkeep.agents.service import ConversationService
from shopkeep.agents.state import AGENTS, AgentName
from shopkeep.agents.toolkit import agent_registry
from shopkeep.guardrails.rails import OUTPUT_RAILS, input_rails
from shopkeep.guardrails.screen import SharedScreen
from shopkeep.guardrails.tool_rails import ToolRails
from shopkeep.guardrails.validators import validator_rails
from shopkeep.llm.config import ModelConfig
from shopkeep.llm.experiments import Experiment
from shopkeep.llm.local.brain import LocalBrain
from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.policies import POLICIES
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.llm.providers import brain_factory, get_chat_model
from shopkeep.payments.vault import CardVault, default_vault
from shopkeep.retrieval.search import CatalogSearch
from shopkeep.settings import Settings
from shopkeep.shop.profile import ProfileSource, ShopProfiles
from shopkeep.store.base import CommerceStore
from shopkeep.store.sql import SqlCommerceStore


def local_brains(nlu: NLU, shop: ProfileSource | None = None) -> Any:
    """The local brain of every agent; ``shop``: whose currency replies write prices in (None: US dollars)."""
    brains = {agent: LocalBrain(agent=agent, nlu=nlu, policies=POLICIES, shop=shop) for agent in POLICIES}

    def brain_for(agent: AgentName) -> LocalBrain:
        return brains[agent]

    return brain_for


def prompt_registry(settings: Settings, shop: ProfileSource) -> PromptRegistry:
    """The prompt files for a shop (its name and policy, as its profile is now) and the configured experiment."""
    experiment = Experiment.from_settings(settings.experiment)
    return PromptRegistry.load(shop, experiment=experiment)


def build_deps(
    settings: Settings,
    store: CommerceStore,
    *,
    nlu: NLU | None = None,
    transport: Any = None,
    retrieval: CatalogSearch | None = None,
    prompts: PromptRegistry | None = None,
    shop: ProfileSource | None = None,
) -> AgentDeps:
    """Everything the graph needs, from settings: brains, router, tools, prompts and catalog search.

    ``retrieval`` is the catalog and knowledge search the catalog tools use; by default the configured one over
    ``store`` (its embedder loads on the first search, so building the graph stays cheap)."""
    nlu = nlu or NLU.load(settings)
    if isinstance(store, SqlCommerceStore):
        # the local brain reads the words of the shop this store holds, as search reads its catalog
        nlu = nlu.for_store(store)
        if retrieval is None:
            retrieval = CatalogSearch.from_settings(store, settings)
    shop = shop or ShopProfiles.from_settings(store, settings)
    prompts = prompts or prompt_registry(settings, shop)
    brains = brain_factory(settings, AGENTS, local_brains(nlu, shop), transport=transport)
    router: Router = LocalRouter(nlu)
    if settings.llm.router == "llm" and ModelConfig.for_agent(settings.llm, "router").provider != "local":
        from shopkeep.llm.router import LLMRouter

        router = LLMRouter(get_chat_model(settings, "router", transport=transport), prompts, router)
    shop_inputs, shop_outputs = validator_rails(settings)
    return AgentDeps(
        store=store,
        brains=brains,
        router=router,
        registry=agent_registry(),
        retrieval=retrieval,
        max_steps=20,
        prompts=prompts,
        tool_rails=ToolRails.from_settings(settings),
        input_rails=(*input_rails(_screen(settings, nlu)), *shop_inputs),
        output_rails=(*OUTPUT_RAILS, *shop_outputs),
        shop=shop,
    )


def _screen(settings: Settings, nlu: NLU) -> SharedScreen:
    """The injection/abuse classifier on the NLU's embedder (the message is embedded once for both), cached next to
    the NLU's training cache; built on the first message, not here."""
    cache_dir = nlu.cache_dir.parent / "guardrails" if nlu.cache_dir else None
    train = settings.data_dir / "guardrails" / "train.yaml"
    return SharedScreen(nlu.embedder, train, nlu.intents_path, cache_dir)


def conversation_locks(store: CommerceStore) -> ConversationLocks:
    """Advisory locks on a PostgreSQL store (any worker may take the next message), else this process's locks."""
    if isinstance(store, SqlCommerceStore) and store.engine.dialect.name == "postgresql":
        return PostgresAdvisoryLocks(store.engine)
    return ProcessLocks()


def build_service(
    settings: Settings,
    store: CommerceStore,
    checkpointer: Any,
    *,
    nlu: NLU | None = None,
    transport: Any = None,
    retrieval: CatalogSearch | None = None,
    vault: CardVault | None = None,
) -> ConversationService:
    """A ready conversation service with the configured brains (``transport``: see ``providers.provider_model``)
    and card vault (default: the process's, from settings)."""
    shop = ShopProfiles.from_settings(store, settings)
    prompts = prompt_registry(settings, shop)
    deps = build_deps(settings, store, nlu=nlu, transport=transport, retrieval=retrieval, prompts=prompts, shop=shop)
    return ConversationService(
        build_graph(deps, checkpointer=checkpointer),
        store,
        variant_of=prompts.experiment.assign,
        vault=vault or default_vault(settings.payments),
        locks=conversation_locks(store),
        policy=lambda: prompts.policy.text,
        shop=shop,
        output_rails=deps.output_rails,
    )
