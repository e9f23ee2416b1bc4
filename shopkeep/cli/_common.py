"""Helpers shared by the CLI commands: opening the store a command names, printing JSON."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from shopkeep.errors import StoreError
from shopkeep.settings import get_settings
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.seed import demo_db_path, read_tau2_db, seed

console = Console(stderr=True)

StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store URL (sqlite:///..., postgresql+psycopg://..., oracle+oracledb://...)."),
]


def store_url(url: str | None) -> str:
    return url or get_settings().resolved_store_url()


def open_cli_store(url: str | None, *, seed_if_empty: bool = False) -> SqlCommerceStore:
    """Open (and migrate) the store; the embedded default is seeded with the demo store on first use."""
    resolved = store_url(url)
    try:
        store = open_store(resolved)
        if seed_if_empty and store.is_empty():
            seed(store, read_tau2_db(demo_db_path(get_settings().data_dir)))
    except StoreError as exc:
        fail(exc.message)
    except ImportError as exc:
        fail(str(exc))
    return store


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
