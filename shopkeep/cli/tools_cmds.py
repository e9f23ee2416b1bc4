"""``shopkeep tools list|call|replay``: the retail tools from the command line, with no customer scope."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shopkeep.cli._common import StoreOption, fail, open_cli_store, print_json
from shopkeep.errors import UnknownToolError
from shopkeep.settings import get_settings

tools_app = typer.Typer(help="List, call and replay the commerce tools.", no_args_is_help=True)


@tools_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every tool: name, whether it reads or writes, and its arguments' JSON schema."""
    from shopkeep.tools import retail_registry

    tools = list(retail_registry())
    if as_json:
        print_json([{"name": t.name, "kind": t.kind.value, "arguments": t.json_schema()} for t in tools])
        return
    table = Table("name", "kind", "arguments")
    for t in tools:
        schema = t.json_schema()
        args = ", ".join(f"{name}: {spec.get('type', 'any')}" for name, spec in schema.get("properties", {}).items())
        table.add_row(t.name, t.kind.value, args)
    Console().print(table)


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")


@tools_app.command("call")
def call_command(
    name: Annotated[str, typer.Argument(help="Tool name (see `shopkeep tools list`).")],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    store: StoreOption = None,
) -> None:
    """Call one tool and print its result as JSON {name, ok, output, error}; exit code 1 when it fails."""
    from shopkeep.shop.catalog import shop_currency
    from shopkeep.tools import ToolContext, retail_registry

    registry = retail_registry()
    try:
        registry.get(name)
    except UnknownToolError as exc:
        fail(f"{exc.message} Available tools: {', '.join(exc.available)}")
    arguments = _parse_json(args, "--args")
    target = open_cli_store(store, seed_if_empty=store is None)
    outcome = registry.call(name, arguments, ToolContext(store=target, currency=shop_currency(target)))
    target.close()
    print_json(outcome.as_record())
    if not outcome.ok:
        raise typer.Exit(1)


@tools_app.command("replay")
def replay_command(
    file: Annotated[Path, typer.Argument(help='JSON list of {"name": ..., "arguments": {...}}.')],
    store: StoreOption = None,
    export_path: Annotated[Path | None, typer.Option("--export", help="Write the final state (τ² layout).")] = None,
) -> None:
    """Run the calls in order on a fresh copy of the demo store (or on --store), one JSON line per call."""
    from shopkeep.shop.catalog import shop_currency
    from shopkeep.store import open_store
    from shopkeep.store.seed import demo_db_path, export, read_tau2_db, seed
    from shopkeep.tools import ToolContext, retail_registry

    if not file.is_file():
        fail(f"no such file: {file}")
    calls = _parse_json(file.read_text(encoding="utf-8"), str(file))
    if not isinstance(calls, list) or not all(isinstance(c, dict) and "name" in c for c in calls):
        fail('the file must hold a JSON list of {"name": ..., "arguments": {...}} objects')
    workdir = None
    if store is None:
        workdir = Path(tempfile.mkdtemp(prefix="shopkeep-replay-"))
        target = open_store(f"sqlite:///{workdir / 'replay.db'}")
        seed(target, read_tau2_db(demo_db_path(get_settings().data_dir)))
    else:
        target = open_cli_store(store)
    registry = retail_registry()
    ctx = ToolContext(store=target, currency=shop_currency(target))
    try:
        for call in calls:
            print_json(registry.call(str(call["name"]), call.get("arguments", {}), ctx).as_record())
        if export_path is not None:
            export_path.write_text(json.dumps(export(target), indent=2) + "\n", encoding="utf-8")
    finally:
        target.close()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
