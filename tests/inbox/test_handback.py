"""A hand-back reaches the model: the bot's next turn is told who took over and the note they left (scripted model,
the only fake, at the model boundary); a person's messages are never the bot's."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.deps import AgentDeps, Route
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.state import ConversationState
from shopkeep.agents.toolkit import agent_registry
from shopkeep.domain import HumanAgent, TicketStatus
from shopkeep.inbox.events import LocalEventBus
from shopkeep.inbox.service import InboxService
from shopkeep.store import SqlCommerceStore
from tests.support.scripted_model import ScriptedChatModel, call, say


class EscalationRouter:
    def route(self, text: str, state: ConversationState) -> Route:
        return Route(agent="escalation", intent="contact_human_agent", confidence=1.0)


ANA = HumanAgent(name="Ana", created_at=datetime(2026, 12, 7, tzinfo=UTC))


def test_the_bot_is_told_the_hand_back_note(sqlite_store: SqlCommerceStore) -> None:
    model = ScriptedChatModel(
        steps=[
            call("transfer_to_human_agents", summary="wants a refund outside policy"),
            say("A colleague will join."),
            say("Welcome back! Your refund is on its way."),
        ]
    )
    deps = AgentDeps(
        store=sqlite_store, brains=lambda _agent: model, router=EscalationRouter(), registry=agent_registry()
    )
    service = ConversationService(build_graph(deps, checkpointer=InMemorySaver()), sqlite_store)
    inbox = InboxService(sqlite_store, service, LocalEventBus())
    conversation_id = service.start()
    assert service.send(conversation_id, "I want a human").mode == "human"
    (ticket,) = [t for t in inbox.queue() if t["conversation_id"] == conversation_id]
    inbox.claim(ticket["id"], ANA)
    inbox.reply(ticket["id"], ANA, "Hi, I'm Ana; I have approved your refund.")
    assert service.send(conversation_id, "thank you!").reply == ""  # the bot stays silent: no model call
    inbox.resolve(ticket["id"], ANA, "Refund of order #W1 approved as goodwill.", hand_back=True)
    turn = service.send(conversation_id, "so is it done?")
    assert turn.mode == "bot" and turn.reply == "Welcome back! Your refund is on its way."
    system = str(model.calls[-1][0].content)
    assert "A human colleague (Ana)" in system and "Refund of order #W1 approved as goodwill." in system
    assert "Hi, I'm Ana" not in str(model.calls[0])
    model.assert_done()


def test_a_checkpointer_failure_undoes_the_resolution(sqlite_store: SqlCommerceStore, tmp_path: Path) -> None:
    """The conversation's mode is in the checkpointer, the ticket in the store: when the checkpoint write fails (here
    its SQLite file is locked by another writer), the ticket stays with its agent, the bot stays silent, and
    resolving again once the checkpointer is back works."""
    model = ScriptedChatModel(
        steps=[
            call("transfer_to_human_agents", summary="wants a person"),
            say("A colleague will join."),
            say("Welcome back!"),
        ]
    )
    deps = AgentDeps(
        store=sqlite_store, brains=lambda _agent: model, router=EscalationRouter(), registry=agent_registry()
    )
    database = tmp_path / "checkpoints.db"
    with open_checkpointer(f"sqlite:///{database}") as checkpointer:
        service = ConversationService(build_graph(deps, checkpointer=checkpointer), sqlite_store)
        inbox = InboxService(sqlite_store, service, LocalEventBus())
        conversation_id = service.start()
        assert service.send(conversation_id, "I want a human").mode == "human"
        (ticket,) = [t for t in inbox.queue() if t["conversation_id"] == conversation_id]
        inbox.claim(ticket["id"], ANA)

        blocker = sqlite3.connect(database, timeout=0)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                inbox.resolve(ticket["id"], ANA, "done", hand_back=True)
        finally:
            blocker.rollback()
            blocker.close()

        (kept,) = inbox.queue(TicketStatus.CLAIMED)
        assert (kept["id"], kept["assignee"]) == (ticket["id"], "Ana")
        assert service.values(conversation_id)["mode"] == "human"
        assert "bot_back" not in [e.kind for e in service.transcript(conversation_id)]
        assert service.send(conversation_id, "hello?").reply == ""  # still the person's: no model call
        inbox.reply(ticket["id"], ANA, "Still here, one moment.")  # and the agent can still write

        resolved = inbox.resolve(ticket["id"], ANA, "done", hand_back=True)
        assert resolved["status"] == "resolved"
        assert service.send(conversation_id, "thanks").reply == "Welcome back!"
    model.assert_done()
