"""PostgreSQL backend (psycopg 3): READ COMMITTED with ``SELECT ... FOR UPDATE`` row locks on writes."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url


def create_postgres_engine(url: str) -> Engine:
    """An engine for ``postgresql+psycopg://`` URLs (``postgresql://`` is taken to mean psycopg 3)."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError("PostgreSQL support needs the 'postgres' extra: pip install 'shopkeep[postgres]'") from exc
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 5})
