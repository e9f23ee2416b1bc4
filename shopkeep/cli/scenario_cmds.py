"""``shopkeep scenarios ...``: conversation scenarios from stored conversations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from shopkeep.cli._common import StoreOption, console, fail, open_cli_store
from shopkeep.errors import NotFoundError

scenarios_app = typer.Typer(help="Conversation scenarios (tests/scenarios).", no_args_is_help=True)


@scenarios_app.command("export")
def export_command(
    conversation_id: Annotated[str, typer.Argument(help="A stored conversation's id.", show_default=False)],
    out: Annotated[Path | None, typer.Option("--out", help="Write the scenario YAML here (default: stdout).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The scenario's name.")] = None,
    store: StoreOption = None,
) -> None:
    """Turn a stored conversation into a scenario file: each customer message with the agent, tools and
    confirmation it got, and the conversation's cart and tickets at the end. Save it under tests/scenarios/."""
    from shopkeep.evals.export import dump_scenario, export_scenario

    opened = open_cli_store(store)
    try:
        scenario = export_scenario(opened, conversation_id, name)
    except NotFoundError as exc:
        fail(f"{exc.message}: {conversation_id}")
    finally:
        opened.close()
    text = dump_scenario(scenario)
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out} ({len(scenario['turns'])} turns)")
