"""PostgreSQL backend: pgvector (``vector(n)`` column, HNSW with cosine distance) and full text (tsvector + GIN).

Each document kind gets its own partial HNSW index (``WHERE kind = 'product'``...), so a product-level search
walks a graph of products only. Filters are ordinary ``WHERE`` clauses joined to the search, with pgvector 0.8's
iterative index scans (``hnsw.iterative_scan = relaxed_order``). A first walk visits at most ``quick_scan`` index
tuples; when the filters keep fewer than k of them and allow at most ``exact_scan_below`` documents in all, those
are ranked exactly (a product type at 100k: about 15 ms, where walking the graph for it took 100 ms); otherwise a
longer walk, and if even that falls short, an exact scan. A database without the extension keeps serving commerce:
only ``ensure`` fails, with what to install.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.exc import DBAPIError

from shopkeep.errors import VectorExtensionMissingError
from shopkeep.retrieval import schema as rs
from shopkeep.retrieval.indexes.base import KINDS, IndexHit, Vector, check_kind, few_allowed

try:
    from pgvector.psycopg import register_vector
except ImportError as _import_error:  # pragma: no cover - depends on the installed extras
    raise ImportError("pgvector search needs the 'postgres' extra: pip install 'shopkeep[postgres]'") from _import_error

INSTALL = (
    "install pgvector (0.8 or later) on the PostgreSQL server - e.g. the postgresql-16-pgvector package, or "
    "infra/pgvector/server.sh for a local test server - then run CREATE EXTENSION vector in the store's database"
)
BULK_REBUILD = 5_000  # loading more rows than this (and than the table holds) rebuilds the HNSW indexes after
MAX_SCAN = 20_000  # pgvector's default hnsw.max_scan_tuples

_vectors = table("retrieval_vectors", column("doc_id"), column("kind"), column("embedding"))
_TSV: ColumnElement[Any] = literal_column("retrieval_documents.search_tsv")


class PgVectorIndex:
    """``VectorIndex`` over pgvector and PostgreSQL full-text search."""

    name = "pgvector"

    def __init__(
        self,
        *,
        ef_search: int = 100,
        m: int = 16,
        ef_construction: int = 64,
        quick_scan: int = 2_000,
        exact_scan_below: int = 5_000,
    ) -> None:
        self.ef_search = ef_search
        self.m = m
        self.ef_construction = ef_construction
        self.quick_scan = quick_scan
        """Index tuples the first HNSW walk may visit: enough for k when the filters keep most documents."""
        self.exact_scan_below = exact_scan_below
        """A walk that fell short is followed by an exact scan when the filters allow at most this many documents."""

    def ensure(self, conn: Connection, dimensions: int, *, reset: bool = False) -> None:
        if conn.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")) is None:
            where = conn.engine.url.render_as_string(hide_password=True)
            if conn.scalar(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")) is None:
                raise VectorExtensionMissingError(f"PostgreSQL at {where} has no pgvector extension", install=INSTALL)
            try:
                with conn.begin_nested():
                    conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            except DBAPIError as exc:
                raise VectorExtensionMissingError(
                    f"pgvector is installed on {where} but not enabled, and this user cannot enable it: {exc.orig}",
                    install="run CREATE EXTENSION vector in the store's database as a superuser",
                ) from exc
        self._register(conn)
        if reset:
            conn.execute(text("DROP TABLE IF EXISTS retrieval_vectors"))
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS retrieval_vectors (doc_id integer PRIMARY KEY, "
                f"kind varchar(16) NOT NULL, embedding vector({int(dimensions)}) NOT NULL)"
            )
        )
        self._create_indexes(conn)

    def _create_indexes(self, conn: Connection) -> None:
        for kind in KINDS:
            conn.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS ix_retrieval_vectors_hnsw_{kind} ON retrieval_vectors "
                    f"USING hnsw (embedding vector_cosine_ops) WITH (m = {self.m}, "
                    f"ef_construction = {self.ef_construction}) WHERE kind = '{kind}'"
                )
            )

    def _register(self, conn: Connection) -> None:
        """Teach this psycopg connection the ``vector`` type (once per pooled connection)."""
        info = conn.connection.info
        if not info.get("pgvector_registered"):
            register_vector(conn.connection.dbapi_connection)  # type: ignore[arg-type]
            info["pgvector_registered"] = True

    def upsert(self, conn: Connection, rows: Sequence[tuple[int, str, Vector]]) -> None:
        if not rows:
            return
        self._register(conn)
        held = conn.scalar(text("SELECT count(*) FROM retrieval_vectors")) or 0
        rebuild = len(rows) > max(BULK_REBUILD, held)
        if rebuild:
            # Building a graph once over the loaded rows is far faster than inserting them one by one into it.
            for kind in KINDS:
                conn.execute(text(f"DROP INDEX IF EXISTS ix_retrieval_vectors_hnsw_{kind}"))
        conn.execute(
            text(
                "INSERT INTO retrieval_vectors (doc_id, kind, embedding) VALUES (:doc_id, :kind, :v) "
                "ON CONFLICT (doc_id) DO UPDATE SET kind = excluded.kind, embedding = excluded.embedding"
            ),
            [{"doc_id": doc_id, "kind": check_kind(kind), "v": vector} for doc_id, kind, vector in rows],
        )
        if rebuild:
            conn.execute(text("SELECT set_config('maintenance_work_mem', '1GB', true)"))
            self._create_indexes(conn)

    def delete(self, conn: Connection, doc_ids: Sequence[int]) -> None:
        for start in range(0, len(doc_ids), 1000):
            chunk = [int(i) for i in doc_ids[start : start + 1000]]
            conn.execute(_vectors.delete().where(_vectors.c.doc_id.in_(chunk)))

    def analyze(self, conn: Connection) -> None:
        conn.execute(text("ANALYZE retrieval_documents, retrieval_doc_options, retrieval_vectors"))

    def search(
        self,
        conn: Connection,
        vector: Vector,
        *,
        kind: str,
        where: ColumnElement[bool],
        k: int,
        exact: bool = False,
    ) -> list[IndexHit]:
        self._register(conn)
        d = rs.documents
        distance: ColumnElement[Any] = _vectors.c.embedding.op("<=>")(bindparam("q", vector))
        # The kind is inlined so the planner can match the partial index of that kind.
        allowed = (_vectors.c.kind == literal_column(f"'{check_kind(kind)}'")) & where & (d.c.kind == kind)
        base = select(_vectors.c.doc_id, distance.label("distance")).select_from(
            _vectors.join(d, d.c.doc_id == _vectors.c.doc_id)
        )
        if not exact:
            hits = self._walk(conn, base.where(allowed).order_by(distance).limit(k), k, self.quick_scan)
            if hits is not None:
                return hits
            # The filters are selective near this query: an exact scan if they allow few documents in all, else
            # a much longer walk first.
            if few_allowed(conn, where & (d.c.kind == kind), self.exact_scan_below) is None:
                hits = self._walk(conn, base.where(allowed).order_by(distance).limit(k), k, MAX_SCAN)
                if hits is not None:
                    return hits
        # "+ 0" hides the operator from the planner: a sequential scan with exact distances.
        rows = conn.execute(base.where(allowed).order_by(distance + 0).limit(k)).all()
        return [IndexHit(int(r.doc_id), float(r.distance)) for r in rows]

    def _walk(self, conn: Connection, query: Select[Any], k: int, scan: int) -> list[IndexHit] | None:
        """The HNSW search, visiting at most ``scan`` index tuples; None when fewer than k pass the filters."""
        conn.execute(
            text(
                "SELECT set_config('hnsw.ef_search', :ef, true), "
                "set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                "set_config('hnsw.max_scan_tuples', :scan, true)"
            ),
            {"ef": str(max(self.ef_search, k)), "scan": str(scan)},
        )
        rows = conn.execute(query).all()
        if len(rows) < k:
            return None
        # relaxed_order may return neighbours slightly out of order.
        return sorted((IndexHit(int(r.doc_id), float(r.distance)) for r in rows), key=lambda h: h.score)

    def text_search(
        self, conn: Connection, terms: Sequence[str], *, where: ColumnElement[bool], k: int
    ) -> list[IndexHit]:
        words = ["".join(ch for ch in term if ch.isalnum()) for term in terms]
        expression = " | ".join(word for word in words if word)
        if not expression:
            return []
        d = rs.documents
        tsquery = func.to_tsquery(literal_column("'english'::regconfig"), bindparam("tsq", expression))
        rank = func.ts_rank(_TSV, tsquery).label("rank")
        query = select(d.c.doc_id, rank).where(_TSV.op("@@")(tsquery), where).order_by(rank.desc()).limit(k)
        return [IndexHit(int(row.doc_id), float(row.rank)) for row in conn.execute(query)]
