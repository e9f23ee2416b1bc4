"""``VectorIndex`` backends, one per database: ``sqlite_vec``, ``pgvector``, ``oracle``; picked by the store's URL."""

from __future__ import annotations

from sqlalchemy import Engine

from shopkeep.retrieval.indexes.base import KINDS, IndexHit, Vector, VectorIndex


def vector_index_for(engine: Engine) -> VectorIndex:
    """The backend for the store's database (the vectors live next to the catalog)."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        from shopkeep.retrieval.indexes.sqlite_vec import SqliteVecIndex

        return SqliteVecIndex()
    if dialect == "postgresql":
        from shopkeep.retrieval.indexes.pgvector import PgVectorIndex

        return PgVectorIndex()
    if dialect == "oracle":
        from shopkeep.retrieval.indexes.oracle import OracleVectorIndex

        return OracleVectorIndex()
    raise ValueError(f"no vector index for {dialect!r} databases")


__all__ = ["KINDS", "IndexHit", "Vector", "VectorIndex", "vector_index_for"]
