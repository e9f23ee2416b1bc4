"""Persistence of the catalog, customers, carts, orders, escalations and events (``CommerceStore``)."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from shopkeep.errors import StoreUnavailableError
from shopkeep.store.base import CommerceStore, StoreSession
from shopkeep.store.sql import SqlCommerceStore


def open_store(url: str, *, upgrade: bool = True) -> SqlCommerceStore:
    """Open the store at a SQLAlchemy URL (sqlite, postgresql, oracle), migrating its schema to head."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        from shopkeep.store.sqlite import create_sqlite_engine

        engine = create_sqlite_engine(url)
    elif backend == "postgresql":
        from shopkeep.store.postgres import create_postgres_engine

        engine = create_postgres_engine(url)
    elif backend == "oracle":
        from shopkeep.store.oracle import create_oracle_engine

        engine = create_oracle_engine(url)
    else:
        raise ValueError(f"unsupported store URL {url!r}: use sqlite:///, postgresql+psycopg:// or oracle+oracledb://")
    store = SqlCommerceStore(engine, row_locks=backend != "sqlite")
    if upgrade:
        from shopkeep.store import migrate  # Alembic: only when a store is opened (the CLI's --help does not)

        try:
            migrate.upgrade(engine)
        except OperationalError as exc:  # down, unreachable or locked: the same typed error as any session
            engine.dispose()
            raise StoreUnavailableError(f"the store is unavailable ({store.url}): {exc.orig}") from exc
    return store


__all__ = ["CommerceStore", "SqlCommerceStore", "StoreSession", "open_store"]
