"""``shopkeep eval ...``: the eval suites from the command line, one function per command.

The graph, the brains and the eval packages are imported when a command runs, not when the CLI starts.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shopkeep.cli._common import StoreOption, console, fail
from shopkeep.evals.compare import Rate, SuiteComparison
from shopkeep.evals.results import EvalRun
from shopkeep.settings import get_settings

if TYPE_CHECKING:
    from shopkeep.evals.nlu import NLUReport

eval_app = typer.Typer(help="Run the eval suites and report their scores.", no_args_is_help=True)

TAU2_ORACLE_NOTE = (
    "The oracle user answers from the task's expected actions (ids, variants, payment methods and addresses the "
    "task's customer never gives; yes only to the exact expected write): its pass^1 measures whether the brain can "
    "follow a customer who already knows the answer and is not comparable with τ² results of a simulated customer."
)


@eval_app.command("run")
def run_command(
    suites: Annotated[
        list[str],
        typer.Argument(
            help="Suites to run, in order: nlu, retrieval, knowledge, scenarios, tau2, redteam, latency (or all). "
            "tau2 uses the oracle user: " + TAU2_ORACLE_NOTE,
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for results.json and report.html (default: var/evals/RUN_ID)."),
    ] = None,
    brain: Annotated[
        str, typer.Option("--brain", help="local (the offline brain) or llm (the configured model).")
    ] = "local",
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most N items per suite (a quick subset).")
    ] = None,
) -> None:
    """Run eval suites and write DIR/results.json (one schema for every suite) and DIR/report.html.

    The LLM-judged ragas metrics (faithfulness, answer relevancy, agent goal accuracy) are added when a model is
    configured (SHOPKEEP_LLM__PROVIDER, or a judge of its own: SHOPKEEP_LLM__AGENTS__JUDGE__PROVIDER / __MODEL)."""
    from shopkeep.evals.results import SUITES
    from shopkeep.evals.run import run_suites

    chosen = list(SUITES) if suites == ["all"] else list(dict.fromkeys(suites))
    unknown = [name for name in chosen if name not in SUITES]
    if unknown:
        fail(f"unknown suite {unknown[0]!r}: choose from {', '.join(SUITES)} or all")
    if brain not in ("local", "llm"):
        fail(f"unknown brain {brain!r}: use local or llm")
    settings = get_settings()
    target = out or settings.var_dir / "evals" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        run = run_suites(
            chosen,
            settings,
            target,
            brain="llm" if brain == "llm" else "local",
            limit=limit,
            log=lambda line: console.print(f"[dim]{line}[/dim]"),
        )
    except ValueError as exc:
        fail(str(exc))
    screen = Console()
    for name, suite in run.suites.items():
        figures = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in suite.summary.items())
        screen.print(f"[bold]{name}[/bold] ({suite.seconds:.1f} s): {figures}")
    console.print(f"wrote {target / 'results.json'} and {target / 'report.html'}")


@eval_app.command("compare")
def compare_command(
    run_a: Annotated[Path, typer.Argument(help="The baseline run (its folder or results.json).", show_default=False)],
    run_b: Annotated[Path, typer.Argument(help="The run to judge against it.", show_default=False)],
    fail_on_regression: Annotated[
        bool,
        typer.Option("--fail-on-regression", help="Exit with 1 when a suite regressed significantly (for CI gates)."),
    ] = False,
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.0, max=1.0, help="Significance level of the paired test.")
    ] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    show: Annotated[int, typer.Option("--show", min=0, help="How many changed item ids to list per suite.")] = 20,
) -> None:
    """What got better and worse from RUN_A to RUN_B, item by item: pass rates with 95% Wilson intervals, and
    McNemar's exact test on the items both runs hold. A significant regression: more items got worse than better,
    with p < alpha."""
    from shopkeep.evals.compare import compare_runs

    try:
        a, b = EvalRun.read(run_a), EvalRun.read(run_b)
    except ValueError as exc:
        fail(str(exc))
    comparisons = compare_runs(a, b, alpha)
    if not comparisons:
        fail("the two runs share no suite")
    regressions = [c.suite for c in comparisons if c.significant_regression]
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "a": {"run_id": a.meta.run_id, "git_commit": a.meta.git_commit},
                    "b": {"run_id": b.meta.run_id, "git_commit": b.meta.git_commit},
                    "suites": [c.as_record() for c in comparisons],
                    "significant_regressions": regressions,
                },
                indent=2,
            )
            + "\n"
        )
    else:
        _print_comparison(a, b, comparisons, show)
    if fail_on_regression and regressions:
        console.print(f"[red]significant regression[/red] in {', '.join(regressions)}")
        raise typer.Exit(1)


def _print_comparison(a: EvalRun, b: EvalRun, comparisons: list[SuiteComparison], show: int) -> None:
    out = Console(width=max(Console().width, 120))
    for label, run in (("A", a), ("B", b)):
        out.print(f"{label} = {run.meta.run_id} (commit {(run.meta.git_commit or '?')[:10]}, brain {run.meta.brain})")
    table = Table(
        "suite", "A pass rate [95% CI]", "B pass rate [95% CI]", "paired", "better", "worse", "McNemar p", "verdict"
    )
    for c in comparisons:

        def rate(r: Rate) -> str:
            low, high = r.interval
            return f"{r.value:.3f} [{low:.3f}, {high:.3f}] ({r.passed}/{r.total})" if r.total else "-"

        verdict = "[red]regressed[/red]" if c.significant_regression else ""
        if not verdict and len(c.improved) > len(c.regressed) and c.p_value < 0.05:
            verdict = "[green]improved[/green]"
        table.add_row(
            c.suite,
            rate(c.rate_a),
            rate(c.rate_b),
            str(c.paired),
            str(len(c.improved)),
            str(len(c.regressed)),
            f"{c.p_value:.4f}" if c.paired else "-",
            verdict,
        )
    out.print(table)
    for c in comparisons:
        for label, ids in (("better", c.improved), ("worse", c.regressed)):
            if ids and show:
                more = f" (+{len(ids) - show} more)" if len(ids) > show else ""
                out.print(f"{c.suite} {label}: " + ", ".join(ids[:show]) + more)
        if c.mean_score:
            out.print(
                f"{c.suite} mean score over {int(c.mean_score['paired'])} paired items: "
                f"{c.mean_score['a']:.3f} -> {c.mean_score['b']:.3f}"
            )


@eval_app.command("tau2")
def tau2_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write the JSON report (summary and every task).")],
    tasks: Annotated[
        Path | None,
        typer.Option("--tasks", help="A τ² task file (default: data/tau2_retail/tasks_train.json)."),
    ] = None,
    user: Annotated[
        str,
        typer.Option(
            "--user",
            help="The simulated customer: oracle (answers from the expected actions: an answer key), instructions "
            "(says only what the task's instructions say, else \"I don't know\"), or llm (the configured model).",
        ),
    ] = "oracle",
    trials: Annotated[
        int, typer.Option("--trials", min=1, help="Run every task N times and report pass^k for k = 1..N.")
    ] = 1,
    store: StoreOption = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Run at most N tasks.")] = None,
    task_ids: Annotated[str | None, typer.Option("--task-ids", help="Only these task ids, e.g. 1,2,3.")] = None,
) -> None:
    """Run τ² tasks against the assistant with a simulated customer; report pass^1 overall and per write tool.

    The oracle user answers from the task's expected actions (ids, variants, payment methods and addresses the
    task's customer never gives; yes only to the exact expected write): its pass^1 measures whether the brain can
    follow a customer who already knows the answer and is not comparable with τ² results of a simulated customer.
    --user instructions gives only what the instructions say; compare the two to see what the answer key is worth.

    Each task starts from a fresh copy of the demo store (or of the SQLite store --store names; a server store is
    reset and re-seeded per task). Reward 1 when the final store equals the replay of the task's expected actions.
    """
    from shopkeep.evals.tau2 import StoreTemplate, load_tasks, run_task, summarize
    from shopkeep.evals.tau2.passk import pass_hat_ks
    from shopkeep.evals.tau2.runner import UserFactory, instructions_user, local_service_factory, oracle_user
    from shopkeep.store.seed import demo_db_path

    if user not in ("oracle", "instructions", "llm"):
        fail(f"unknown user {user!r}: use oracle, instructions or llm")
    settings = get_settings()
    user_factory: UserFactory = oracle_user if user == "oracle" else instructions_user
    if user == "llm":
        from shopkeep.evals.tau2.llm_user import llm_user_factory

        try:
            user_factory = llm_user_factory(settings)
        except (ValueError, ImportError) as exc:
            fail(str(exc))
    path = tasks or settings.data_dir / "tau2_retail" / "tasks_train.json"
    if not path.is_file():
        fail(f"no such file: {path}")
    wanted = [i.strip() for i in task_ids.split(",") if i.strip()] if task_ids else None
    try:
        selected = load_tasks(path, task_ids=wanted, limit=limit)
    except (ValueError, KeyError) as exc:
        fail(str(exc))
    if not selected:
        fail(f"{path} holds no tasks")
    workdir = Path(tempfile.mkdtemp(prefix="shopkeep-tau2-"))
    try:
        try:
            template = StoreTemplate.for_url(store, workdir / "template", demo_db_path(settings.data_dir))
        except (FileNotFoundError, ValueError) as exc:
            fail(str(exc))
        db = template.initial_state()
        console.print("[dim]Loading the assistant…[/dim]")
        factory = local_service_factory(settings)
        results = []
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            bar = progress.add_task("τ² tasks", total=len(selected) * trials)
            for task in selected:
                for trial in range(1, trials + 1):
                    progress.update(bar, description=f"τ² task {task.task_id}" + (f" #{trial}" if trials > 1 else ""))
                    result = run_task(
                        task,
                        template=template,
                        workdir=workdir,
                        service_factory=factory,
                        db=db,
                        user_factory=user_factory,
                    )
                    results.append(result)
                    mark = "[green]pass[/green]" if result.reward else "[red]fail[/red]"
                    progress.console.print(f"task {task.task_id}: {mark} ({result.turns} turns, ended: {result.ended})")
                    progress.advance(bar)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    by_task: dict[str, list[int]] = {}
    for result in results:
        by_task.setdefault(result.task_id, []).append(result.reward)
    pass_k = {f"pass^{k}": score for k, score in pass_hat_ks(by_task).items()}
    summary = {"tasks_file": str(path), "user": user, "trials": trials, "pass^k": pass_k, **summarize(results)}
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"summary": summary, "tasks": [r.as_record() for r in results]}
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    _print_summary(summary)
    if user == "oracle":
        console.print(f"[yellow]note:[/yellow] {TAU2_ORACLE_NOTE}")
    console.print(f"wrote {out}")


def _print_summary(summary: dict[str, Any]) -> None:
    title = f"τ² eval, {summary['user']} user"
    table = Table("write tool", "tasks", "passed", "pass^1", title=title, title_justify="left")
    for tool, score in summary["per_tool"].items():
        table.add_row(tool, str(score["tasks"]), str(score["passed"]), f"{score['pass^1']:.3f}")
    table.add_section()
    table.add_row("[bold]all tasks[/bold]", str(summary["tasks"]), str(summary["passed"]), f"{summary['pass^1']:.3f}")
    out = Console()
    out.print(table)
    out.print(f"average user turns: {summary['avg_turns']}; errors: {summary['errors']}")
    if summary.get("trials", 1) > 1:
        out.print("  ".join(f"{k} = {v:.3f}" for k, v in summary["pass^k"].items()) + f" ({summary['trials']} trials)")


@eval_app.command("nlu")
def nlu_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the full reports as JSON: an object keyed by set name.")
    ] = False,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Which labelled set: team (evals/nlu/test.jsonl), independent (evals/nlu/independent.jsonl: the 27 "
            "customer-support intents), independent_shopping (evals/nlu/independent_shopping.jsonl: the 20 shopping "
            "and conversation intents) or all (repeatable; default all: every set present).",
        ),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Score this labelled JSONL {text, intent} instead of the sets.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="How many confusions and weakest intents to show.")] = 10,
) -> None:
    """Score the local brain's intent classifier: accuracy, macro-F1, the out-of-scope gate (false-out-of-scope
    rate and recall) and the most frequent confusions, on the team's test set and on the independent sets."""
    from shopkeep.evals.nlu import NLU_SETS, NLUCase, evaluate_nlu, load_cases
    from shopkeep.llm.local.nlu import NLU

    chosen: dict[str, Path] = {}
    if file is not None:
        if sets:
            fail("use --file or --set, not both")
        chosen[file.stem] = file
    else:
        names = sets or ["all"]
        for name in names:
            if name == "all":
                chosen.update({n: p for n, p in NLU_SETS.items() if p.is_file()})
            elif name in NLU_SETS:
                chosen[name] = NLU_SETS[name]
            else:
                fail(f"unknown set {name!r}: use {', '.join([*NLU_SETS, 'all'])}")
    loaded: dict[str, tuple[Path, list[NLUCase]]] = {}
    for name, path in chosen.items():
        if not path.is_file():
            fail(f"no such file: {path}")
        try:
            cases = load_cases(path)
        except ValueError as exc:
            fail(str(exc))
        if not cases:
            fail(f"{path} holds no labelled utterances")
        loaded[name] = (path, cases)
    nlu = NLU.load(get_settings())
    reports = {name: evaluate_nlu(nlu, cases) for name, (_, cases) in loaded.items()}
    if as_json:
        payload = {name: report.model_dump(mode="json") for name, report in reports.items()}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    out = Console()
    for name, report in reports.items():
        _print_nlu_report(out, f"{name}: {loaded[name][0].name}", report, top)
    if len(reports) > 1:
        _print_nlu_overview(out, reports)


def _print_nlu_overview(out: Console, reports: dict[str, NLUReport]) -> None:
    """One row per set, so the sets' figures can be read side by side."""
    table = Table(
        "set",
        "utterances",
        "accuracy",
        "macro-F1",
        "false out-of-scope",
        "out-of-scope recall",
        title="NLU eval, every set",
        title_justify="left",
    )
    for name, report in reports.items():
        oos = report.out_of_scope
        table.add_row(
            name,
            str(report.cases),
            f"{report.accuracy:.4f}",
            f"{report.macro_f1:.4f}",
            f"{oos.wrongly_rejected:.4f}",
            f"{oos.flagged:.4f}" if oos.cases else "-",
        )
    out.print(table)


def _print_nlu_report(out: Console, title: str, report: NLUReport, top: int) -> None:
    summary = Table("metric", "value", title=f"NLU eval, {title} ({report.cases} utterances)", title_justify="left")
    summary.add_row("accuracy", f"{report.accuracy:.4f}")
    summary.add_row("macro-F1", f"{report.macro_f1:.4f}")
    summary.add_row("top-1 accuracy before the out-of-scope gate", f"{report.raw_accuracy:.4f}")
    oos = report.out_of_scope
    summary.add_row(
        f"false-out-of-scope rate: in-scope items rejected ({oos.in_scope_cases})", f"{oos.wrongly_rejected:.4f}"
    )
    summary.add_row(f"out-of-scope recall: out_of_scope items flagged ({oos.cases})", f"{oos.flagged:.4f}")
    summary.add_row("asks to clarify", f"{oos.clarify:.4f}")
    calibration = report.calibration
    summary.add_row(
        "mean confidence, correct / incorrect",
        f"{calibration.confidence_correct:.3f} / {calibration.confidence_incorrect:.3f}",
    )
    summary.add_row("expected calibration error", f"{calibration.ece:.4f}")
    if report.training:
        training = report.training
        summary.add_row("training 5-fold CV accuracy", f"{training.get('cv_accuracy', 0.0):.4f}")
        if "cv_false_out_of_scope" in training:
            # the gate on the out-of-fold predictions: a dev set carved from the training data (with noisy copies)
            summary.add_row(
                "training CV: false-out-of-scope rate / out-of-scope recall",
                f"{training['cv_false_out_of_scope']:.4f} / {training.get('cv_out_of_scope_recall', 0.0):.4f}",
            )
    out.print(summary)
    worst = Table("intent", "support", "precision", "recall", "F1", title="Weakest intents", title_justify="left")
    for score in sorted(report.per_intent, key=lambda s: (s.f1, s.intent))[:top]:
        worst.add_row(
            score.intent, str(score.support), f"{score.precision:.3f}", f"{score.recall:.3f}", f"{score.f1:.3f}"
        )
    out.print(worst)
    confusions = Table(
        "expected", "predicted", "count", "example", title="Most frequent confusions", title_justify="left"
    )
    for confusion in report.confusions[:top]:
        confusions.add_row(confusion.expected, confusion.predicted, str(confusion.count), confusion.examples[0])
    out.print(confusions)
    out.print("decisions: " + ", ".join(f"{reason} {count}" for reason, count in oos.reasons.items()))


@eval_app.command("redteam")
def redteam_command(
    brain: Annotated[
        str, typer.Option("--brain", help="local (the configured brains), compromised (a model that attacks), or both.")
    ] = "local",
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the JSON report (every case).")] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="Only this category (repeatable).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N cases per category.")] = None,
    cases: Annotated[
        Path | None, typer.Option("--cases", help="A folder of case files (default: evals/redteam/).")
    ] = None,
) -> None:
    """Run the red-team conversations and count, per category, the attacks that changed the store, charged money,
    leaked data or broke policy. Exits with 1 when any attack did harm."""
    from shopkeep.evals.redteam import BRAINS, RedTeamRunner, indexed_template, load_cases, select, summarize
    from shopkeep.evals.redteam.cases import CASES_DIR

    brains = [b for b in BRAINS if brain in (b, "both")]
    if not brains:
        fail(f"unknown brain {brain!r}: use local, compromised or both")
    try:
        chosen = select(load_cases(cases or CASES_DIR), categories=category, limit=limit)
    except ValueError as exc:
        fail(str(exc))
    if not chosen:
        fail("no red-team cases selected")
    settings = get_settings()
    workdir = Path(tempfile.mkdtemp(prefix="shopkeep-redteam-"))
    results = []
    try:
        console.print("[dim]Seeding and indexing the demo store, loading the assistant…[/dim]")
        runner = RedTeamRunner(settings, indexed_template(settings, workdir / "template"), workdir)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            bar = progress.add_task("red team", total=len(chosen) * len(brains))
            for name in brains:
                for case in chosen:
                    progress.update(bar, description=f"{name}: {case.id}")
                    result = runner.run(case, name)
                    results.append(result)
                    if result.harmful:
                        progress.console.print(f"[red]harm[/red] {name} {case.id}: {result.findings[0].detail}")
                    progress.advance(bar)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    summary = summarize(results)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        report = {"summary": summary, "cases": [r.as_record() for r in results]}
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        console.print(f"wrote {out}")
    screen = Console(width=max(Console().width, 110))
    for brain_name, scored in summary.items():
        table = Table(
            "category",
            "attacks",
            "changed the store",
            "charged money",
            "leaked data",
            "broke policy",
            "harmful",
            title=f"Red team: {brain_name} brain",
            title_justify="left",
        )
        for row_name, row in scored["categories"].items():
            if row_name == "all":
                table.add_section()
            table.add_row(
                row_name,
                *(
                    str(row[key])
                    for key in ("attacks", "changed_store", "charged_money", "leaked_data", "broke_policy")
                ),
                f"[red]{row['harmful']}[/red]" if row["harmful"] else "0",
            )
        screen.print(table)
        if scored["harmful_cases"]:
            screen.print(f"harmful cases ({brain_name}): " + ", ".join(scored["harmful_cases"]))
    if any(r.harmful for r in results):
        raise typer.Exit(1)


@eval_app.command("confirmation")
def confirmation_command(
    file: Annotated[
        Path | None, typer.Option("--file", help="A labelled JSONL {id, tool, proposal, reply, label} to score.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Score the confirmation parser on customers' replies to proposals (evals/confirmation/replies.jsonl): precision
    and recall of yes (a yes executes the proposal, so its precision must be 1.0), per split (dev: what the parser
    was tuned on; held_out: read only for figures)."""
    from shopkeep.agents.confirmation import Reply
    from shopkeep.evals.confirmation import CONFIRMATION_SET, evaluate, load_replies

    path = file or CONFIRMATION_SET
    if not path.is_file():
        fail(f"no such file: {path}")
    try:
        rows = load_replies(path)
    except ValueError as exc:
        fail(str(exc))
    reports = [evaluate(rows, split) for split in ("dev", "held_out", "all")]
    figures = {
        r.split: {
            "replies": r.total,
            "accuracy": round(r.accuracy, 4),
            "yes_precision": round(r.precision(Reply.YES), 4),
            "yes_recall": round(r.recall(Reply.YES), 4),
            "false_yes": r.false_yes,
            "no_recall": round(r.recall(Reply.NO), 4),
        }
        for r in reports
    }
    if as_json:
        sys.stdout.write(json.dumps(figures, indent=2) + "\n")
        return
    table = Table(title=f"confirmation parser on {path.name}")
    for column in ("split", "replies", "accuracy", "yes precision", "yes recall", "false yes", "no recall"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split, f in figures.items():
        table.add_row(
            split,
            str(f["replies"]),
            f"{f['accuracy']:.3f}",
            f"{f['yes_precision']:.3f}",
            f"{f['yes_recall']:.3f}",
            str(f["false_yes"]),
            f"{f['no_recall']:.3f}",
        )
    Console().print(table)
