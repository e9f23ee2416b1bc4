"""Oracle Database 23ai backend: AI Vector Search (``VECTOR`` column, ``VECTOR_DISTANCE``, an HNSW index, or IVF
when the instance has no vector memory pool) and Oracle Text (``CONTAINS`` over a CONTEXT index).

Both indexes are created here on first use rather than by the migration: Oracle Text needs the CTXAPP role and
``VECTOR`` needs 23ai, and a store on a database without them must still migrate and serve commerce. Approximate
search is ``FETCH APPROX FIRST k ROWS ONLY``: the optimizer uses the vector index when it can, an exact scan
otherwise. The contract suite runs against a real instance when ``SHOPKEEP_TEST_ORACLE_DSN`` is set.
"""

from __future__ import annotations

import array
import re
from collections.abc import Sequence

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.oracle import (
    VECTOR,
    VectorDistanceType,
    VectorIndexConfig,
    VectorIndexType,
    VectorStorageFormat,
)
from sqlalchemy.exc import DBAPIError

from shopkeep.errors import VectorExtensionMissingError
from shopkeep.retrieval import schema as rs
from shopkeep.retrieval.indexes.base import IndexHit, Vector, check_kind

INSTALL = "Oracle Database 23ai or later (AI Vector Search), and the CTXAPP role for Oracle Text"


def _vector_table(dimensions: int | None) -> Table:
    return Table(
        "retrieval_vectors",
        MetaData(),
        Column("doc_id", Integer, primary_key=True, autoincrement=False),
        Column("kind", String(16), nullable=False),
        Column(
            "embedding",
            VECTOR(dim=dimensions, storage_format=VectorStorageFormat.FLOAT32),  # type: ignore[no-untyped-call]
            nullable=False,
        ),
    )


class OracleVectorIndex:
    """``VectorIndex`` over Oracle AI Vector Search and Oracle Text."""

    name = "oracle"

    def __init__(self, *, accuracy: int = 95) -> None:
        self.accuracy = accuracy
        self._table = _vector_table(None)

    def ensure(self, conn: Connection, dimensions: int, *, reset: bool = False) -> None:
        self._table = _vector_table(dimensions)
        try:
            if reset:
                conn.execute(text("DROP TABLE IF EXISTS retrieval_vectors PURGE"))
            self._table.create(conn, checkfirst=True)
        except DBAPIError as exc:
            raise VectorExtensionMissingError(
                f"this Oracle database cannot hold VECTOR columns: {exc.orig}", install=INSTALL
            ) from exc
        self._create_vector_index(conn)
        try:
            conn.execute(
                text(
                    "CREATE INDEX IF NOT EXISTS ix_retrieval_documents_text ON retrieval_documents (body) "
                    "INDEXTYPE IS CTXSYS.CONTEXT PARAMETERS ('SYNC (ON COMMIT)')"
                )
            )
        except DBAPIError as exc:
            raise VectorExtensionMissingError(f"Oracle Text is not usable: {exc.orig}", install=INSTALL) from exc

    def _create_vector_index(self, conn: Connection) -> None:
        exists = conn.scalar(
            text("SELECT count(*) FROM user_indexes WHERE table_name = 'RETRIEVAL_VECTORS' AND index_type = 'VECTOR'")
        )
        if exists:
            return
        for index_type, name in ((VectorIndexType.HNSW, "hnsw"), (VectorIndexType.IVF, "ivf")):
            config = VectorIndexConfig(
                index_type=index_type, distance=VectorDistanceType.COSINE, accuracy=self.accuracy
            )
            index = Index(f"ix_retrieval_vectors_{name}", self._table.c.embedding, oracle_vector=config)
            try:
                # No savepoint: Oracle commits around DDL, and a failed CREATE INDEX leaves nothing behind.
                index.create(conn)
                return
            except DBAPIError:
                # HNSW lives in the vector memory pool; an instance without one (VECTOR_MEMORY_SIZE = 0) gets IVF.
                continue

    def upsert(self, conn: Connection, rows: Sequence[tuple[int, str, Vector]]) -> None:
        if not rows:
            return
        self.delete(conn, [doc_id for doc_id, _, _ in rows])
        conn.execute(
            self._table.insert(),
            [
                {"doc_id": doc_id, "kind": check_kind(kind), "embedding": array.array("f", vector.tolist())}
                for doc_id, kind, vector in rows
            ],
        )

    def delete(self, conn: Connection, doc_ids: Sequence[int]) -> None:
        for start in range(0, len(doc_ids), 1000):
            chunk = [int(i) for i in doc_ids[start : start + 1000]]
            conn.execute(self._table.delete().where(self._table.c.doc_id.in_(chunk)))

    def analyze(self, conn: Connection) -> None:
        # DBMS_STATS commits, like DDL: the indexer calls this after its own transaction.
        for name in ("RETRIEVAL_DOCUMENTS", "RETRIEVAL_DOC_OPTIONS", "RETRIEVAL_VECTORS"):
            conn.execute(text("BEGIN DBMS_STATS.GATHER_TABLE_STATS(USER, :name); END;"), {"name": name})

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
        v = self._table
        distance = v.c.embedding.cosine_distance(array.array("f", vector.tolist())).label("distance")
        query = (
            select(v.c.doc_id, distance)
            .select_from(v.join(d, d.c.doc_id == v.c.doc_id))
            .where(v.c.kind == check_kind(kind), where)
            .order_by(distance)
            .fetch(k, oracle_fetch_approximate=not exact)
        )
        return [IndexHit(int(row.doc_id), float(row.distance)) for row in conn.execute(query)]

    def text_search(
        self, conn: Connection, terms: Sequence[str], *, where: ColumnElement[bool], k: int
    ) -> list[IndexHit]:
        words = [re.sub(r"[^0-9A-Za-z]", "", term) for term in terms]
        # ACCUM scores a document by how many of the words it has; braces escape Oracle Text's reserved words.
        expression = " ACCUM ".join("{" + word + "}" for word in words if word)
        if not expression:
            return []
        d = rs.documents
        # CONTAINS and SCORE take the label as a literal, never a bind parameter.
        label: ColumnElement[int] = literal_column("1")
        score = func.score(label).label("rank")
        query = (
            select(d.c.doc_id, score)
            .where(func.contains(d.c.body, bindparam("ctq", expression), label) > 0, where)
            .order_by(score.desc())
            .fetch(k)
        )
        return [IndexHit(int(row.doc_id), float(row.rank)) for row in conn.execute(query)]
