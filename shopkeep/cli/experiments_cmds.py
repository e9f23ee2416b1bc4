"""``shopkeep experiments ...``: per-variant outcomes of the running prompt experiment, and a gated promotion."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shopkeep.cli._common import StoreOption, console, fail, open_cli_store
from shopkeep.settings import get_settings

experiments_app = typer.Typer(help="Prompt experiments: outcomes per variant, promotion.", no_args_is_help=True)


def _configured(name: str) -> list[str]:
    experiment = get_settings().experiment
    if experiment.name != name:
        fail(f"no running experiment named {name!r} (SHOPKEEP_EXPERIMENT__NAME is {experiment.name!r})")
    return list(experiment.variants)


@experiments_app.command("report")
def report_command(
    name: Annotated[str, typer.Argument(help="The experiment (SHOPKEEP_EXPERIMENT__NAME).", show_default=False)],
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per variant: conversations, resolved without a human, escalated, converted (an order placed), thumbs up among
    rated conversations (95% Wilson intervals), mean customer turns of the resolved ones, mean order value and
    revenue per conversation (95% bootstrap interval)."""
    from shopkeep.evals.experiments import report

    variants = _configured(name)
    opened = open_cli_store(store)
    try:
        rows = report(opened, variants)
    finally:
        opened.close()
    if as_json:
        sys.stdout.write(json.dumps({"experiment": name, "variants": rows}, indent=2) + "\n")
        return
    table = Table(
        "variant",
        "conversations",
        "resolved, no human",
        "escalated",
        "converted",
        "thumbs up",
        "turns",
        "order value",
        "revenue / conversation",
    )
    for variant, row in rows.items():
        turns = row["turns_to_resolution"]
        money = row["revenue"].items()
        table.add_row(
            variant,
            str(row["conversations"]),
            *(_rate(row[key]) for key in ("resolved_without_human", "escalated", "converted", "thumbs_up")),
            "-" if turns is None else f"{turns:.1f}",
            "\n".join(f"{currency} {m['order_value']} ({m['orders']})" for currency, m in money) or "-",
            "\n".join(
                f"{currency} {m['per_conversation']} [{m['per_conversation_ci95'][0]}, {m['per_conversation_ci95'][1]}]"
                for currency, m in money
            )
            or "-",
        )
    Console(width=max(Console().width, 180)).print(table)


def _rate(rate: dict[str, Any]) -> str:
    if not rate["total"]:
        return "-"
    low, high = rate["ci95"]
    return f"{rate['rate']:.2f} [{low:.2f}, {high:.2f}] ({rate['passed']}/{rate['total']})"


@experiments_app.command("promote")
def promote_command(
    name: Annotated[str, typer.Argument(help="The experiment.", show_default=False)],
    variant: Annotated[str, typer.Argument(help="The variant to give all traffic to.", show_default=False)],
    baseline: Annotated[Path, typer.Option("--baseline", help="Eval run of the current prompts (eval run --out).")],
    candidate: Annotated[Path, typer.Option("--candidate", help="Eval run with the variant's prompts.")],
    alpha: Annotated[float, typer.Option("--alpha", min=0.0, max=1.0, help="Significance of the gate.")] = 0.05,
) -> None:
    """Promote a variant only when the eval gate passes (no significant regression from --baseline to --candidate,
    as `shopkeep eval compare --fail-on-regression` judges it); prints the settings that give it all traffic.
    Exits with 1, promoting nothing, while the gate fails."""
    from shopkeep.evals.compare import compare_runs
    from shopkeep.evals.results import EvalRun

    variants = _configured(name)
    if variant not in variants:
        fail(f"{name} has no variant {variant!r} (variants: {', '.join(variants)})")
    try:
        runs = EvalRun.read(baseline), EvalRun.read(candidate)
    except ValueError as exc:
        fail(str(exc))
    regressed = [c for c in compare_runs(*runs, alpha) if c.significant_regression]
    if regressed:
        for c in regressed:
            console.print(
                f"[red]{c.suite}[/red]: {len(c.regressed)} items worse, {len(c.improved)} better, p={c.p_value:.4f}"
            )
        console.print(f"[red]promotion of {variant} blocked:[/red] the eval gate fails")
        raise typer.Exit(1)
    weights = json.dumps({v: 1 if v == variant else 0 for v in variants})
    sys.stdout.write(f"SHOPKEEP_EXPERIMENT__WEIGHTS='{weights}'\n")
    console.print(f"eval gate passed: set the line above to give {variant} all of {name}'s traffic")
