"""PostgreSQL checkpoints that survive a database restart and fail like the store does.

langgraph's ``PostgresSaver.from_conn_string`` holds one connection for the life of the process: once PostgreSQL
restarts, every turn fails until the service is restarted. Here the saver draws from a pool that checks a connection
before lending it (a dead one is replaced), waits at most ``POOL_WAIT_S`` for one, and every database failure
becomes ``StoreUnavailableError`` (retryable: the API's 503 with ``Retry-After``), as the store's own do.

Two more things langgraph leaves to the caller. Its ``setup()`` creates the tables without a lock, so two workers
starting at once on a fresh database collide on ``CREATE TABLE`` (a unique violation in the catalog): here setup
runs under a PostgreSQL advisory lock. And psycopg_pool retries a failed connection with exponential backoff for up
to ``reconnect_timeout`` (5 minutes by default), so after an outage of a minute the pool's next attempt may be a
minute away while PostgreSQL is already back: here an attempt gives up after ``RECONNECT_S`` and the next turn that
needs a connection starts a fresh one at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg import Connection, OperationalError
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from shopkeep.errors import StoreUnavailableError
from shopkeep.metrics import STORE_ERRORS

POOL_SIZE = 8
POOL_WAIT_S = 5.0
"""How long a turn waits for a checkpoint connection: an unreachable database fails the turn fast."""
RECONNECT_S = POOL_WAIT_S
"""How long the pool keeps retrying one failed connection attempt (with backoff) before it gives up, so that its
retries never drift further apart than about this: the service recovers within seconds of PostgreSQL's return."""
SETUP_LOCK_KEY = 0x5E0C_4B1D_C4EC_0001
"""The advisory lock (a bigint, any value other code does not use) held while the checkpoint tables are created."""
SETUP_LOCK_WAIT_S = 120.0
"""How long a starting process waits for another one's setup (creating the tables takes well under a second)."""


@contextmanager
def _unavailable() -> Iterator[None]:
    try:
        yield
    except (OperationalError, PoolTimeout) as exc:
        STORE_ERRORS.labels(backend="postgresql", error="unavailable").inc()
        raise StoreUnavailableError(f"the checkpoint database is unavailable: {type(exc).__name__}") from exc


class PooledPostgresSaver(PostgresSaver):
    """``PostgresSaver`` over a checked connection pool, raising the store's typed errors."""

    def setup(self) -> None:
        """Create or migrate the checkpoint tables, one process at a time (workers may start together on a fresh
        database). The lock and the migrations share one session, so a process that dies mid-setup frees the lock."""
        with _unavailable(), _pool_of(self).connection() as conn:
            # Polled, not waited for: a session blocked in pg_advisory_lock() holds a snapshot, which the holder's
            # CREATE INDEX CONCURRENTLY waits for in turn (PostgreSQL reports the deadlock).
            deadline = time.monotonic() + SETUP_LOCK_WAIT_S
            while not _try_setup_lock(conn):
                if time.monotonic() >= deadline:
                    raise StoreUnavailableError("another process has been setting up the checkpoint tables too long")
                time.sleep(0.05)
            try:
                PostgresSaver(conn).setup()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_KEY,))

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        with _unavailable():
            return super().get_tuple(config)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        with _unavailable():
            yield from super().list(config, filter=filter, before=before, limit=limit)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        with _unavailable():
            return super().put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        with _unavailable():
            super().put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        with _unavailable():
            super().delete_thread(thread_id)


def _try_setup_lock(conn: Connection[Any]) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s) AS taken", (SETUP_LOCK_KEY,)).fetchone()
    return bool(row and row["taken"])


def _pool_of(saver: PostgresSaver) -> ConnectionPool[Any]:
    pool = saver.conn
    if not isinstance(pool, ConnectionPool):
        raise TypeError("PooledPostgresSaver needs a psycopg_pool.ConnectionPool")
    return pool


@contextmanager
def pooled_postgres_saver(conninfo: str) -> Iterator[PooledPostgresSaver]:
    """A set-up saver over a pool of ``conninfo`` connections, closed when the context ends."""
    pool: ConnectionPool[Any] = ConnectionPool(
        conninfo,
        min_size=1,
        max_size=POOL_SIZE,
        timeout=POOL_WAIT_S,
        reconnect_timeout=RECONNECT_S,
        check=ConnectionPool.check_connection,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row, "connect_timeout": 5},
        open=False,
    )
    pool.open(wait=True, timeout=30)
    try:
        saver = PooledPostgresSaver(pool)
        saver.setup()
        yield saver
    finally:
        pool.close()
