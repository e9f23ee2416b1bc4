"""Conversations live in the checkpointer: they survive a process restart, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.toolkit import agent_registry
from shopkeep.store import SqlCommerceStore
from tests.agents.test_graph import PENDING_ORDER, FixedRouter, order_status
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


def test_unknown_checkpoint_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported checkpoint URL"), open_checkpointer("mysql://x/y"):
        pass
