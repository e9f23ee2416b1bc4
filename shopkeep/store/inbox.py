"""Persistence of the human agents' side: agent accounts (token hashes), ticket claims, internal notes.

A claim is one conditional ``UPDATE ... WHERE status = 'open'``: of two agents claiming the same ticket at once on
any backend, the database lets exactly one row change, so exactly one claim wins and no lock is held in between.
Like the payments and shop tables these are kept out of the ``StoreSession`` Protocol: the SQL session is the one
implementation behind every backend. Agents' messages to customers are conversation events (kind ``agent``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from shopkeep.domain import EscalationTicket, HumanAgent, TicketNote, TicketStatus
from shopkeep.store import schema as t
from shopkeep.store.base import StoreSession
from shopkeep.store.payments import utc
from shopkeep.store.sql import SqlSession


def _agent(row: Any) -> HumanAgent:
    return HumanAgent(name=row.name, role=row.role, created_at=utc(row.created_at))


class InboxRecords:
    """The human agents' tables, inside one store transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # agents -----------------------------------------------------------------------------------------------------

    def add_agent(self, agent: HumanAgent, *, token_id: str, token_hash: str) -> None:
        """A new agent; a name or token id already taken is a ``StoreIntegrityError``."""
        values = {"name": agent.name, "role": agent.role.value, "created_at": agent.created_at}
        self._conn.execute(insert(t.human_agents).values(**values, token_id=token_id, token_hash=token_hash))

    def get_agent(self, name: str) -> HumanAgent | None:
        row = self._conn.execute(select(t.human_agents).where(t.human_agents.c.name == name)).first()
        return None if row is None else _agent(row)

    def agent_by_token_id(self, token_id: str) -> tuple[HumanAgent, str] | None:
        """The agent a token's public id names, and the hash its secret must match."""
        row = self._conn.execute(select(t.human_agents).where(t.human_agents.c.token_id == token_id)).first()
        return None if row is None else (_agent(row), row.token_hash)

    def list_agents(self) -> list[HumanAgent]:
        rows = self._conn.execute(select(t.human_agents).order_by(t.human_agents.c.created_at, t.human_agents.c.name))
        return [_agent(row) for row in rows]

    def remove_agent(self, name: str) -> bool:
        """Delete the account (its token stops working at once); False when there was none."""
        return bool(self._conn.execute(delete(t.human_agents).where(t.human_agents.c.name == name)).rowcount)

    # tickets ----------------------------------------------------------------------------------------------------

    def claim(self, ticket_id: str, agent: str, now: datetime) -> bool:
        """Make ``agent`` the ticket's owner if it is still open; False when it is not (someone else was first)."""
        table = t.escalations
        claimed = self._conn.execute(
            update(table)
            .where(table.c.ticket_id == ticket_id, table.c.status == TicketStatus.OPEN.value)
            .values(status=TicketStatus.CLAIMED.value, assignee=agent, claimed_at=now, updated_at=now)
        )
        return claimed.rowcount == 1

    def tickets_of(self, conversation_id: str) -> list[EscalationTicket]:
        """A conversation's tickets, oldest first."""
        table = t.escalations
        query = select(table).where(table.c.conversation_id == conversation_id).order_by(table.c.created_at)
        return [EscalationTicket.model_validate(row._asdict()) for row in self._conn.execute(query)]

    # notes ------------------------------------------------------------------------------------------------------

    def add_note(self, note: TicketNote) -> int:
        result = self._conn.execute(insert(t.ticket_notes).values(**note.model_dump(exclude={"note_id"})))
        key = result.inserted_primary_key
        return int(key[0]) if key else 0

    def list_notes(self, ticket_id: str) -> list[TicketNote]:
        table = t.ticket_notes
        query = select(table).where(table.c.ticket_id == ticket_id).order_by(table.c.note_id)
        return [
            TicketNote.model_validate({**row._asdict(), "created_at": utc(row.created_at)})
            for row in self._conn.execute(query)
        ]


def inbox_records(session: StoreSession) -> InboxRecords:
    """The human agents' tables of a store session (every backend's session is a ``SqlSession``)."""
    if not isinstance(session, SqlSession):
        raise TypeError(f"the inbox needs the SQL store session, not {type(session).__name__}")
    return InboxRecords(session.connection)
