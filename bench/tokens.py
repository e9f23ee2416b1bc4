"""Tokens and LLM calls per turn: a plain single-agent ReAct baseline vs Shopkeep's graph.

Both sides make the same decisions, so only what each design sends differs:

- **baseline**: one agent with every tool, the whole store policy in its system prompt, the full history on every
  call (the usual ReAct set-up);
- **graph**: Shopkeep's specialists, each with its own tools and its versioned prompt (only the policy sections it
  needs), the history cut to the agent's token budget with older turns summarised, routing by the offline intent
  router (no LLM call).

A recording model stands in for the LLM at every specialist call: it counts (tiktoken, offline) the tokens of what
the graph would send, and of what the baseline would send at the same point of the same conversation, then
replays the decision. Decisions come from ``bench/token_scenarios.py`` (ten scripted conversations); with
``SHOPKEEP_BENCH_DECISIONS=local`` they come from the local brain (and routing from its NLU) on the same customer
messages instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import ConfigDict
from rich.console import Console
from rich.table import Table

from bench.token_scenarios import SCENARIOS, Scenario
from shopkeep.agents.deps import AgentDeps, Route, Router
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.state import AGENTS, AgentName, ConversationState
from shopkeep.agents.toolkit import AGENT_TOOLS, agent_registry, tool_schemas
from shopkeep.llm.config import ModelConfig
from shopkeep.llm.context import fit
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.llm.tokens import TokenCounter
from shopkeep.settings import Settings, get_settings
from shopkeep.store import open_store
from shopkeep.store.seed import demo_db_path, read_tau2_db, seed

BASELINE_INSTRUCTIONS = (
    "You are the customer service assistant of the Shopkeep Demo Store. You help customers find products, manage "
    "their cart and check out, and with their orders and account, following the store policy below. Make one tool "
    "call at a time."
)


@dataclass
class Call:
    scenario: str
    turn: int
    agent: str
    graph_in: int
    baseline_in: int
    out: int


@dataclass
class Ledger:
    calls: list[Call] = field(default_factory=list)
    scenario: str = ""
    turn: int = 0

    def begin(self, scenario: str, turn: int) -> None:
        self.scenario, self.turn = scenario, turn


class Replay(BaseChatModel):
    """The scripted decisions of one conversation, in order, whichever agent asks (fresh tool call ids)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    steps: list[AIMessage]

    @property
    def _llm_type(self) -> str:
        return "bench-replay"

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=list(tools), **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if not self.steps:
            raise RuntimeError("the scenario has no decision left for this model call")
        step = self.steps.pop(0)
        calls = [{**c, "id": f"call_{uuid.uuid4().hex[:10]}"} for c in step.tool_calls]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=step.content, tool_calls=calls))])


class RecordingModel(BaseChatModel):
    """Counts what the graph and the baseline would send for this call, then replays the decision."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    agent: str
    decide: BaseChatModel
    ledger: Ledger
    counter: TokenCounter
    budget: int
    baseline_system: SystemMessage
    baseline_tools: list[dict[str, Any]]

    @property
    def _llm_type(self) -> str:
        return "bench-recording"

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=list(tools), **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = list(kwargs.get("tools") or [])
        graph_view = fit(messages, self.budget, self.counter).messages
        history = messages[1:] if messages and isinstance(messages[0], SystemMessage) else messages
        reply = self.decide.bind_tools(tools).invoke(messages)
        assert isinstance(reply, AIMessage)
        self.ledger.calls.append(
            Call(
                scenario=self.ledger.scenario,
                turn=self.ledger.turn,
                agent=self.agent,
                graph_in=self.counter.request(graph_view, tools),
                baseline_in=self.counter.request([self.baseline_system, *history], self.baseline_tools),
                out=self.counter.reply(reply),
            )
        )
        return ChatResult(generations=[ChatGeneration(message=reply)])


class ScriptRouter:
    """Routes each scripted customer message to the specialist its scenario names."""

    def __init__(self, scenario: Scenario) -> None:
        self._agents = {turn.user: turn.agent for turn in scenario.turns}

    def route(self, text: str, state: ConversationState) -> Route:
        agent = self._agents.get(text) or state.get("active_agent") or "support"
        return Route(agent=agent, intent="scripted", confidence=1.0)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Figures:
    scenario: str
    turns: int
    calls: int
    baseline: int
    graph: int


def _baseline_tools() -> list[dict[str, Any]]:
    registry = agent_registry()
    every = dict.fromkeys(name for agent in AGENTS for name in AGENT_TOOLS[agent])
    schemas = []
    for name in every:
        tool = registry.get(name)
        parameters = tool.json_schema()
        parameters.pop("title", None)
        schemas.append(
            {"type": "function", "function": {"name": name, "description": tool.description, "parameters": parameters}}
        )
    return schemas


def measure(settings: Settings, store_template: Path, workdir: Path, *, local: bool = False) -> list[Figures]:
    """Every scenario through the real graph and store, with recording models at the specialists."""
    counter = TokenCounter.offline(settings.var_dir, settings.llm.encoding)
    prompts = PromptRegistry.load(settings.data_dir / "policy.md")
    baseline_system = SystemMessage(content=f"{BASELINE_INSTRUCTIONS}\n\n{prompts.policy.text}")
    baseline_tools = _baseline_tools()
    assert {t["function"]["name"] for t in baseline_tools} >= {
        t["function"]["name"] for a in AGENTS for t in tool_schemas(agent_registry(), a)
    }
    local_brains: Callable[[AgentName], BaseChatModel] | None = None
    local_router: Router | None = None
    if local:
        from shopkeep.agents.factory import local_brains as build_local_brains
        from shopkeep.agents.routing import LocalRouter
        from shopkeep.llm.local.nlu import NLU

        nlu = NLU.load(settings)
        local_brains, local_router = build_local_brains(nlu), LocalRouter(nlu)
    ledger = Ledger()
    figures = []
    for scenario in SCENARIOS:
        path = workdir / f"{uuid.uuid4().hex[:8]}.db"
        shutil.copy(store_template, path)
        store = open_store(f"sqlite:///{path}")
        replay = Replay(steps=[step for turn in scenario.turns for step in turn.steps])

        def brain_for(agent: AgentName, replay: Replay = replay) -> BaseChatModel:
            return RecordingModel(
                agent=agent,
                decide=local_brains(agent) if local_brains else replay,
                ledger=ledger,
                counter=counter,
                budget=ModelConfig.for_agent(settings.llm, agent).context_tokens,
                baseline_system=baseline_system,
                baseline_tools=baseline_tools,
            )

        brains = {agent: brain_for(agent) for agent in AGENTS}
        deps = AgentDeps(
            store=store,
            brains=brains.__getitem__,
            router=local_router or ScriptRouter(scenario),
            registry=agent_registry(),
            max_steps=20,
            prompts=prompts,
        )
        service = ConversationService(build_graph(deps, checkpointer=InMemorySaver()), store)
        conversation = service.start(channel="bench")
        for n, turn in enumerate(scenario.turns):
            ledger.begin(scenario.name, n)
            service.send(conversation, turn.user)
        store.close()
        if not local and replay.steps:
            raise RuntimeError(f"{scenario.name}: {len(replay.steps)} scripted decisions were never asked for")
        calls = [c for c in ledger.calls if c.scenario == scenario.name]
        figures.append(
            Figures(
                scenario=scenario.name,
                turns=len(scenario.turns),
                calls=len(calls),
                baseline=sum(c.baseline_in + c.out for c in calls),
                graph=sum(c.graph_in + c.out for c in calls),
            )
        )
    return figures


def run(console: Console) -> None:
    settings = get_settings()
    local = os.environ.get("SHOPKEEP_BENCH_DECISIONS", "scripted") == "local"
    workdir = Path(tempfile.mkdtemp(prefix="shopkeep-bench-tokens-"))
    try:
        template = workdir / "template.db"
        store = open_store(f"sqlite:///{template}")
        seed(store, read_tau2_db(demo_db_path(settings.data_dir)))
        store.close()
        figures = measure(settings, template, workdir, local=local)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    source = "the local brain" if local else "scripted decisions"
    table = Table(
        title=f"Tokens per turn ({settings.llm.encoding}; {source}): single-agent ReAct baseline vs Shopkeep graph"
    )
    for column in ("scenario", "turns", "LLM calls/turn", "baseline tokens/turn", "graph tokens/turn", "graph/base"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for f in figures:
        table.add_row(
            f.scenario,
            str(f.turns),
            f"{f.calls / f.turns:.2f}",
            f"{f.baseline / f.turns:,.0f}",
            f"{f.graph / f.turns:,.0f}",
            f"{f.graph / f.baseline:.0%}",
        )
    turns = sum(f.turns for f in figures)
    calls = sum(f.calls for f in figures)
    baseline, graph = sum(f.baseline for f in figures), sum(f.graph for f in figures)
    table.add_section()
    table.add_row(
        "[bold]all[/bold]",
        str(turns),
        f"{calls / turns:.2f}",
        f"{baseline / turns:,.0f}",
        f"{graph / turns:,.0f}",
        f"[bold]{graph / baseline:.0%}[/bold]",
    )
    console.print(table)
    console.print(
        f"LLM calls per turn are the same on both sides ({calls / turns:.2f}): the same decisions, and the graph "
        "routes with the offline intent router (SHOPKEEP_LLM__ROUTER=llm adds one small call per turn)."
    )
