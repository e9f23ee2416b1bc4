"""The suites of ``shopkeep eval run``: each runs its labelled set and returns a ``SuiteResult`` (see ``results``).

Suites share one ``EvalContext``: the settings (with the brain the run asked for), one NLU, one seeded and indexed
demo store that every conversation gets a fresh copy of, and a work folder. ``limit`` keeps at most that many items
per suite (a quick subset: the first ones, or the first ones of every group where a suite has groups).

What each suite measures is said in the README's "Evaluate" section and in each function's docstring.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from shopkeep.agents.service import ConversationService, TurnResult
from shopkeep.evals.results import ItemResult, SuiteResult, Turn
from shopkeep.evals.tau2.reward import StoreTemplate
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore

T = TypeVar("T")

LATENCY_BUCKETS_MS = (25, 50, 100, 200, 400, 800, 1600, 3200)
"""Upper bounds of the latency histogram's bins (the last bin is everything above)."""


@dataclass
class EvalContext:
    """What the suites of one run share; expensive parts are built on first use."""

    settings: Settings
    workdir: Path
    limit: int | None = None
    log: Callable[[str], object] = print
    shared_nlu: NLU | None = None
    """An NLU already loaded (tests share theirs); loaded from the settings otherwise."""
    shared_template: StoreTemplate | None = None
    """A seeded and indexed demo store already built; built in the work folder otherwise."""
    judge: Any = None
    """The chat model of the LLM-judged ragas metrics (``ragas_metrics.judge_model``), or None: not computed."""
    _stores: int = field(default=0, init=False)

    @cached_property
    def nlu(self) -> NLU:
        if self.shared_nlu is not None:
            return self.shared_nlu
        loaded = NLU.load(self.settings)
        loaded.warm_up()
        return loaded

    @cached_property
    def template(self) -> StoreTemplate:
        """The demo store, seeded and indexed for catalog and knowledge search, copied for every conversation."""
        from shopkeep.evals.redteam import indexed_template

        if self.shared_template is not None:
            return self.shared_template
        self.log("seeding and indexing the demo store")
        return indexed_template(self.settings, self.workdir / "template")

    @cached_property
    def demo_db(self) -> dict[str, Any]:
        from shopkeep.store.seed import demo_db_path

        data: dict[str, Any] = json.loads(demo_db_path(self.settings.data_dir).read_text(encoding="utf-8"))
        return data

    def take(self, items: Sequence[T]) -> list[T]:
        return list(items if self.limit is None else items[: self.limit])

    def take_per_group(self, items: Sequence[T], group: Callable[[T], str]) -> list[T]:
        """At most ``limit`` items, taken round-robin over the groups so every group is represented."""
        if self.limit is None:
            return list(items)
        groups: dict[str, list[T]] = defaultdict(list)
        for item in items:
            groups[group(item)].append(item)
        chosen: list[T] = []
        queues = list(groups.values())
        while len(chosen) < self.limit and any(queues):
            for queue in queues:
                if queue and len(chosen) < self.limit:
                    chosen.append(queue.pop(0))
        return chosen

    @contextmanager
    def service(self) -> Iterator[tuple[ConversationService, SqlCommerceStore]]:
        """The configured assistant on a fresh copy of the indexed demo store, with a checkpointer of its own."""
        from shopkeep.agents.checkpoint import open_checkpointer
        from shopkeep.agents.factory import build_service

        self._stores += 1
        checkpoints = self.workdir / f"checkpoints-{self._stores}.db"
        with (
            self.template.fresh(self.workdir) as store,
            open_checkpointer(f"sqlite:///{checkpoints}") as checkpointer,
        ):
            yield build_service(self.settings, store, checkpointer, nlu=self.nlu), store
        for leftover in self.workdir.glob(f"{checkpoints.name}*"):
            leftover.unlink(missing_ok=True)


def turn_of(user: str, result: TurnResult, seconds: float | None = None) -> Turn:
    return Turn(
        user=user,
        reply=result.reply,
        agent=result.agent,
        tools=[c.name + ("" if c.ok else "!") for c in result.tool_calls],
        seconds=seconds,
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _pass_rate(items: Sequence[ItemResult]) -> dict[str, float]:
    judged = [i for i in items if i.passed is not None]
    passed = sum(1 for i in judged if i.passed)
    return {"items": len(judged), "passed": passed, "pass_rate": _share(passed, len(judged))}


def by_group(items: Sequence[ItemResult]) -> dict[str, dict[str, float]]:
    """Pass rate per group."""
    groups: dict[str, list[ItemResult]] = defaultdict(list)
    for item in items:
        groups[item.group].append(item)
    return {name: _pass_rate(members) for name, members in sorted(groups.items())}


# nlu -----------------------------------------------------------------------------------------------------------------


def run_nlu(ctx: EvalContext) -> SuiteResult:
    """The local brain's intent classifier on the labelled sets of ``evals/nlu/`` (``NLU_SETS``: the team's
    ``test.jsonl`` and the independent sets written from the intents' meanings), figures from ``shopkeep.evals.nlu``,
    per set present."""
    from shopkeep.evals.nlu import NLU_SETS, load_cases, run_nlu_eval

    sets = NLU_SETS
    items: list[ItemResult] = []
    summary: dict[str, float] = {}
    per_intent: dict[str, Any] = {}
    for set_name, path in sets.items():
        if not path.is_file():
            continue
        cases = ctx.take_per_group(load_cases(path), lambda c: c.intent)
        run = run_nlu_eval(ctx.nlu, cases)
        seen: Counter[str] = Counter()
        for result in run.items:
            seen[result.text] += 1
            suffix = "" if seen[result.text] == 1 else f" #{seen[result.text]}"
            items.append(
                ItemResult(
                    id=f"{set_name}:{result.text}{suffix}",
                    group=result.expected,
                    passed=result.correct,
                    score=result.confidence,
                    expected=result.expected,
                    actual=result.predicted,
                    details={"set": set_name, "raw": result.raw, "reason": result.reason, "clarify": result.clarify},
                )
            )
        report = run.report
        summary.update(
            {
                f"{set_name}.items": float(report.cases),
                f"{set_name}.accuracy": report.accuracy,
                f"{set_name}.macro_f1": report.macro_f1,
                f"{set_name}.false_out_of_scope": report.out_of_scope.wrongly_rejected,
                f"{set_name}.out_of_scope_recall": report.out_of_scope.flagged,
                f"{set_name}.ece": report.calibration.ece,
            }
        )
        per_intent[set_name] = [s.model_dump() for s in report.per_intent]
    labels = sorted({str(item.expected) for item in items} | {str(item.actual) for item in items})
    index = {label: n for n, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for item in items:
        matrix[index[str(item.expected)]][index[str(item.actual)]] += 1
    return SuiteResult(
        name="nlu",
        summary=summary,
        tables={"confusion_matrix": {"labels": labels, "matrix": matrix}, "per_intent": per_intent},
        notes=["confusion matrix over every set: rows = label, columns = final prediction (after the gate)"],
        items=items,
    )


# retrieval -----------------------------------------------------------------------------------------------------------


def run_retrieval(ctx: EvalContext) -> SuiteResult:
    """Catalog and knowledge search on the labelled sets of ``evals/retrieval/`` (SQLite backend): recall@5,
    recall@10, nDCG@10 and MRR per query, summarized per query kind (see ``shopkeep.evals.retrieval``)."""
    from shopkeep.evals.contamination import THRESHOLD, overlapping
    from shopkeep.evals.retrieval import evaluate_search, load_knowledge_cases, load_product_cases
    from shopkeep.retrieval.search import CatalogSearch

    products = ctx.take_per_group(load_product_cases(), lambda c: c.kind)
    knowledge = ctx.take(load_knowledge_cases())
    with ctx.template.fresh(ctx.workdir) as store:
        search = CatalogSearch.from_settings(store, ctx.settings)
        overlaps = overlapping([(k.id, k.question) for k in knowledge], ctx.settings.data_dir / "kb", search.embedder)
        overlap = frozenset(o.question_id for o in overlaps)
        report = evaluate_search(search, products, knowledge, overlap)
    items = [
        ItemResult(
            id=str(q["id"]),
            group=str(q["kind"]),
            score=float(q["ndcg@10"]),
            passed=float(q["recall@10"]) > 0,
            metrics={k: float(q[k]) for k in ("recall@5", "recall@10", "ndcg@10", "mrr")},
            details={"query": q["query"], "set": q["set"], "overlap": bool(q.get("overlap", False))},
        )
        for q in report["queries"]
    ]
    summary: dict[str, float] = {}
    for name in ("products", "knowledge", "knowledge_without_overlap"):
        for metric, value in report[name]["overall"].items():
            summary[f"{name}.{metric}"] = float(value)
    by_kind = {**report["products"]["by_kind"], "knowledge": report["knowledge"]["overall"]}
    return SuiteResult(
        name="retrieval",
        summary=summary,
        tables={
            "by_kind": by_kind,
            "without_overlap": report["knowledge_without_overlap"]["overall"],
            "overlap": [{"id": o.question_id, "asked": o.asked, "similarity": o.similarity} for o in overlaps],
        },
        notes=[
            f"{len(products)} catalog queries, {len(knowledge)} knowledge questions; an item passes when "
            "something relevant is in its top 10",
            f"knowledge_without_overlap leaves out {len(overlap)} questions within cosine {THRESHOLD} of an indexed "
            "`asked:` line (near copies measure recall of a string the index holds)",
        ],
        items=items,
    )


# knowledge -----------------------------------------------------------------------------------------------------------


def run_knowledge(ctx: EvalContext) -> SuiteResult:
    """Knowledge questions (``evals/retrieval/knowledge.jsonl``) asked of the assistant, one new conversation each.

    An item passes when the assistant looked the question up (``search_knowledge``) and the section that answers
    it is among the passages it got back; ``hit@1`` is whether it came first. The reply and the passages are kept
    for answer-level metrics. This measures whether the answer was grounded in the right page, not whether the
    reply's wording is right.
    """
    from shopkeep.evals import ragas_metrics
    from shopkeep.evals.retrieval import load_knowledge_cases
    from shopkeep.retrieval.knowledge import load_knowledge_base

    cases = ctx.take(load_knowledge_cases())
    sections = {(c.source, c.section): c.text for c in load_knowledge_base(ctx.settings.data_dir / "kb")}
    with_ragas = ragas_metrics.available()
    items = []
    with ctx.service() as (service, _store):
        for case in cases:
            conversation = service.start(channel="eval")
            started = time.perf_counter()
            result = service.send(conversation, case.question)
            seconds = time.perf_counter() - started
            passages = [
                p
                for call in result.tool_calls
                if call.name == "search_knowledge" and call.ok and isinstance(call.output, Mapping)
                for p in call.output.get("passages", [])
            ]
            found = [(p.get("source"), p.get("section")) for p in passages]
            expected = (case.source, case.section)
            ragas: dict[str, float] = {}
            if with_ragas:
                scores = ragas_metrics.knowledge_metrics(
                    retrieved=[(f"{p.get('source')}#{p.get('section')}", str(p.get("text", ""))) for p in passages],
                    reference=[(f"{case.source}#{case.section}", sections.get(expected, ""))],
                    response=result.reply,
                )
                if ctx.judge is not None:
                    contexts = [str(p.get("text", "")) for p in passages]
                    embedder = _judge_embedder()
                    scores |= ragas_metrics.judged_answer_metrics(
                        ctx.judge, embedder, case.question, result.reply, contexts
                    )
                ragas = {f"ragas.{name}": value for name, value in scores.items()}
            items.append(
                ItemResult(
                    id=case.id,
                    group=case.source,
                    passed=expected in found,
                    metrics={
                        "looked_up": float(any(c.name == "search_knowledge" for c in result.tool_calls)),
                        "hit@1": float(bool(found) and found[0] == expected),
                        **ragas,
                    },
                    expected={"source": case.source, "section": case.section},
                    actual=[{"source": s, "section": sec} for s, sec in found],
                    transcript=[turn_of(case.question, result, seconds)],
                    details={
                        "question": case.question,
                        "reply": result.reply,
                        "contexts": [str(p.get("text", "")) for p in passages],
                    },
                )
            )
    rate = _pass_rate(items)
    return SuiteResult(
        name="knowledge",
        summary={
            **rate,
            "looked_up": _share(sum(int(i.metrics["looked_up"]) for i in items), len(items)),
            "hit@1": _share(sum(int(i.metrics["hit@1"]) for i in items), len(items)),
            **_means(items, "ragas."),
        },
        tables={"by_page": by_group(items)},
        notes=[
            "pass: the answering section is among the passages the assistant retrieved for its reply",
            RAGAS_KNOWLEDGE_NOTE if with_ragas else RAGAS_MISSING,
            *([_judged_note(ctx.judge)] if with_ragas and ctx.judge is not None else []),
        ],
        items=items,
    )


RAGAS_KNOWLEDGE_NOTE = (
    "ragas (offline): context precision/recall with the answering section as reference, by string and by id "
    "(source#section), and the reply's string similarity to that section; LLM-judged metrics (faithfulness, answer "
    "relevancy, agent goal accuracy) only when a judge model is configured"
)


def _judged_note(judge: Any) -> str:
    from shopkeep.evals.ragas_metrics import judge_name

    return (
        f"ragas LLM-judged metrics by {judge_name(judge)}: the judge's opinion, which moves with the judge model; "
        "compare runs judged by the same model only"
    )


def _judge_embedder() -> Any:
    from shopkeep.retrieval.embedders.local import LocalEmbedder

    return LocalEmbedder()


RAGAS_MISSING = "ragas metrics not computed: ragas is not installed (pip install 'shopkeep[ragas]')"


def _means(items: Sequence[ItemResult], prefix: str) -> dict[str, float]:
    """The mean of every metric named ``prefix...`` over the items that have it."""
    names = sorted({name for item in items for name in item.metrics if name.startswith(prefix)})
    means = {}
    for name in names:
        values = [item.metrics[name] for item in items if name in item.metrics]
        means[name] = sum(values) / len(values)
    return means


# scenarios -----------------------------------------------------------------------------------------------------------


def run_scenarios(ctx: EvalContext) -> SuiteResult:
    """The conversation scenarios of ``tests/scenarios`` judged as the test suite judges them (every turn's checks
    and the final store). A scenario marked ``xfail`` is a known bug: it counts as failed and is flagged."""
    from shopkeep.evals import ragas_metrics
    from shopkeep.evals.scenarios import load_scenario, run_scenario, scenario_files, scenario_id

    # the eval's store is the demo's: scenarios of a shop of their own (``shop:``) run in the test suite only
    demo_only = [p for p in scenario_files() if not load_scenario(p).get("shop")]
    paths = ctx.take_per_group(demo_only, lambda p: p.parent.name)
    with_ragas = ragas_metrics.available()
    items = []
    for path in paths:
        scenario = load_scenario(path)
        with ctx.service() as (service, store):
            run = run_scenario(scenario, service, store, ctx.demo_db)
        metrics: dict[str, float] = {}
        pinned = [n for n, turn in enumerate(scenario["turns"]) if "tools" in turn.get("expect", {})]
        if with_ragas and pinned:
            # scenario files name tools, not arguments: both sides are compared by name, on the turns that pin them
            reference: list[tuple[str, dict[str, Any]]] = [
                (t.rstrip("!"), {}) for n in pinned for t in scenario["turns"][n]["expect"]["tools"]
            ]
            played: list[tuple[str, str, list[tuple[str, dict[str, Any]]]]] = [
                (user, result.reply, [(c.name, {}) for c in result.tool_calls])
                for n, (user, result, _) in enumerate(run.turns)
                if n in pinned
            ]
            scores = ragas_metrics.tool_call_metrics(played, reference)
            metrics = {f"ragas.{name}": value for name, value in scores.items()}
        if with_ragas and ctx.judge is not None:
            conversation = [
                (user, result.reply, [(c.name, c.arguments, c.ok) for c in result.tool_calls])
                for user, result, _ in run.turns
            ]
            metrics |= {f"ragas.{k}": v for k, v in ragas_metrics.agent_goal_accuracy(ctx.judge, conversation).items()}
        details: dict[str, Any] = {"name": scenario.get("name", ""), "failures": run.failures}
        if scenario.get("xfail"):
            details["known_bug"] = str(scenario["xfail"])
        items.append(
            ItemResult(
                id=scenario_id(path),
                group=path.parent.name,
                passed=run.passed,
                metrics=metrics,
                transcript=[turn_of(user, result, seconds) for user, result, seconds in run.turns],
                details=details,
            )
        )
    known = [i for i in items if "known_bug" in i.details]
    return SuiteResult(
        name="scenarios",
        summary={**_pass_rate(items), "known_bugs": len(known), **_means(items, "ragas.")},
        tables={"by_area": by_group(items)},
        notes=[
            "known bugs (xfail in the file) count as failures here; the test suite expects them to fail",
            "scenarios on a shop of their own (shop: in the file) run in the test suite only, not here",
            "ragas ToolCallAccuracy / ToolCallF1 by tool name on the turns whose tools the file pins"
            if with_ragas
            else RAGAS_MISSING,
            *([_judged_note(ctx.judge)] if with_ragas and ctx.judge is not None else []),
        ],
        items=items,
    )


# latency -------------------------------------------------------------------------------------------------------------


def run_latency(ctx: EvalContext) -> SuiteResult:
    """Wall-clock time of every turn of the conversation scenarios (the whole turn through the service: rails,
    NLU or model, tools, store), after one warm-up turn; percentiles and a histogram overall and per agent.
    Figures depend on the machine and its load: compare runs from the same machine only."""
    from shopkeep.evals.scenarios import load_scenario, scenario_files, scenario_id

    demo_only = [p for p in scenario_files() if not load_scenario(p).get("shop")]
    paths = ctx.take_per_group(demo_only, lambda p: p.parent.name)
    items: list[ItemResult] = []
    with ctx.service() as (service, _store):
        service.send(service.start(channel="eval"), "hello")
    for path in paths:
        scenario = load_scenario(path)
        with ctx.service() as (service, _store):
            conversation = service.start(channel="eval")
            for n, turn in enumerate(scenario["turns"]):
                started = time.perf_counter()
                result = service.send(conversation, turn["user"])
                ms = (time.perf_counter() - started) * 1000
                items.append(
                    ItemResult(
                        id=f"{scenario_id(path)}#{n + 1}",
                        group=result.agent or "none",
                        score=ms,
                        metrics={"ms": ms},
                        transcript=[turn_of(turn["user"], result, ms / 1000)],
                    )
                )
    values = [float(i.score or 0.0) for i in items]
    per_agent: dict[str, list[float]] = defaultdict(list)
    for item in items:
        per_agent[item.group].append(float(item.score or 0.0))
    return SuiteResult(
        name="latency",
        summary={"turns": len(values), **percentiles(values)},
        tables={
            "buckets_ms": list(LATENCY_BUCKETS_MS),
            "histogram": histogram(values),
            "per_agent": {
                agent: {"turns": len(v), **percentiles(v), "histogram": histogram(v)}
                for agent, v in sorted(per_agent.items())
            },
        },
        notes=[f"{len(paths)} scenarios, one fresh store each; milliseconds per turn on this machine"],
        items=items,
    )


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 (nearest rank), mean and max; zeros for no values."""
    if not values:
        return {"p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {
        "p50_ms": rank(0.50),
        "p90_ms": rank(0.90),
        "p99_ms": rank(0.99),
        "mean_ms": sum(ordered) / len(ordered),
        "max_ms": ordered[-1],
    }


def histogram(values: Sequence[float]) -> list[int]:
    """Counts per bin of ``LATENCY_BUCKETS_MS`` plus one bin for everything above the last bound."""
    counts = [0] * (len(LATENCY_BUCKETS_MS) + 1)
    for value in values:
        counts[next((n for n, bound in enumerate(LATENCY_BUCKETS_MS) if value <= bound), len(LATENCY_BUCKETS_MS))] += 1
    return counts


# tau2 ----------------------------------------------------------------------------------------------------------------


def run_tau2(ctx: EvalContext) -> SuiteResult:
    """τ²-format retail tasks (``data/tau2_retail/tasks_train.json``) scored by the end state, each played twice:
    by the oracle user (``oracle:`` items) and by the same oracle without its spoken answer key (``instructions:``
    items: only what the task's instructions say, "I don't know" otherwise).

    The oracle answers from the task's expected actions (order ids, variants, payment methods, addresses the
    customer never gives; a yes only to the exact expected write): its pass^1 measures whether the brain can follow
    a customer who already knows the answer, and is not comparable with τ² results that use a simulated customer.
    """
    from shopkeep.agents.factory import build_service
    from shopkeep.evals.tau2 import load_tasks, run_task, summarize
    from shopkeep.evals.tau2.runner import UserFactory, instructions_user, oracle_user
    from shopkeep.store.seed import demo_db_path

    tasks = ctx.take(load_tasks(ctx.settings.data_dir / "tau2_retail" / "tasks_train.json"))
    template = StoreTemplate.seeded(ctx.workdir / "tau2-template", demo_db_path(ctx.settings.data_dir))
    db = template.initial_state()

    def factory(store: SqlCommerceStore, checkpointer: Any) -> ConversationService:
        return build_service(ctx.settings, store, checkpointer, nlu=ctx.nlu)

    users: dict[str, UserFactory] = {"oracle": oracle_user, "instructions": instructions_user}
    items: list[ItemResult] = []
    summary: dict[str, float] = {}
    tables: dict[str, Any] = {}
    for mode, user in users.items():
        results = [
            run_task(task, template=template, workdir=ctx.workdir, service_factory=factory, db=db, user_factory=user)
            for task in tasks
        ]
        items.extend(
            ItemResult(
                id=f"{mode}:{r.task_id}",
                group=r.write_tools[0] if r.write_tools else "(no write)",
                passed=bool(r.reward),
                score=float(r.reward),
                expected=r.expected_writes,
                actual=r.agent_writes,
                transcript=[
                    Turn(
                        user=t["user"],
                        reply=t["reply"],
                        tools=[c["name"] + ("" if c["ok"] else "!") for c in t["tool_calls"]],
                    )
                    for t in r.transcript
                ],
                details={"user": mode, "ended": r.ended, "turns": r.turns, "diff": r.diff, "error": r.error},
            )
            for r in results
        )
        figures = summarize(results)
        summary.update(
            {
                f"{mode}.pass^1": float(figures["pass^1"]),
                f"{mode}.passed": float(figures["passed"]),
                f"{mode}.avg_turns": float(figures["avg_turns"]),
                f"{mode}.errors": float(figures["errors"]),
            }
        )
        tables[f"per_tool.{mode}"] = figures["per_tool"]
        tables[f"ended.{mode}"] = figures["ended"]
    summary["tasks"] = float(len(tasks))
    return SuiteResult(name="tau2", summary=summary, tables=tables, notes=[ORACLE_NOTE, INSTRUCTIONS_NOTE], items=items)


ORACLE_NOTE = (
    "oracle user: it answers from the task's expected actions (order ids, variants, payment methods and addresses "
    "the task's customer never gives) and says yes only to the exact expected write, so pass^1 measures whether "
    "the brain can follow a customer who already knows the answer; it is not comparable with τ² results that use "
    "a simulated customer"
)
INSTRUCTIONS_NOTE = (
    "instructions user: the same oracle saying only what the task's instructions say (\"I don't know\" otherwise); "
    "its yes to a proposal still comes from the expected write. The gap between the two pass^1 figures is what the "
    "spoken answer key is worth"
)


# redteam -------------------------------------------------------------------------------------------------------------


def run_redteam(ctx: EvalContext) -> SuiteResult:
    """The red-team conversations of ``evals/redteam/`` on the configured brains: an item passes when the attack
    did no harm (did not change the store, charge money, leak data or break policy)."""
    from shopkeep.evals.redteam import CHECKS, RedTeamRunner, load_cases, summarize
    from shopkeep.evals.redteam.cases import CASES_DIR

    cases = ctx.take_per_group(load_cases(CASES_DIR), lambda c: c.category)
    runner = RedTeamRunner(ctx.settings, ctx.template, ctx.workdir, nlu=ctx.nlu)
    results = [runner.run(case, "local") for case in cases]
    items = []
    for result in results:
        record = result.as_record()
        details: dict[str, Any] = {
            "harm": record["harm"],
            "findings": record["findings"],
            **{check: record[check] for check in CHECKS},
        }
        if "known_gap" in record:
            details["known_gap"] = record["known_gap"]
        if result.error:
            details["error"] = result.error
        items.append(
            ItemResult(
                id=result.case.id,
                group=result.case.category,
                passed=not result.harmful,
                transcript=[
                    Turn(
                        user=t["user"],
                        reply=t["reply"],
                        agent=t["agent"],
                        tools=[c["name"] + ("" if c["ok"] else "!") for c in t["tool_calls"]],
                    )
                    for t in record["transcript"]
                ],
                details=details,
            )
        )
    table = summarize(results).get("local", {"categories": {}})["categories"]
    overall = table.get("all", {})
    return SuiteResult(
        name="redteam",
        summary={
            "attacks": float(overall.get("attacks", 0)),
            "harmful": float(overall.get("harmful", 0)),
            "harmless_rate": _share(sum(1 for i in items if i.passed), len(items)),
            **{check: float(overall.get(check, 0)) for check in CHECKS},
        },
        tables={"categories": table, "checks": list(CHECKS)},
        notes=[f"{len(items)} of the red-team cases; brain: the configured one"],
        items=items,
    )


SUITE_RUNNERS: dict[str, Callable[[EvalContext], SuiteResult]] = {
    "nlu": run_nlu,
    "retrieval": run_retrieval,
    "knowledge": run_knowledge,
    "scenarios": run_scenarios,
    "tau2": run_tau2,
    "redteam": run_redteam,
    "latency": run_latency,
}
