"""Checkpointers by URL: where conversations live between turns, workers and restarts.

``sqlite:///PATH`` (default), ``postgresql://…`` (langgraph-checkpoint-postgres), ``redis://…`` (needs Redis with
RediSearch and RedisJSON), ``oracle+oracledb://…`` (langgraph-oracledb).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import make_url


@contextmanager
def open_checkpointer(url: str) -> Iterator[BaseCheckpointSaver[Any]]:
    """A checkpointer for the URL, set up (tables created) and closed when the context ends."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver

        database = parsed.database or ":memory:"
        if database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(database, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # Conversation state, not orders: a commit need not wait for the disk. In WAL mode a crashed process loses
        # nothing; only a power cut may lose the last turns, as a crash mid-turn loses that turn (see
        # agents.service.TURN_DURABILITY). The store keeps SQLite's full sync for orders and payments.
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            sqlite_saver = SqliteSaver(conn)
            sqlite_saver.setup()
            yield sqlite_saver
        finally:
            conn.close()
    elif backend == "postgresql":
        try:
            from shopkeep.agents._postgres_checkpoints import pooled_postgres_saver
        except ImportError as exc:
            raise ImportError(
                "PostgreSQL checkpoints need the 'postgres' extra: pip install 'shopkeep[postgres]'"
            ) from exc
        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with pooled_postgres_saver(conninfo) as postgres_saver:
            yield postgres_saver
    elif backend == "redis":
        try:
            from langgraph.checkpoint.redis import RedisSaver  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ImportError("Redis checkpoints need langgraph-checkpoint-redis and Redis with RediSearch") from exc
        with RedisSaver.from_conn_string(url) as redis_saver:
            redis_saver.setup()
            yield redis_saver
    elif backend == "oracle":
        try:
            from langgraph_oracledb.checkpoint.oracle import OracleSaver
        except ImportError as exc:
            raise ImportError("Oracle checkpoints need the 'oracle' extra: pip install 'shopkeep[oracle]'") from exc
        service = parsed.query.get("service_name") or parsed.database or ""
        easy_connect = f"{parsed.username}/{parsed.password}@{parsed.host}:{parsed.port or 1521}/{service}"
        with OracleSaver.from_conn_string(easy_connect) as oracle_saver:
            oracle_saver.setup()
            yield oracle_saver
    else:
        raise ValueError(f"unsupported checkpoint URL {url!r}: use sqlite:///, postgresql://, redis:// or oracle://")
