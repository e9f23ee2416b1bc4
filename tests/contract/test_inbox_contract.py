"""The human agents' records (``store.inbox``) on every backend: accounts, exclusive claims, notes."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete

from shopkeep.domain import AgentRole, EscalationTicket, HumanAgent, TicketNote, TicketStatus
from shopkeep.errors import StoreIntegrityError
from shopkeep.store import SqlCommerceStore
from shopkeep.store import schema as t
from shopkeep.store.inbox import inbox_records

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def _own_tickets(store: SqlCommerceStore) -> Iterator[None]:
    """A reset store keeps its tickets and the PostgreSQL database is shared by the session: these tests leave
    none behind for the other suites' status lists."""
    with store.session() as s:
        before = {ticket.ticket_id for ticket in s.list_tickets()}
    yield
    with store.session(write=True) as s:
        s.connection.execute(delete(t.escalations).where(t.escalations.c.ticket_id.not_in(before)))


def _ticket(ticket_id: str, conversation_id: str, at: datetime) -> EscalationTicket:
    return EscalationTicket(
        ticket_id=ticket_id,
        conversation_id=conversation_id,
        customer_id=None,
        reason="contact_human_agent",
        summary="The customer asked for a person.",
        created_at=at,
        updated_at=at,
    )


def test_agents_are_added_found_by_token_id_listed_and_removed(store: SqlCommerceStore) -> None:
    ana = HumanAgent(name="Ana", role=AgentRole.SUPERVISOR, created_at=NOW)
    ben = HumanAgent(name="Ben", created_at=NOW + timedelta(seconds=1))
    with store.session(write=True) as s:
        inbox_records(s).add_agent(ana, token_id="a" * 16, token_hash="$argon2id$hash-a")
        inbox_records(s).add_agent(ben, token_id="b" * 16, token_hash="$argon2id$hash-b")
    with store.session() as s:
        records = inbox_records(s)
        assert records.agent_by_token_id("a" * 16) == (ana, "$argon2id$hash-a")
        assert records.agent_by_token_id("c" * 16) is None
        assert records.get_agent("Ben") == ben
        assert records.list_agents() == [ana, ben]
    try:
        with store.session(write=True) as s:
            inbox_records(s).add_agent(HumanAgent(name="Cy", created_at=NOW), token_id="a" * 16, token_hash="x")
        raise AssertionError("a token id is unique")
    except StoreIntegrityError:
        pass
    with store.session(write=True) as s:
        assert inbox_records(s).remove_agent("Ana") is True
        assert inbox_records(s).remove_agent("Ana") is False
    with store.session() as s:
        assert inbox_records(s).agent_by_token_id("a" * 16) is None
        assert [a.name for a in inbox_records(s).list_agents()] == ["Ben"]


def test_a_claim_wins_only_on_an_open_ticket(store: SqlCommerceStore) -> None:
    t1, t2, c1 = _id("t"), _id("t"), _id("c")
    with store.session(write=True) as s:
        s.save_ticket(_ticket(t1, c1, NOW))
        s.save_ticket(_ticket(t2, c1, NOW + timedelta(minutes=1)))
    with store.session(write=True) as s:
        assert inbox_records(s).claim(t1, "Ana", NOW + timedelta(minutes=2)) is True
    with store.session(write=True) as s:
        assert inbox_records(s).claim(t1, "Ben", NOW + timedelta(minutes=3)) is False
        assert inbox_records(s).claim("t-missing", "Ben", NOW) is False
    with store.session() as s:
        ticket = s.get_ticket(t1)
        assert ticket is not None and ticket.status == TicketStatus.CLAIMED and ticket.assignee == "Ana"
        assert ticket.claimed_at is not None
        assert [t.ticket_id for t in inbox_records(s).tickets_of(c1)] == [t1, t2]
        assert inbox_records(s).tickets_of(_id("c")) == []
    resolved = ticket.model_copy(
        update={"status": TicketStatus.RESOLVED, "resolved_at": NOW, "resolution_note": "done", "handed_back": False}
    )
    with store.session(write=True) as s:
        s.save_ticket(resolved)
    with store.session() as s:
        again = s.get_ticket(t1)
        assert again is not None and again.handed_back is False and again.resolution_note == "done"


def test_concurrent_claims_have_exactly_one_winner(store: SqlCommerceStore) -> None:
    race = _id("t")
    with store.session(write=True) as s:
        s.save_ticket(_ticket(race, _id("c"), NOW))
    barrier = threading.Barrier(4)
    wins: list[str] = []

    def claim(agent: str) -> None:
        barrier.wait()
        with store.session(write=True) as s:
            if inbox_records(s).claim(race, agent, NOW):
                wins.append(agent)

    threads = [threading.Thread(target=claim, args=(name,)) for name in ("a1", "a2", "a3", "a4")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    with store.session() as s:
        ticket = s.get_ticket(race)
    assert ticket is not None and ticket.assignee == wins[0]


def test_notes_are_kept_in_order(store: SqlCommerceStore) -> None:
    t1, t2 = _id("t"), _id("t")
    with store.session(write=True) as s:
        first = inbox_records(s).add_note(TicketNote(ticket_id=t1, author="Ana", text="first", created_at=NOW))
        second = inbox_records(s).add_note(TicketNote(ticket_id=t1, author="Ben", text="", created_at=NOW))
        inbox_records(s).add_note(TicketNote(ticket_id=t2, author="Ben", text="other", created_at=NOW))
    assert second > first
    with store.session() as s:
        notes = inbox_records(s).list_notes(t1)
    assert [(n.note_id, n.author, n.text, n.created_at) for n in notes] == [
        (first, "Ana", "first", NOW),
        (second, "Ben", "", NOW),
    ]
