"""One turn at a time per conversation: the lock a turn (or a person's take-over) holds on its conversation.

``ProcessLocks`` serialise the threads of one process; that is enough for one worker. Several workers on a shared
PostgreSQL store use ``PostgresAdvisoryLocks``: a session-level advisory lock on the conversation's id, held on a
connection of its own for the whole turn, so two workers never run a turn of the same conversation at once (with
no sticky sessions, the next message may reach any worker). PostgreSQL releases the lock when that connection
ends, so a worker killed mid-turn does not leave its conversation locked.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from shopkeep.errors import StoreUnavailableError

WAIT_S = 30.0
"""How long a turn waits for the turn before it on the same conversation (then: 503, retry)."""
POLL_S = 0.02


class ConversationLocks(Protocol):
    def hold(self, conversation_id: str) -> AbstractContextManager[None]:
        """Hold the conversation's lock for the ``with`` block."""
        ...


class ProcessLocks:
    """A lock per conversation, within this process."""

    def __init__(self) -> None:
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    @contextmanager
    def hold(self, conversation_id: str) -> Iterator[None]:
        with self._locks[conversation_id]:
            yield


class PostgresAdvisoryLocks:
    """A lock per conversation across every process sharing the PostgreSQL database (advisory locks)."""

    def __init__(self, engine: Engine, *, wait_s: float = WAIT_S) -> None:
        self._engine = engine
        self._wait_s = wait_s
        self._local = ProcessLocks()  # threads of this process queue here, not on pool connections

    @contextmanager
    def hold(self, conversation_id: str) -> Iterator[None]:
        with self._local.hold(conversation_id):
            try:
                conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            except DBAPIError as exc:
                raise StoreUnavailableError(f"the store is unavailable: {exc.orig}") from exc
            try:
                self._acquire(conn, conversation_id)
                try:
                    yield
                finally:
                    self._release(conn, conversation_id)
            finally:
                conn.close()

    def _acquire(self, conn: Connection, conversation_id: str) -> None:
        deadline = time.monotonic() + self._wait_s
        query = text("SELECT pg_try_advisory_lock(hashtextextended(:key, 0))")
        while True:
            try:
                if conn.execute(query, {"key": conversation_id}).scalar_one():
                    return
            except DBAPIError as exc:
                raise StoreUnavailableError(f"the store is unavailable: {exc.orig}") from exc
            if time.monotonic() >= deadline:
                raise StoreUnavailableError(f"conversation {conversation_id} is busy in another worker")
            time.sleep(POLL_S)

    @staticmethod
    def _release(conn: Connection, conversation_id: str) -> None:
        try:
            conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))"), {"key": conversation_id})
        except DBAPIError:
            conn.invalidate()  # a dead connection: its lock died with it
