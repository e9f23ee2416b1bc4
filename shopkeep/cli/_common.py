"""Helpers shared by the CLI commands: opening the store a command names, printing JSON.

The store (SQLAlchemy, Alembic) and everything heavier are imported inside the commands that use them, so that
``shopkeep --help`` and the light commands start fast (``tests/cli/test_startup.py`` pins the imports).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from shopkeep.errors import StoreError
from shopkeep.settings import get_settings

if TYPE_CHECKING:
    from shopkeep.store import SqlCommerceStore

console = Console(stderr=True)

StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store URL (sqlite:///..., postgresql+psycopg://..., oracle+oracledb://...)."),
]


def store_url(url: str | None) -> str:
    return url or get_settings().resolved_store_url()


def open_cli_store(url: str | None, *, seed_if_empty: bool = False) -> SqlCommerceStore:
    """Open (and migrate, unless ``SHOPKEEP_MIGRATE_ON_START=false``) the store; the embedded default is seeded
    with the demo store on first use (unless a shop was initialized there)."""
    from shopkeep.store import migrate, open_store
    from shopkeep.store.seed import seed_demo

    resolved = store_url(url)
    upgrade = get_settings().migrate_on_start
    try:
        store = open_store(resolved, upgrade=upgrade)
        if not upgrade:
            at, head = migrate.current_revision(store.engine), migrate.head_revision(store.engine)
            if at != head:
                store.close()
                fail(f"the store's schema is at revision {at or 'none'}; this version needs {head}: `shopkeep migrate`")
        if seed_if_empty and store.is_empty() and not _holds_a_shop(store):
            seed_demo(store, get_settings().data_dir)
    except StoreError as exc:
        fail(exc.message)
    except ImportError as exc:
        fail(str(exc))
    return store


def _holds_a_shop(store: SqlCommerceStore) -> bool:
    """A shop made with ``shopkeep init`` may have no products yet: it is never replaced by the demo."""
    from shopkeep.store.shop import shop_records

    with store.session() as session:
        return shop_records(session).profile() is not None


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
