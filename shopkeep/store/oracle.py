"""Oracle Database 23ai backend through python-oracledb (thin mode: no Oracle Client needed).

URLs look like ``oracle+oracledb://user:password@host:1521/?service_name=FREEPDB1``. Writes lock rows with
``SELECT ... FOR UPDATE``; Oracle's empty-string-is-NULL rule is handled by the column types in ``types.py``.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url


def create_oracle_engine(url: str) -> Engine:
    """An engine for ``oracle+oracledb://`` URLs."""
    try:
        import oracledb  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError("Oracle support needs the 'oracle' extra: pip install 'shopkeep[oracle]'") from exc
    parsed = make_url(url)
    if parsed.drivername == "oracle":
        parsed = parsed.set(drivername="oracle+oracledb")
    return create_engine(parsed, pool_pre_ping=True)
