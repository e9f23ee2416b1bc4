"""``shopkeep forget --email`` and ``shopkeep retention --days``: the commands on a real store and checkpointer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.store import open_store
from shopkeep.store import schema as t
from tests.agents.test_retention import EMAIL, two_conversations
from tests.cli.test_cli import flat, invoke, isolated_var_dir


@pytest.fixture(autouse=True)
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from isolated_var_dir(tmp_path, monkeypatch)


@pytest.fixture
def urls(sqlite_template: Path, tmp_path: Path) -> tuple[str, str, str, str]:
    """A demo store where Mei and Emma each had a conversation, its checkpointer, and the two conversation ids."""
    store_path = tmp_path / "store.db"
    store_path.write_bytes(sqlite_template.read_bytes())
    store_url, checkpoints = f"sqlite:///{store_path}", f"sqlite:///{tmp_path / 'checkpoints.db'}"
    store = open_store(store_url)
    try:
        mei, emma, _ = two_conversations(store, checkpoints)
    finally:
        store.close()
    return store_url, checkpoints, mei, emma


def test_forget_prints_what_it_erased(urls: tuple[str, str, str, str]) -> None:
    store_url, checkpoints, mei, _ = urls
    dry = invoke("forget", "--email", EMAIL, "--store", store_url, "--checkpoints", checkpoints, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["conversations"] == 1
    done = invoke("forget", "--email", EMAIL, "--store", store_url, "--checkpoints", checkpoints)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["dry_run"] is False and report["conversations"] == 1 and report["orders_anonymised"] >= 1
    with open_checkpointer(checkpoints) as checkpointer:
        assert checkpointer.get_tuple({"configurable": {"thread_id": mei}}) is None
    again = invoke("forget", "--email", EMAIL, "--store", store_url, "--checkpoints", checkpoints)
    assert "no customer or conversation found" in flat(again.output)


def test_forget_refuses_what_is_not_an_email() -> None:
    result = invoke("forget", "--email", "mei ahmed")
    assert result.exit_code == 2
    assert "not an email address" in flat(result.output)


def test_retention_deletes_idle_conversations(urls: tuple[str, str, str, str]) -> None:
    store_url, checkpoints, mei, emma = urls
    store = open_store(store_url)
    try:
        with store.session(write=True) as session:
            events = t.conversation_events
            old = datetime.now(UTC) - timedelta(days=10)
            session.connection.execute(update(events).where(events.c.conversation_id == mei).values(created_at=old))
    finally:
        store.close()
    refused = invoke("retention", "--store", store_url, "--checkpoints", checkpoints)
    assert refused.exit_code == 2 and "no retention period" in flat(refused.output)
    done = invoke("retention", "--days", "7", "--store", store_url, "--checkpoints", checkpoints)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["conversations"] == 1
    with open_checkpointer(checkpoints) as checkpointer:
        assert checkpointer.get_tuple({"configurable": {"thread_id": mei}}) is None
        assert checkpointer.get_tuple({"configurable": {"thread_id": emma}}) is not None
