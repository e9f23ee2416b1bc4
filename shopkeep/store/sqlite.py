"""SQLite backend (the embedded default): one file, WAL, writers serialized with ``BEGIN IMMEDIATE``.

The machine's stdlib ``sqlite3`` cannot load extensions, so ``pysqlite3`` (a newer SQLite with extension loading)
is used when installed; ``sqlite-vec`` is loaded into every connection for vector search.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

BUSY_TIMEOUT_MS = 5000


def _dbapi_module() -> ModuleType:
    try:
        return importlib.import_module("pysqlite3.dbapi2")
    except ImportError:  # pragma: no cover - platforms without the wheel
        return importlib.import_module("sqlite3")


def _load_sqlite_vec(dbapi_connection: Any) -> None:
    if not hasattr(dbapi_connection, "enable_load_extension"):
        return
    try:
        import sqlite_vec
    except ImportError:
        return
    dbapi_connection.enable_load_extension(True)
    sqlite_vec.load(dbapi_connection)
    dbapi_connection.enable_load_extension(False)


def create_sqlite_engine(url: str) -> Engine:
    """An engine whose write transactions take the database write lock up front (no lost updates)."""
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed.set(drivername="sqlite+pysqlite"),
        module=_dbapi_module(),
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()
        _load_sqlite_vec(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("shopkeep_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
