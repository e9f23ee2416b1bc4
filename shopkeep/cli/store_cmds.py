"""``shopkeep seed``, ``shopkeep migrate`` and ``shopkeep store export``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from shopkeep.cli._common import StoreOption, console, fail, open_cli_store, store_url
from shopkeep.cli.retrieval_cmds import index_for_search
from shopkeep.errors import StoreError
from shopkeep.settings import get_settings

store_app = typer.Typer(help="Inspect and move store data.", no_args_is_help=True)


def seed_command(
    store: StoreOption = None,
    source: Annotated[Path | None, typer.Option(help="A τ² retail db.json (default: the demo store).")] = None,
    reset: Annotated[bool, typer.Option(help="Delete the catalog, customers and orders first.")] = False,
    index: Annotated[bool, typer.Option(help="Index the catalog and knowledge base for search.")] = True,
) -> None:
    """Load the demo store (τ²-bench retail data) into the store, give it the demo's profile (name and policy), and
    index it for search; records already there are kept."""
    from shopkeep.store.seed import demo_db_path, seed_demo

    data_dir = get_settings().data_dir
    path = source or demo_db_path(data_dir)
    if not path.is_file():
        fail(f"no such file: {path}")
    started = time.perf_counter()
    target = open_cli_store(store)
    added = seed_demo(target, data_dir, source=path, reset=reset)
    console.print(
        f"seeded {target.url}: +{added['products']} products, +{added['customers']} customers, "
        f"+{added['orders']} orders in {time.perf_counter() - started:.2f}s"
    )
    try:
        if index:
            index_for_search(target)
    finally:
        target.close()


def migrate_command(store: StoreOption = None) -> None:
    """Bring the store's schema to the newest revision (Alembic upgrade); for deploys that migrate as a step of
    their own before starting the service (with SHOPKEEP_MIGRATE_ON_START=false). Safe to run again."""
    from sqlalchemy.exc import OperationalError

    from shopkeep.store import migrate, open_store

    try:
        target = open_store(store_url(store), upgrade=False)
        try:
            before = migrate.current_revision(target.engine)
            migrate.upgrade(target.engine)
            after = migrate.current_revision(target.engine)
        finally:
            target.close()
    except StoreError as exc:
        fail(exc.message)
    except OperationalError as exc:
        fail(f"the store is unavailable ({store_url(store)}): {exc.orig}")
    except ImportError as exc:
        fail(str(exc))
    if before == after:
        console.print(f"{target.url}: schema already at revision {after}")
    else:
        console.print(f"{target.url}: schema migrated from revision {before or 'none'} to {after}")


@store_app.command("export")
def export_command(
    path: Annotated[Path, typer.Argument(help="Where to write the JSON.")],
    format: Annotated[str, typer.Option("--format", help="Layout of the file: tau2.")] = "tau2",
    store: StoreOption = None,
) -> None:
    """Write the whole store to PATH in τ²'s db.json layout (products, users, orders)."""
    from shopkeep.store.seed import export

    if format != "tau2":
        fail(f"unknown format {format!r}: the supported format is 'tau2'")
    source = open_cli_store(store)
    path.write_text(json.dumps(export(source), indent=2) + "\n", encoding="utf-8")
    console.print(f"exported {source.url} to {path}")
    source.close()
