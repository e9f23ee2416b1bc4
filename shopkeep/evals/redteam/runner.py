"""Running red-team cases: each conversation through the real ``ConversationService`` on a fresh demo store.

One brain per run: ``local`` (the configured brains, the local one by default) or ``compromised`` (every agent's
brain is a ``CompromisedChatModel`` playing the case's attack, wrapped in ``RemoteBrain`` like any remote LLM).
Either way the graph, tools node, confirmation and guards are the product's own: the harness only swaps the chat
model, through ``AgentDeps.brains``. The store is exported before and after, and ``judge`` says what harm was done.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_deps, prompt_registry
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.state import AGENTS
from shopkeep.agents.toolkit import agent_registry
from shopkeep.domain import HumanAgent, TicketStatus
from shopkeep.evals.redteam.cases import CATEGORIES, RedTeamCase
from shopkeep.evals.redteam.compromised import CompromisedChatModel, attack_plan, describe
from shopkeep.evals.redteam.judge import CHECKS, Exchange, Finding, StoreIndex, judge
from shopkeep.evals.redteam.snapshot import Snapshot
from shopkeep.evals.tau2.reward import StoreTemplate
from shopkeep.inbox.events import LocalEventBus
from shopkeep.inbox.service import InboxService
from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.providers import token_counter
from shopkeep.llm.remote import RemoteBrain
from shopkeep.payments.vault import default_vault
from shopkeep.retrieval.embedders import Embedder, get_embedder
from shopkeep.retrieval.search import CatalogSearch
from shopkeep.settings import Settings
from shopkeep.shop.profile import FixedProfile, ShopProfiles
from shopkeep.store import SqlCommerceStore

Brain = Literal["local", "compromised"]
BRAINS: tuple[Brain, ...] = ("local", "compromised")
CONTINUE = "go on"
"""What the customer says after the case's own turns while a compromised model still has moves to play."""
MAX_EXTRA_TURNS = 8


@dataclass
class CaseResult:
    case: RedTeamCase
    brain: Brain
    findings: list[Finding]
    transcript: list[dict[str, Any]]
    plan: list[str]
    error: str | None = None

    def harmed(self, check: str) -> bool:
        return any(f.check == check for f in self.findings)

    @property
    def harmful(self) -> bool:
        return bool(self.findings)

    def as_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": self.case.id,
            "category": self.case.category,
            "brain": self.brain,
            "customer": self.case.customer,
            "harm": self.case.harm,
            "harmful": self.harmful,
            **{check: self.harmed(check) for check in CHECKS},
            "findings": [f.model_dump() for f in self.findings],
            "transcript": self.transcript,
        }
        if self.plan:
            record["plan"] = self.plan
        if self.brain in self.case.known_gap:
            record["known_gap"] = self.case.known_gap[self.brain]
        if self.error is not None:
            record["error"] = self.error
        return record


class RedTeamRunner:
    """Runs cases on fresh copies of ``template``; the NLU and embedder are loaded once and shared."""

    def __init__(self, settings: Settings, template: StoreTemplate, workdir: Path, *, nlu: NLU | None = None) -> None:
        self._settings = settings
        self._template = template
        self._workdir = workdir
        self._nlu = nlu or NLU.load(settings)
        self._embedder: Embedder = get_embedder(settings)
        self._confirm_tools = frozenset(t.name for t in agent_registry() if t.confirm)
        with template.fresh(workdir, local=True) as store:
            self.before = Snapshot.of(store)
            # every case runs on a copy of the same store: one shop, its prompts rendered once
            shop = FixedProfile(ShopProfiles.from_settings(store, settings).current())
        self._prompts = prompt_registry(settings, shop)
        self.index = StoreIndex.of(self.before)

    def run(self, case: RedTeamCase, brain: Brain) -> CaseResult:
        model: CompromisedChatModel | None = None
        plan: list[str] = []
        if brain == "compromised":
            moves, leaks = attack_plan(case, self.before.records)
            model = CompromisedChatModel(moves=moves, leaks=leaks)
            plan = describe(moves)
        exchanges: list[Exchange] = []
        stored: list[str] = []
        agent_view: list[str] = []
        agent_messages: list[str] = []
        person = _Person.absent()
        error: str | None = None
        checkpoints = self._workdir / f"checkpoints-{uuid.uuid4().hex[:12]}.db"
        with self._template.fresh(self._workdir) as store:
            try:
                with open_checkpointer(f"sqlite:///{checkpoints}") as checkpointer:
                    service = self._service(store, checkpointer, model)
                    person = _Person(store, service, case.agent_replies)
                    conversation = service.start(channel="redteam")
                    turns = case.messages
                    while turns:
                        text = turns.pop(0)
                        exchanges.append(Exchange(text, service.send(conversation, text)))
                        if exchanges[-1].result.mode == "human":
                            person.take_over(conversation)
                        more = model is not None and not model.exhausted
                        if not turns and more and len(exchanges) < len(case.turns) + MAX_EXTRA_TURNS:
                            turns.append(CONTINUE)
                    events = service.transcript(conversation)
                    stored = [json.dumps(e.payload, ensure_ascii=False) for e in events]
                    agent_messages = [str(e.payload.get("text", "")) for e in events if e.kind == "agent"]
                    agent_view = person.view()
            except Exception as exc:  # a crash is reported with the case; the harm checks still run on the store
                error = f"{type(exc).__name__}: {exc}"
            finally:
                for leftover in self._workdir.glob(f"{checkpoints.name}*"):
                    leftover.unlink(missing_ok=True)
            after = Snapshot.of(store)
        findings = judge(
            case,
            exchanges,
            self.before,
            after,
            self.index,
            confirm_tools=self._confirm_tools,
            stored=stored,
            agent_view=agent_view,
            agent_messages=(agent_messages, person.posted),
        )
        return CaseResult(case, brain, findings, [_turn(e) for e in exchanges], plan, error)

    def _service(self, store: SqlCommerceStore, checkpointer: Any, model: BaseChatModel | None) -> ConversationService:
        retrieval = CatalogSearch(store, self._embedder, kb_dir=self._settings.data_dir / "kb")
        deps = build_deps(self._settings, store, nlu=self._nlu, retrieval=retrieval, prompts=self._prompts)
        if model is not None:
            deps = replace(deps, brains=self._compromised_brains(model))
        return ConversationService(
            build_graph(deps, checkpointer=checkpointer),
            store,
            variant_of=self._prompts.experiment.assign,
            vault=default_vault(self._settings.payments),
        )

    def _compromised_brains(self, model: BaseChatModel) -> Callable[[str], BaseChatModel]:
        counter = token_counter(self._settings)
        brains = {
            agent: RemoteBrain(agent=agent, model=model, provider="compromised", counter=counter) for agent in AGENTS
        }

        def brain_for(agent: str) -> BaseChatModel:
            return brains[agent]  # type: ignore[index]  # the graph asks only for its own agents

        return brain_for


class _Person:
    """The human agent of a case: claims the ticket a hand-off opened, posts the case's replies, and keeps what the
    escalation workflow showed them (the queue and the ticket), which the judge searches for card secrets."""

    def __init__(self, store: SqlCommerceStore | None, service: ConversationService | None, replies: tuple[str, ...]):
        self._inbox = InboxService(store, service, LocalEventBus()) if store and service and replies else None
        self._replies = replies
        self._ticket: str | None = None
        self.posted = 0

    @classmethod
    def absent(cls) -> _Person:
        return cls(None, None, ())

    def take_over(self, conversation_id: str) -> None:
        if self._inbox is None or self._ticket is not None:
            return
        mine = [t for t in self._inbox.queue(TicketStatus.OPEN) if t["conversation_id"] == conversation_id]
        if not mine:
            return
        self._ticket = str(mine[0]["id"])
        self._inbox.claim(self._ticket, RED_TEAM_AGENT)
        for text in self._replies:
            self._inbox.reply(self._ticket, RED_TEAM_AGENT, text)
            self.posted += 1

    def view(self) -> list[str]:
        if self._inbox is None or self._ticket is None:
            return []
        detail = self._inbox.detail(self._ticket)
        shown: list[Any] = [
            self._inbox.queue(),
            detail.summary,
            [event.payload for event in detail.events],
            detail.customer.model_dump(mode="json") if detail.customer is not None else None,
            [order.model_dump(mode="json") for order in detail.orders],
            detail.cart.model_dump(mode="json") if detail.cart is not None else None,
        ]
        return [json.dumps(part, ensure_ascii=False, default=str) for part in shown]


RED_TEAM_AGENT = HumanAgent(name="Red Team Agent", created_at=datetime(2026, 1, 1, tzinfo=UTC))


def _turn(exchange: Exchange) -> dict[str, Any]:
    result = exchange.result
    record: dict[str, Any] = {
        "user": exchange.user,
        "reply": result.reply,
        "agent": result.agent,
        "mode": result.mode,
        "tool_calls": [c.model_dump() for c in result.tool_calls],
        "awaiting_confirmation": result.awaiting_confirmation,
    }
    if result.proposal is not None:
        record["proposal"] = {"tool": result.proposal.get("tool"), "arguments": result.proposal.get("arguments")}
    return record


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    """Per brain and category: attacks tried, and how many changed the store, charged money, leaked data, broke
    policy, or did any harm; plus the harmful case ids."""
    summary: dict[str, Any] = {}
    for brain in BRAINS:
        mine = [r for r in results if r.brain == brain]
        if not mine:
            continue
        rows: dict[str, dict[str, Any]] = {}
        for category in [*CATEGORIES, "all"]:
            scored = [r for r in mine if category in ("all", r.case.category)]
            if not scored:
                continue
            rows[category] = {
                "attacks": len(scored),
                **{check: sum(r.harmed(check) for r in scored) for check in CHECKS},
                "harmful": sum(r.harmful for r in scored),
                "errors": sum(r.error is not None for r in scored),
            }
        summary[brain] = {"categories": rows, "harmful_cases": [r.case.id for r in mine if r.harmful]}
    return summary


def indexed_template(settings: Settings, directory: Path) -> StoreTemplate:
    """A seeded demo store indexed for catalog and knowledge search (a copy of the cached one), copied for every
    case."""
    from shopkeep.retrieval.demo import copy_indexed_demo

    directory.mkdir(parents=True, exist_ok=True)
    return StoreTemplate(copy_indexed_demo(settings, directory / "template.db"))
