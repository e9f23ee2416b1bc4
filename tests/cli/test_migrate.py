"""``shopkeep migrate [--store URL]``: the schema migrations as a deploy step of their own (SQLite and PostgreSQL),
and ``SHOPKEEP_MIGRATE_ON_START=false``: commands then refuse a store that is behind instead of migrating it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from shopkeep.cli.main import app
from shopkeep.settings import get_settings
from shopkeep.store import migrate
from shopkeep.store.postgres import scratch_database
from tests.cli.test_cli import flat, invoke, isolated_var_dir, runner
from tests.conftest import POSTGRES_URL, service_missing


@pytest.fixture(autouse=True)
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from isolated_var_dir(tmp_path, monkeypatch)


def _head() -> str:
    head = migrate.head_revision(create_engine("sqlite://"))
    assert head is not None
    return head


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrate_creates_the_schema_then_has_nothing_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = invoke("migrate", "--store", url)
    assert first.exit_code == 0, first.output
    assert f"schema migrated from revision none to {_head()}" in flat(first.output)
    assert {"orders", "customers", "conversation_events", "alembic_version"} <= _tables(url)
    again = invoke("migrate", "--store", url)
    assert again.exit_code == 0, again.output
    assert f"schema already at revision {_head()}" in flat(again.output)


def test_migrate_on_postgresql() -> None:
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database(POSTGRES_URL, "shopkeep_migrate"))
        except Exception as exc:
            service_missing(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
        result = invoke("migrate", "--store", url)
        assert result.exit_code == 0, result.output
        assert f"to {_head()}" in flat(result.output)
        assert {"orders", "payment_ledger", "conversation_events"} <= _tables(url)


def test_an_unreachable_store_fails_clearly() -> None:
    result = invoke("migrate", "--store", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    assert result.exit_code == 2
    assert "the store is unavailable" in flat(result.output)


def test_without_migrate_on_start_a_store_behind_is_refused_until_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    monkeypatch.setenv("SHOPKEEP_MIGRATE_ON_START", "false")
    get_settings.cache_clear()
    export = ["store", "export", str(tmp_path / "export.json"), "--store", url]
    refused = runner.invoke(app, export)
    assert refused.exit_code == 2
    assert "shopkeep migrate" in flat(refused.output)
    assert _tables(url) == set()  # nothing was created behind the deploy's back
    assert invoke("migrate", "--store", url).exit_code == 0
    ran = runner.invoke(app, export)
    assert ran.exit_code == 0, ran.output
