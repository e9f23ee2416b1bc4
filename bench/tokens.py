"""Tokens and LLM calls per turn: a plain single-agent ReAct baseline vs Shopkeep's graph.

Both sides make the same decisions, so only what each design sends differs:

- **baseline**: one agent with every tool, the whole store policy in its system prompt, the full history on every
  call (the usual ReAct set-up);
- **graph**: Shopkeep's specialists, each with its own tools and its versioned prompt (only the policy sections it
  needs), the history cut to the agent's token budget with older turns summarised, routing by the offline intent
  router (no LLM call).

A recording model stands in for the LLM at every specialist call: it counts (tiktoken, offline) the tokens of what
the graph would send, and of what the baseline would send at the same point of the same conversation, then passes
the decision on. Two sets of conversations:

- the conversation scenarios of ``tests/scenarios`` (when present), decided by the local brain and routed by its
  NLU, on the seeded and indexed demo store;
- the ten conversations of ``bench/token_scenarios.py``, with scripted decisions as a capable LLM would make them
  (more tool calls, longer tool results).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import ConfigDict
from rich.console import Console
from rich.table import Table

from bench.token_scenarios import SCENARIOS, Scenario
from shopkeep.agents.deps import AgentDeps, Route
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.state import AGENTS, AgentName, ConversationState
from shopkeep.agents.toolkit import AGENT_TOOLS, agent_registry
from shopkeep.llm.binding import ToolBindingChatModel
from shopkeep.llm.config import ModelConfig
from shopkeep.llm.context import fit
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.llm.tokens import TokenCounter
from shopkeep.settings import PROJECT_ROOT, Settings, get_settings
from shopkeep.store import open_store
from shopkeep.store.seed import demo_db_path, read_tau2_db, seed

SCENARIO_DIR = PROJECT_ROOT / "tests" / "scenarios"
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


class Replay(ToolBindingChatModel):
    """The scripted decisions of one conversation, in order, whichever agent asks (fresh tool call ids)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    steps: list[AIMessage]

    @property
    def _llm_type(self) -> str:
        return "bench-replay"

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


class RecordingModel(ToolBindingChatModel):
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
class Conversation:
    """Customer messages to send; ``steps`` are scripted decisions (None: the local brain decides)."""

    group: str
    name: str
    users: tuple[str, ...]
    steps: tuple[AIMessage, ...] | None = None
    scenario: Scenario | None = None


@dataclass(frozen=True)
class Figures:
    group: str
    conversations: int
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


def scripted_conversations() -> list[Conversation]:
    """The ten conversations of ``bench/token_scenarios.py`` with their scripted decisions."""
    return [
        Conversation(s.name, s.name, tuple(t.user for t in s.turns), tuple(x for t in s.turns for x in t.steps), s)
        for s in SCENARIOS
    ]


def scenario_conversations(directory: Path = SCENARIO_DIR) -> list[Conversation]:
    """The customer messages of every conversation scenario in ``tests/scenarios`` (grouped by area)."""
    conversations = []
    for path in sorted(directory.rglob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        users = tuple(str(turn["user"]) for turn in spec.get("turns", []))
        if users:
            conversations.append(Conversation(path.parent.name, str(spec.get("name", path.stem)), users))
    return conversations


class _Recorders:
    """One recording model per agent over the given deciding brains, sharing a ledger."""

    def __init__(self, settings: Settings, ledger: Ledger, decide: Callable[[AgentName], BaseChatModel]) -> None:
        counter = TokenCounter.offline(settings.var_dir, settings.llm.encoding)
        policy = PromptRegistry.load(settings.data_dir / "policy.md").policy.text
        system = SystemMessage(content=f"{BASELINE_INSTRUCTIONS}\n\n{policy}")
        tools = _baseline_tools()
        self._models = {
            agent: RecordingModel(
                agent=agent,
                decide=decide(agent),
                ledger=ledger,
                counter=counter,
                budget=ModelConfig.for_agent(settings.llm, agent).context_tokens,
                baseline_system=system,
                baseline_tools=tools,
            )
            for agent in AGENTS
        }

    def __call__(self, agent: AgentName) -> BaseChatModel:
        return self._models[agent]


def measure(
    settings: Settings, conversations: list[Conversation], store_template: Path, workdir: Path
) -> list[Figures]:
    """Every conversation through the real graph and a fresh copy of the store, recording models at the
    specialists; scripted conversations replay their decisions, the others get the local brain's."""
    ledger = Ledger()
    if any(c.steps is None for c in conversations):
        from shopkeep.agents.factory import build_deps
        from shopkeep.llm.local.nlu import NLU

        nlu = NLU.load(settings)
    for n, conversation in enumerate(conversations):
        path = workdir / f"{uuid.uuid4().hex[:8]}.db"
        shutil.copy(store_template, path)
        store = open_store(f"sqlite:///{path}")
        if conversation.steps is not None:
            replay = Replay(steps=list(conversation.steps))
            assert conversation.scenario is not None
            deps = AgentDeps(
                store=store,
                brains=_Recorders(settings, ledger, lambda _agent, r=replay: r),  # type: ignore[misc]
                router=ScriptRouter(conversation.scenario),
                registry=agent_registry(),
                max_steps=20,
                prompts=PromptRegistry.load(settings.data_dir / "policy.md"),
            )
        else:
            built = build_deps(settings, store, nlu=nlu)
            deps = replace(built, brains=_Recorders(settings, ledger, built.brains))
        service = ConversationService(build_graph(deps, checkpointer=InMemorySaver()), store)
        conversation_id = service.start(channel="bench")
        for turn, text in enumerate(conversation.users):
            ledger.begin(f"{n}", turn)
            service.send(conversation_id, text)
        store.close()
        if conversation.steps is not None and replay.steps:
            raise RuntimeError(f"{conversation.name}: {len(replay.steps)} scripted decisions were never asked for")
    figures: dict[str, Figures] = {}
    for n, conversation in enumerate(conversations):
        calls = [c for c in ledger.calls if c.scenario == f"{n}"]
        seen = figures.get(conversation.group, Figures(conversation.group, 0, 0, 0, 0, 0))
        figures[conversation.group] = Figures(
            conversation.group,
            seen.conversations + 1,
            seen.turns + len(conversation.users),
            seen.calls + len(calls),
            seen.baseline + sum(c.baseline_in + c.out for c in calls),
            seen.graph + sum(c.graph_in + c.out for c in calls),
        )
    return list(figures.values())


def _template(settings: Settings, workdir: Path) -> Path:
    """The demo store, seeded and indexed for catalog and knowledge search, to copy per conversation."""
    from shopkeep.retrieval.embedders import LocalEmbedder
    from shopkeep.retrieval.search import CatalogSearch

    path = workdir / "template.db"
    store = open_store(f"sqlite:///{path}")
    seed(store, read_tau2_db(demo_db_path(settings.data_dir)))
    CatalogSearch(store, LocalEmbedder(), kb_dir=settings.data_dir / "kb").index_documents()
    store.close()
    return path


def _table(title: str, figures: list[Figures]) -> Table:
    table = Table(title=title)
    columns = ("conversations", "turns", "LLM calls/turn", "baseline tokens/turn", "graph tokens/turn", "graph/base")
    table.add_column("group")
    for column in columns:
        table.add_column(column, justify="right")

    def row(label: str, f: Figures) -> list[str]:
        return [
            label,
            str(f.conversations),
            str(f.turns),
            f"{f.calls / f.turns:.2f}",
            f"{f.baseline / f.turns:,.0f}",
            f"{f.graph / f.turns:,.0f}",
            f"{f.graph / f.baseline:.0%}" if f.baseline else "-",
        ]

    for f in figures:
        table.add_row(*row(f.group, f))
    total = Figures(
        "all",
        sum(f.conversations for f in figures),
        sum(f.turns for f in figures),
        sum(f.calls for f in figures),
        sum(f.baseline for f in figures),
        sum(f.graph for f in figures),
    )
    table.add_section()
    table.add_row(*row("[bold]all[/bold]", total))
    return table


def run(console: Console) -> None:
    settings = get_settings()
    workdir = Path(tempfile.mkdtemp(prefix="shopkeep-bench-tokens-"))
    encoding = settings.llm.encoding
    try:
        template = _template(settings, workdir)
        runs = []
        scenarios = scenario_conversations()
        if scenarios:
            title = f"tests/scenarios, the local brain's decisions ({len(scenarios)} conversations)"
            runs.append((title, measure(settings, scenarios, template, workdir)))
        runs.append(
            (
                "bench/token_scenarios.py, scripted decisions",
                measure(settings, scripted_conversations(), template, workdir),
            )
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for title, figures in runs:
        console.print(
            _table(f"Tokens per turn ({encoding}): single-agent ReAct baseline vs Shopkeep graph — {title}", figures)
        )
    console.print(
        "LLM calls per turn are the same on both sides: the same decisions, and the graph routes with the offline "
        "intent router (SHOPKEEP_LLM__ROUTER=llm adds one small call per turn)."
    )
