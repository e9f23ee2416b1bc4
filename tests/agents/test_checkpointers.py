"""Conversations live in the checkpointer: they survive a process restart, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.toolkit import agent_registry
from shopkeep.store import SqlCommerceStore
from shopkeep.store.postgres import scratch_database
from tests.agents.test_graph import PENDING_ORDER, FixedRouter, order_status
from tests.conftest import POSTGRES_URL, service_missing
from tests.support.scripted_model import ScriptedChatModel, call, say


def _service(store: SqlCommerceStore, model: ScriptedChatModel, checkpointer: object) -> ConversationService:
    deps = AgentDeps(store=store, brains=lambda _agent: model, router=FixedRouter("orders"), registry=agent_registry())
    return ConversationService(build_graph(deps, checkpointer=checkpointer), store)


def _restart_mid_proposal(store: SqlCommerceStore, url: str) -> None:
    """Worker one asks for confirmation and dies; worker two, a new process in spirit, gets the yes and acts."""
    first = ScriptedChatModel(
        steps=[
            call("find_user_id_by_email", email="emma.smith3991@example.com"),
            say("Verified."),
            call("cancel_pending_order", order_id=PENDING_ORDER, reason="no longer needed"),
        ]
    )
    with open_checkpointer(url) as checkpointer:
        service = _service(store, first, checkpointer)
        conversation = service.start()
        service.send(conversation, "emma.smith3991@example.com")
        asked = service.send(conversation, "cancel #W2417020, no longer needed")
    assert asked.awaiting_confirmation
    first.assert_done()
    second = ScriptedChatModel(steps=[say("Cancelled.")])
    with open_checkpointer(url) as checkpointer:
        done = _service(store, second, checkpointer).send(conversation, "yes")
    assert [(c.name, c.ok) for c in done.tool_calls] == [("cancel_pending_order", True)]
    assert order_status(store, PENDING_ORDER) == "cancelled"
    # the identity came back from the checkpoint too: the second worker never saw an authentication call
    second.assert_done()


def test_sqlite_checkpoints_survive_a_restart(sqlite_store: SqlCommerceStore, tmp_path: Path) -> None:
    _restart_mid_proposal(sqlite_store, f"sqlite:///{tmp_path / 'checkpoints.db'}")


def test_postgres_checkpoints_survive_a_restart(sqlite_store: SqlCommerceStore, postgres_database: str) -> None:
    _restart_mid_proposal(sqlite_store, postgres_database)


@contextmanager
def _fresh_postgres_database() -> Iterator[str]:
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database(POSTGRES_URL, "shopkeep_checkpoint_setup"))
        except Exception as exc:
            service_missing(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
        yield url


@pytest.mark.postgres
def test_workers_starting_together_on_a_fresh_database_set_up_the_checkpoints_once() -> None:
    """Workers of one deployment start at once on an empty database: every one of them comes up (langgraph's own
    setup races there: ``UniqueViolation`` on ``checkpoint_migrations``) and each migration is recorded once."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import connect

    starters = 6
    with _fresh_postgres_database() as url:
        barrier = threading.Barrier(starters)
        failures: list[BaseException] = []
        found: list[object] = []

        def start() -> None:
            barrier.wait()
            try:
                with open_checkpointer(url) as checkpointer:
                    found.append(checkpointer.get_tuple({"configurable": {"thread_id": "none"}}))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=start) for _ in range(starters)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert failures == []
        assert found == [None] * starters
        with connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            versions = [row[0] for row in conn.execute("SELECT v FROM checkpoint_migrations ORDER BY v")]
        assert versions == list(range(len(PostgresSaver.MIGRATIONS)))


def test_unknown_checkpoint_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported checkpoint URL"), open_checkpointer("mysql://x/y"):
        pass
