"""SQLite backend (the embedded default): sqlite-vec for vectors, FTS5 for full text, in the store's own file.

sqlite-vec has no graph index: a KNN query scans every vector of its partition. So each document's vector is kept
twice: as float32 in ``retrieval_vectors`` (exact distances, and rescoring) and binary-quantized (one bit per
dimension, 48 bytes for 384 dimensions) in the vec0 table ``retrieval_vec_bits``, partitioned by document kind.

A kind with at most ``exact_limit`` documents is searched exactly (cosine distance over the rows the filters
allow). A larger one first runs a Hamming-distance KNN over the bits for ``oversample`` × k candidates, which are
filtered and rescored with the exact float distance; if the filters keep fewer than k of them, the KNN is asked
for ``WIDEST_KNN`` candidates, and only if the filters keep fewer than k of those (they are selective) does an exact
scan of the rows they allow run instead. Binary quantization plus float rescoring keeps recall high
at a fraction of the float scan's cost (``bench/retrieval.py`` measures both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Connection,
    LargeBinary,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.exc import OperationalError

from shopkeep.errors import VectorExtensionMissingError
from shopkeep.retrieval import schema as rs
from shopkeep.retrieval.indexes.base import IndexHit, Vector, check_kind

INSTALL = "pip install sqlite-vec pysqlite3-binary (Shopkeep loads sqlite-vec through pysqlite3)"

_vectors = table("retrieval_vectors", column("doc_id"), column("kind"), column("embedding"))
_bits = table("retrieval_vec_bits", column("rowid"), column("kind"), column("embedding"), column("k"))
_fts = table("retrieval_fts", column("rowid"))
WIDEST_KNN = 4096
"""When the filters keep fewer than k of the first candidates, the KNN is asked once more for this many (sqlite-vec's
largest k; the Hamming scan costs the same for any k) before falling back to an exact scan."""
COMMON_SHARE = 0.5  # full-text terms in more than this share of all documents are skipped
_FTS_TABLE: ColumnElement[Any] = literal_column("retrieval_fts")
# Title matches weigh four times body matches; bm25() is lower-is-better, so scores are negated.
_BM25: ColumnElement[float] = literal_column("bm25(retrieval_fts, 4.0, 1.0)")


class SqliteVecIndex:
    """``VectorIndex`` over sqlite-vec and FTS5."""

    name = "sqlite_vec"

    def __init__(self, *, exact_limit: int = 20_000, oversample: int = 3, min_candidates: int = 64) -> None:
        self.exact_limit = exact_limit
        self.oversample = oversample
        self.min_candidates = min_candidates
        self._sizes: dict[str, int] = {}
        self._term_counts: dict[str, int] = {}

    def ensure(self, conn: Connection, dimensions: int, *, reset: bool = False) -> None:
        try:
            conn.exec_driver_sql("SELECT vec_version()")
        except OperationalError as exc:
            raise VectorExtensionMissingError(
                "this SQLite connection cannot run sqlite-vec (the extension is not installed or not loadable)",
                install=INSTALL,
            ) from exc
        if reset:
            conn.exec_driver_sql("DROP TABLE IF EXISTS retrieval_vec_bits")
            conn.exec_driver_sql("DROP TABLE IF EXISTS retrieval_vectors")
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS retrieval_vectors "
            "(doc_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, embedding BLOB NOT NULL)"
        )
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE IF NOT EXISTS retrieval_vec_bits "
            f"USING vec0(kind text partition key, embedding bit[{int(dimensions)}])"
        )

    def upsert(self, conn: Connection, rows: Sequence[tuple[int, str, Vector]]) -> None:
        self._sizes.clear()
        self._term_counts.clear()
        if not rows:
            return
        self.delete(conn, [doc_id for doc_id, _, _ in rows])
        values = [
            {"doc_id": doc_id, "kind": check_kind(kind), "v": np.asarray(vector, dtype=np.float32).tobytes()}
            for doc_id, kind, vector in rows
        ]
        conn.execute(
            text("INSERT INTO retrieval_vectors (doc_id, kind, embedding) VALUES (:doc_id, :kind, :v)"), values
        )
        conn.execute(
            text(
                "INSERT INTO retrieval_vec_bits (rowid, kind, embedding) "
                "VALUES (:doc_id, :kind, vec_quantize_binary(vec_f32(:v)))"
            ),
            values,
        )

    def delete(self, conn: Connection, doc_ids: Sequence[int]) -> None:
        self._sizes.clear()
        self._term_counts.clear()
        present: list[int] = []
        for start in range(0, len(doc_ids), 500):
            chunk = [int(i) for i in doc_ids[start : start + 500]]
            present += conn.scalars(select(_vectors.c.doc_id).where(_vectors.c.doc_id.in_(chunk)))
        if present:
            # One rowid at a time: vec0 looks a rowid up directly, but scans the whole table for an IN list.
            conn.execute(text("DELETE FROM retrieval_vec_bits WHERE rowid = :doc_id"), [{"doc_id": i} for i in present])
            conn.execute(text("DELETE FROM retrieval_vectors WHERE doc_id = :doc_id"), [{"doc_id": i} for i in present])

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
        d = rs.documents
        query_blob = literal(np.asarray(vector, dtype=np.float32).tobytes(), LargeBinary)
        distance = func.vec_distance_cosine(_vectors.c.embedding, query_blob).label("distance")
        allowed = where & (d.c.kind == check_kind(kind))
        if not exact and self._partition_size(conn, kind) > self.exact_limit:
            first = max(self.min_candidates, self.oversample * k)
            for wanted in dict.fromkeys((first, max(first, WIDEST_KNN))):
                hits = self._rescored(conn, query_blob, distance, allowed, kind=kind, wanted=wanted, k=k)
                if len(hits) >= k:
                    return hits
            # Even the widest candidate set kept fewer than k: the filters are selective, so an exact scan of what
            # they allow is cheap.
        query = (
            select(_vectors.c.doc_id, distance)
            .select_from(d.join(_vectors, _vectors.c.doc_id == d.c.doc_id))
            .where(allowed)
            .order_by(distance)
            .limit(k)
        )
        return [IndexHit(int(row.doc_id), float(row.distance)) for row in conn.execute(query)]

    def _rescored(
        self,
        conn: Connection,
        query_blob: ColumnElement[Any],
        distance: ColumnElement[Any],
        allowed: ColumnElement[bool],
        *,
        kind: str,
        wanted: int,
        k: int,
    ) -> list[IndexHit]:
        """The ``wanted`` nearest by Hamming distance, filtered, then the k nearest of those by exact distance."""
        d = rs.documents
        coarse = (
            select(_bits.c.rowid.label("doc_id"))
            .where(
                _bits.c.embedding.op("MATCH")(func.vec_quantize_binary(query_blob)),
                _bits.c.k == wanted,
                _bits.c.kind == kind,
            )
            .cte("coarse")
            # As for full text: otherwise SQLite may run the KNN once per document the filters allow (a price
            # filter at 100k documents: 40 s instead of 15 ms).
            .prefix_with("MATERIALIZED")
        )
        query = (
            select(_vectors.c.doc_id, distance)
            .select_from(
                coarse.join(_vectors, _vectors.c.doc_id == coarse.c.doc_id).join(d, d.c.doc_id == _vectors.c.doc_id)
            )
            .where(allowed)
            .order_by(distance)
            .limit(k)
        )
        return [IndexHit(int(row.doc_id), float(row.distance)) for row in conn.execute(query)]

    def _matches(self, conn: Connection, quoted: str) -> int:
        """How many documents a full-text term matches (counting posting lists is cheap; scoring them is not)."""
        if quoted not in self._term_counts:
            count = conn.scalar(select(func.count()).select_from(_fts).where(_FTS_TABLE.op("MATCH")(quoted)))
            self._term_counts[quoted] = int(count or 0)
        return self._term_counts[quoted]

    def _total(self, conn: Connection) -> int:
        if "*" not in self._sizes:
            self._sizes["*"] = int(conn.scalar(select(func.count()).select_from(rs.documents)) or 0)
        return self._sizes["*"]

    def _partition_size(self, conn: Connection, kind: str) -> int:
        """How many documents of a kind there are (cached: it only picks exact or approximate search)."""
        if kind not in self._sizes:
            d = rs.documents
            self._sizes[kind] = int(conn.scalar(select(func.count()).select_from(d).where(d.c.kind == kind)) or 0)
        return self._sizes[kind]

    def text_search(
        self, conn: Connection, terms: Sequence[str], *, where: ColumnElement[bool], k: int
    ) -> list[IndexHit]:
        if not terms:
            return []
        d = rs.documents
        quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
        # A word in nearly every document ("stock", "price") ranks nothing but makes FTS5 score every row.
        quoted = [q for q in quoted if self._matches(conn, q) <= COMMON_SHARE * self._total(conn)]
        if not quoted:
            return []
        expression = " OR ".join(quoted)
        # Materialized first: otherwise SQLite may walk the filtered documents and run the full-text query once
        # for each of them, which at 100k documents takes seconds instead of milliseconds.
        matches = (
            select(_fts.c.rowid.label("doc_id"), _BM25.label("rank"))
            .where(_FTS_TABLE.op("MATCH")(expression))
            .cte("fts_matches")
            .prefix_with("MATERIALIZED")
        )
        query = (
            select(matches.c.doc_id, matches.c.rank)
            .select_from(matches.join(d, d.c.doc_id == matches.c.doc_id))
            .where(where)
            .order_by(matches.c.rank)
            .limit(k)
        )
        return [IndexHit(int(row.doc_id), -float(row.rank)) for row in conn.execute(query)]
