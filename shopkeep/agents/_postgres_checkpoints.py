"""PostgreSQL checkpoints that survive a database restart and fail like the store does.

langgraph's ``PostgresSaver.from_conn_string`` holds one connection for the life of the process: once PostgreSQL
restarts, every turn fails until the service is restarted. Here the saver draws from a pool that checks a connection
before lending it (a dead one is replaced), waits at most ``POOL_WAIT_S`` for one, and every database failure
becomes ``StoreUnavailableError`` (retryable: the API's 503 with ``Retry-After``), as the store's own do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg import OperationalError
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from shopkeep.errors import StoreUnavailableError
from shopkeep.metrics import STORE_ERRORS

POOL_SIZE = 8
POOL_WAIT_S = 5.0
"""How long a turn waits for a checkpoint connection: an unreachable database fails the turn fast."""


@contextmanager
def _unavailable() -> Iterator[None]:
    try:
        yield
    except (OperationalError, PoolTimeout) as exc:
        STORE_ERRORS.labels(backend="postgresql", error="unavailable").inc()
        raise StoreUnavailableError(f"the checkpoint database is unavailable: {type(exc).__name__}") from exc


class PooledPostgresSaver(PostgresSaver):
    """``PostgresSaver`` over a checked connection pool, raising the store's typed errors."""

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


@contextmanager
def pooled_postgres_saver(conninfo: str) -> Iterator[PooledPostgresSaver]:
    """A set-up saver over a pool of ``conninfo`` connections, closed when the context ends."""
    pool: ConnectionPool[Any] = ConnectionPool(
        conninfo,
        min_size=1,
        max_size=POOL_SIZE,
        timeout=POOL_WAIT_S,
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
