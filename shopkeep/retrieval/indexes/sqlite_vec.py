"""SQLite backend (the embedded default): sqlite-vec distances, binary codes searched in memory, FTS5 full text.

Each document's vector is kept twice, in the store's own file: as float32 in ``retrieval_vectors`` (exact cosine
distances through sqlite-vec's ``vec_distance_cosine``) and as a binary code, one bit per dimension (48 bytes for
384 dimensions), in ``retrieval_vector_codes``.

A kind with at most ``exact_limit`` documents is searched exactly: the cosine distance of every row the filters
allow. A larger kind is searched in two stages:

1. **Hamming distance in memory.** The kind's codes are loaded into a numpy array once per index generation (4.8 MB
   for 100,000 documents) and the query's code is compared with all of them (under a millisecond at 100k, whatever
   the number of candidates wanted).
2. **Filter and rescore in SQL.** The ``oversample`` x k nearest codes are joined to ``retrieval_documents``, kept
   if the filters allow them, and ordered by their exact float distance. If fewer than k survive, the filters are
   selective near this query: when they allow at most ``exact_scan_below`` documents in all, those are ranked
   exactly; otherwise eight times as many candidates are tried, and if even those hold fewer than k allowed
   documents, everything the filters allow is scanned exactly.

sqlite-vec's own ``vec0`` KNN was measured and dropped for stage 1: its top-k selection grows with k (over 100k
codes: 3 ms at k=10, 16 ms at k=180, 134 ms at k=1,000), and filtered searches need large candidate lists. A
one-row generation counter, bumped by every write, tells each process when its in-memory codes are stale.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
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
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Join

from shopkeep.errors import VectorExtensionMissingError
from shopkeep.retrieval import schema as rs
from shopkeep.retrieval.indexes.base import IndexHit, Vector, check_kind, few_allowed

INSTALL = "pip install sqlite-vec pysqlite3-binary (Shopkeep loads sqlite-vec through pysqlite3)"

_vectors = table("retrieval_vectors", column("doc_id"), column("kind"), column("embedding"))
_codes = table("retrieval_vector_codes", column("doc_id"), column("kind"), column("code"))
_fts = table("retrieval_fts", column("rowid"))
GROWTH = 8
"""When the first candidates fail and the filters allow many documents, this many times as many are tried next."""
COMMON_SHARE = 0.5
"""Full-text terms in more than this share of all documents are skipped: they rank nothing (FTS5's idf is ~0)."""
LARGE_SHARE, LARGE_DOCS = 0.05, 5_000
"""In a large catalog, terms in more than this share of documents and more than this many are skipped too: scoring
a term costs time in proportion to the documents it is in ("water" in 20,000 of 200,000: 20 ms), and such a term
ranks little that the vector search does not."""
_FTS_TABLE: ColumnElement[Any] = literal_column("retrieval_fts")
# Title matches weigh four times body matches; bm25() is lower-is-better, so scores are negated.
_BM25: ColumnElement[float] = literal_column("bm25(retrieval_fts, 4.0, 1.0)")
_Codes = npt.NDArray[np.uint64]


class _Driven(Join):
    """``left CROSS JOIN right ON ...``: SQLite's way to make the left side the outer loop. Used where the planner,
    unable to size a candidate list, would otherwise walk a filter's index (thousands of rows) and probe the
    candidates for each (a price filter at 100k documents: 1.8 s instead of a few ms)."""

    inherit_cache = True


@compiles(_Driven, "sqlite")
def _compile_driven(join: _Driven, compiler: SQLCompiler, **kw: Any) -> str:
    linter = kw.get("from_linter")
    if linter is not None:
        linter.edges.update(itertools.product(join.left._from_objects, join.right._from_objects))
    kw["asfrom"] = True
    left, right = compiler.process(join.left, **kw), compiler.process(join.right, **kw)
    on = compiler.process(join.onclause, **kw) if join.onclause is not None else "1"
    return f"{left} CROSS JOIN {right} ON {on}"


def binary_code(vectors: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """One bit per dimension (set when positive), packed and padded to whole 64-bit words: shape (n, bytes)."""
    bits = np.packbits(np.atleast_2d(np.asarray(vectors, dtype=np.float32)) > 0, axis=1)
    padding = -bits.shape[1] % 8
    return np.pad(bits, ((0, 0), (0, padding))) if padding else bits


@dataclass(frozen=True)
class _KindCodes:
    """The binary codes of one kind's documents, as loaded at one generation: one row of 64-bit words per word
    position (column-major: summing the bit counts down rows is five times faster than across them)."""

    generation: int
    doc_ids: npt.NDArray[np.int64]
    words: _Codes

    def nearest(self, vector: Vector) -> npt.NDArray[np.int64]:
        """Every doc id of the kind, nearest code first (ties in doc id order)."""
        query = binary_code(vector).view(np.uint64)[0]
        hamming = np.bitwise_count(self.words ^ query[:, None]).sum(axis=0, dtype=np.uint16)
        return self.doc_ids[np.argsort(hamming, kind="stable")]


class SqliteVecIndex:
    """``VectorIndex`` over sqlite-vec distances, in-memory binary codes and FTS5."""

    name = "sqlite_vec"

    def __init__(
        self,
        *,
        exact_limit: int = 20_000,
        oversample: int = 10,
        min_candidates: int = 64,
        exact_scan_below: int = 5_000,
    ) -> None:
        self.exact_limit = exact_limit
        self.oversample = oversample
        self.min_candidates = min_candidates
        self.exact_scan_below = exact_scan_below
        """When the first candidates hold fewer than k allowed documents and the filters allow at most this many in
        all, those are ranked exactly (about 1.4 microseconds each) instead of trying more candidates."""
        self._lock = threading.Lock()
        self._kinds: dict[str, _KindCodes] = {}
        self._term_counts: tuple[int, int, dict[str, int]] = (-1, 0, {})
        """(generation, documents in all, full-text matches per term)."""

    def ensure(self, conn: Connection, dimensions: int, *, reset: bool = False) -> None:
        try:
            conn.exec_driver_sql("SELECT vec_version()")
        except OperationalError as exc:
            raise VectorExtensionMissingError(
                "this SQLite connection cannot run sqlite-vec (the extension is not installed or not loadable)",
                install=INSTALL,
            ) from exc
        # Stores indexed before the codes moved into memory kept them in a vec0 table.
        conn.exec_driver_sql("DROP TABLE IF EXISTS retrieval_vec_bits")
        if reset:
            conn.exec_driver_sql("DROP TABLE IF EXISTS retrieval_vector_codes")
            conn.exec_driver_sql("DROP TABLE IF EXISTS retrieval_vectors")
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS retrieval_vectors "
            "(doc_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, embedding BLOB NOT NULL)"
        )
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS retrieval_vector_generation "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL)"
        )
        conn.exec_driver_sql("INSERT OR IGNORE INTO retrieval_vector_generation (id, generation) VALUES (1, 0)")
        missing = conn.scalar(text("SELECT 1 FROM sqlite_master WHERE name = 'retrieval_vector_codes'")) is None
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS retrieval_vector_codes "
            "(doc_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, code BLOB NOT NULL)"
        )
        if missing:
            self._backfill_codes(conn)
        if reset or missing:
            self._bump(conn)

    def _backfill_codes(self, conn: Connection) -> None:
        """Codes for vectors stored before the codes table existed."""
        rows = conn.execute(select(_vectors.c.doc_id, _vectors.c.kind, _vectors.c.embedding)).all()
        for start in range(0, len(rows), 5_000):
            chunk = rows[start : start + 5_000]
            vectors = np.stack([np.frombuffer(row.embedding, dtype=np.float32) for row in chunk])
            self._write_codes(conn, [(row.doc_id, row.kind) for row in chunk], vectors)

    def upsert(self, conn: Connection, rows: Sequence[tuple[int, str, Vector]]) -> None:
        if not rows:
            return
        self.delete(conn, [doc_id for doc_id, _, _ in rows])
        vectors = np.stack([np.asarray(vector, dtype=np.float32) for _, _, vector in rows])
        conn.execute(
            text("INSERT INTO retrieval_vectors (doc_id, kind, embedding) VALUES (:doc_id, :kind, :v)"),
            [
                {"doc_id": doc_id, "kind": check_kind(kind), "v": vector.tobytes()}
                for (doc_id, kind, _), vector in zip(rows, vectors, strict=True)
            ],
        )
        self._write_codes(conn, [(doc_id, kind) for doc_id, kind, _ in rows], vectors)
        self._bump(conn)

    def _write_codes(self, conn: Connection, keys: Sequence[tuple[int, str]], vectors: npt.NDArray[np.float32]) -> None:
        conn.execute(
            text("INSERT INTO retrieval_vector_codes (doc_id, kind, code) VALUES (:doc_id, :kind, :code)"),
            [
                {"doc_id": int(doc_id), "kind": kind, "code": code.tobytes()}
                for (doc_id, kind), code in zip(keys, binary_code(vectors), strict=True)
            ],
        )

    def delete(self, conn: Connection, doc_ids: Sequence[int]) -> None:
        for start in range(0, len(doc_ids), 500):
            chunk = [int(i) for i in doc_ids[start : start + 500]]
            conn.execute(_vectors.delete().where(_vectors.c.doc_id.in_(chunk)))
            conn.execute(_codes.delete().where(_codes.c.doc_id.in_(chunk)))
        if doc_ids:
            self._bump(conn)

    def analyze(self, conn: Connection) -> None:
        for name in ("retrieval_documents", "retrieval_doc_options", "retrieval_vectors"):
            conn.exec_driver_sql(f"ANALYZE {name}")

    def _bump(self, conn: Connection) -> None:
        """A new generation: every process reloads its codes and full-text counts before its next search."""
        conn.exec_driver_sql("UPDATE retrieval_vector_generation SET generation = generation + 1")

    def _generation(self, conn: Connection) -> int:
        return int(conn.scalar(text("SELECT generation FROM retrieval_vector_generation")) or 0)

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
        codes = None if exact else self._codes_of(conn, kind)
        if codes is not None and len(codes.doc_ids) > self.exact_limit:
            order = codes.nearest(vector)
            wanted = max(self.min_candidates, self.oversample * k)
            hits = self._nearest_of(conn, order[:wanted].tolist(), distance, allowed, k)
            if len(hits) >= k:
                return hits
            # The filters are selective near this query: exactly, if they allow few documents in all...
            few = few_allowed(conn, allowed, self.exact_scan_below)
            if few is not None:
                return self._nearest_of(conn, few, distance, None, k)
            # ...else from more candidates; only if those fail too does an exact scan of everything allowed run.
            hits = self._nearest_of(conn, order[: wanted * GROWTH].tolist(), distance, allowed, k)
            if len(hits) >= k:
                return hits
        query = (
            select(_vectors.c.doc_id, distance)
            .select_from(d.join(_vectors, _vectors.c.doc_id == d.c.doc_id))
            .where(allowed)
            .order_by(distance)
            .limit(k)
        )
        return [IndexHit(int(row.doc_id), float(row.distance)) for row in conn.execute(query)]

    def _nearest_of(
        self,
        conn: Connection,
        doc_ids: list[int],
        distance: ColumnElement[Any],
        allowed: ColumnElement[bool] | None,
        k: int,
    ) -> list[IndexHit]:
        """The k nearest of these documents that the filters allow, by exact distance. The ids, one JSON parameter,
        drive the join: the ids first, then the filters on their documents, then the vectors of those that pass."""
        d = rs.documents
        ids = func.json_each(json.dumps(doc_ids)).table_valued("value")
        query = (
            select(_vectors.c.doc_id, distance)
            .select_from(_Driven(_Driven(ids, d, d.c.doc_id == ids.c.value), _vectors, _vectors.c.doc_id == d.c.doc_id))
            .order_by(distance)
            .limit(k)
        )
        if allowed is not None:
            query = query.where(allowed)
        return [IndexHit(int(row.doc_id), float(row.distance)) for row in conn.execute(query)]

    def _codes_of(self, conn: Connection, kind: str) -> _KindCodes:
        """The kind's binary codes in memory, reloaded when the index's generation has moved on."""
        generation = self._generation(conn)
        with self._lock:
            cached = self._kinds.get(kind)
            if cached is not None and cached.generation == generation:
                return cached
            query = select(_codes.c.doc_id, _codes.c.code).where(_codes.c.kind == kind).order_by(_codes.c.doc_id)
            rows = conn.execute(query).all()
            doc_ids = np.fromiter((row.doc_id for row in rows), dtype=np.int64, count=len(rows))
            packed = np.frombuffer(b"".join(row.code for row in rows), dtype=np.uint64)
            codes = packed.reshape(len(rows), -1) if rows else np.zeros((0, 1), dtype=np.uint64)
            loaded = _KindCodes(generation, doc_ids, np.ascontiguousarray(codes.T))
            self._kinds[kind] = loaded
            return loaded

    def _common(self, conn: Connection, quoted: Sequence[str]) -> set[str]:
        """The full-text terms too common to score (see ``COMMON_SHARE`` and ``LARGE_SHARE``): counting posting
        lists is cheap, scoring them is not. Counts are kept until the index's generation moves on."""
        generation = self._generation(conn)
        with self._lock:
            if self._term_counts[0] != generation:
                total = conn.scalar(select(func.count()).select_from(rs.documents)) or 0
                self._term_counts = (generation, int(total), {})
            _, total, counts = self._term_counts
        for term in quoted:
            if term not in counts:
                counts[term] = int(
                    conn.scalar(select(func.count()).select_from(_fts).where(_FTS_TABLE.op("MATCH")(term))) or 0
                )
        most = min(COMMON_SHARE * total, max(LARGE_SHARE * total, LARGE_DOCS))
        return {term for term in quoted if counts[term] > most}

    def text_search(
        self, conn: Connection, terms: Sequence[str], *, where: ColumnElement[bool], k: int
    ) -> list[IndexHit]:
        if not terms:
            return []
        d = rs.documents
        quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
        # A word in nearly every document ("stock", "price") ranks nothing but makes FTS5 score every row.
        common = self._common(conn, quoted)
        quoted = [q for q in quoted if q not in common]
        if not quoted:
            return []
        expression = " OR ".join(quoted)
        # Driven by the matches: a planner that starts from the filtered documents instead runs the full-text query
        # once for each of them (seconds at 100k). bm25() is computed only for the matches the filters keep.
        query = (
            select(_fts.c.rowid.label("doc_id"), _BM25.label("rank"))
            .select_from(_Driven(_fts, d, d.c.doc_id == _fts.c.rowid))
            .where(_FTS_TABLE.op("MATCH")(expression), where)
            .order_by(_BM25)
            .limit(k)
        )
        return [IndexHit(int(row.doc_id), -float(row.rank)) for row in conn.execute(query)]
