"""The ``VectorIndex`` contract, run on every backend: sqlite-vec (a SQLite file), pgvector (the PostgreSQL 16 +
pgvector test server) and Oracle AI Vector Search (only with ``SHOPKEEP_TEST_ORACLE_DSN``).

Documents are written straight into ``retrieval_documents`` with small hand-made vectors, so each test knows the
exact answer: nearest first, filters applied in the database, kinds kept apart, replace and delete, full text.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, create_engine, delete, insert, select, text, true
from sqlalchemy.engine import make_url

from shopkeep.errors import VectorExtensionMissingError
from shopkeep.retrieval import schema as rs
from shopkeep.retrieval.indexes import Vector, VectorIndex, vector_index_for
from shopkeep.retrieval.indexes.sqlite_vec import SqliteVecIndex
from shopkeep.retrieval.search import CatalogSearch
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.seed import StoreData, seed

DIMS = 16
BACKENDS = ["sqlite_vec", "pgvector", "oracle"]


def unit(*weights: float) -> Vector:
    vector = np.zeros(DIMS, dtype=np.float32)
    vector[: len(weights)] = weights
    return vector / np.linalg.norm(vector)


DOCS: list[dict[str, Any]] = [
    # key, kind, product, title, body, price, available, vector
    {"doc_key": "product:1", "kind": "product", "product_id": "1", "title": "Electric Kettle",
     "body": "Electric Kettle: boils water fast. Glass or stainless steel.", "price": "40", "available": True,
     "vector": unit(1, 0, 0)},
    {"doc_key": "product:2", "kind": "product", "product_id": "2", "title": "Tea Kettle",
     "body": "Tea Kettle for the stovetop: gas or induction.", "price": "80", "available": True,
     "vector": unit(0.9, 0.1, 0)},
    {"doc_key": "product:3", "kind": "product", "product_id": "3", "title": "Mechanical Keyboard",
     "body": "Mechanical Keyboard with clicky or linear switches.", "price": "150", "available": False,
     "vector": unit(0, 1, 0)},
    {"doc_key": "variant:31", "kind": "variant", "product_id": "3", "title": "Mechanical Keyboard",
     "body": "Mechanical Keyboard, clicky switches, RGB backlight.", "price": "160", "available": True,
     "vector": unit(0, 1, 0.1)},
    {"doc_key": "variant:32", "kind": "variant", "product_id": "3", "title": "Mechanical Keyboard",
     "body": "Mechanical Keyboard, linear switches, no backlight.", "price": "120", "available": False,
     "vector": unit(0, 1, -0.1)},
    {"doc_key": "kb:returns#1", "kind": "kb", "product_id": None, "title": "Returns",
     "body": "Returns are accepted within 30 days of delivery.", "price": None, "available": True,
     "vector": unit(0, 0, 1)},
]  # fmt: skip


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[SqlCommerceStore, VectorIndex]]:
    if request.param == "sqlite_vec":
        store = open_store(f"sqlite:///{tmp_path / 'vectors.db'}")
    else:
        store = open_store(
            request.getfixturevalue("pgvector_database" if request.param == "pgvector" else "oracle_url")
        )
        _clear(store)
    index = vector_index_for(store.engine)
    assert index.name == request.param
    with store.session(write=True) as session:
        index.ensure(session.connection, DIMS, reset=True)
    yield store, index
    store.close()


def _clear(store: SqlCommerceStore) -> None:
    with store.session(write=True) as session:
        session.connection.execute(delete(rs.doc_options))
        session.connection.execute(delete(rs.documents))


def _load(store: SqlCommerceStore, index: VectorIndex, docs: list[dict[str, Any]] = DOCS) -> dict[str, int]:
    with store.session(write=True) as session:
        conn = session.connection
        conn.execute(
            insert(rs.documents),
            [
                {
                    **{k: v for k, v in doc.items() if k != "vector"},
                    "price": None if doc["price"] is None else Decimal(doc["price"]),
                    "seq": n,
                    "content_hash": "x",
                }
                for n, doc in enumerate(docs)
            ],
        )
        ids: dict[str, int] = {row.doc_key: row.doc_id for row in conn.execute(select(rs.documents))}
        index.upsert(conn, [(ids[doc["doc_key"]], doc["kind"], doc["vector"]) for doc in docs])
    return ids


def _keys(conn: Connection, hits: list[Any]) -> list[str]:
    by_id = {row.doc_id: row.doc_key for row in conn.execute(select(rs.documents))}
    return [by_id[hit.doc_id] for hit in hits]


def test_nearest_first_with_cosine_distances(backend: tuple[SqlCommerceStore, VectorIndex]) -> None:
    store, index = backend
    _load(store, index)
    with store.session() as session:
        conn = session.connection
        for exact in (True, False):
            hits = index.search(conn, unit(1, 0, 0), kind="product", where=true(), k=3, exact=exact)
            assert _keys(conn, hits) == ["product:1", "product:2", "product:3"]
            assert hits[0].score == pytest.approx(0.0, abs=1e-5)
            assert hits[2].score == pytest.approx(1.0, abs=1e-5)


def test_filters_run_in_the_database(backend: tuple[SqlCommerceStore, VectorIndex]) -> None:
    store, index = backend
    _load(store, index)
    d = rs.documents
    with store.session() as session:
        conn = session.connection
        cheap = index.search(conn, unit(1, 0, 0), kind="product", where=d.c.price < Decimal("50"), k=5)
        assert _keys(conn, cheap) == ["product:1"]
        in_stock = index.search(conn, unit(0, 1, 0), kind="variant", where=d.c.available.is_(True), k=5)
        assert _keys(conn, in_stock) == ["variant:31"]
        nothing = index.search(conn, unit(0, 1, 0), kind="variant", where=d.c.product_id == "nope", k=5)
        assert nothing == []


def test_kinds_are_kept_apart(backend: tuple[SqlCommerceStore, VectorIndex]) -> None:
    store, index = backend
    _load(store, index)
    with store.session() as session:
        conn = session.connection
        assert _keys(conn, index.search(conn, unit(0, 0, 1), kind="kb", where=true(), k=5)) == ["kb:returns#1"]
        variants = index.search(conn, unit(0, 0, 1), kind="variant", where=true(), k=5)
        assert _keys(conn, variants) == ["variant:31", "variant:32"]


def test_upsert_replaces_and_delete_removes(backend: tuple[SqlCommerceStore, VectorIndex]) -> None:
    store, index = backend
    ids = _load(store, index)
    with store.session(write=True) as session:
        index.upsert(session.connection, [(ids["product:3"], "product", unit(1, 0, 0))])
        index.delete(session.connection, [ids["product:1"]])
    with store.session() as session:
        conn = session.connection
        hits = index.search(conn, unit(1, 0, 0), kind="product", where=true(), k=5, exact=True)
        assert _keys(conn, hits)[0] == "product:3"
        assert "product:1" not in _keys(conn, hits)


def test_text_search_ranks_title_and_body_words_with_stemming(backend: tuple[SqlCommerceStore, VectorIndex]) -> None:
    store, index = backend
    _load(store, index)
    d = rs.documents
    with store.session() as session:
        conn = session.connection
        kettles = index.text_search(conn, ["kettles"], where=d.c.kind == "product", k=10)
        assert set(_keys(conn, kettles)) == {"product:1", "product:2"}
        tea = index.text_search(conn, ["tea", "kettle"], where=d.c.kind == "product", k=10)
        assert _keys(conn, tea)[0] == "product:2"
        assert all(a.score >= b.score for a, b in itertools.pairwise(tea))
        clicky = index.text_search(conn, ["clicky"], where=(d.c.kind == "variant") & (d.c.price < 200), k=10)
        assert _keys(conn, clicky) == ["variant:31"]
        assert index.text_search(conn, [], where=true(), k=10) == []
        # Words that are the engines' own query syntax are searched for as words.
        assert index.text_search(conn, ["NEAR", "NOT", "AND"], where=true(), k=10) == []


def test_reset_for_a_new_embedder_changes_the_dimension(backend: tuple[SqlCommerceStore, VectorIndex]) -> None:
    store, index = backend
    ids = _load(store, index)
    with store.session(write=True) as session:
        index.ensure(session.connection, 8, reset=True)
        index.upsert(session.connection, [(ids["product:2"], "product", np.ones(8, dtype=np.float32) / np.sqrt(8))])
    with store.session() as session:
        conn = session.connection
        hits = index.search(conn, np.ones(8, dtype=np.float32), kind="product", where=true(), k=5, exact=True)
        assert _keys(conn, hits) == ["product:2"]


def test_approximate_search_agrees_with_exact_on_a_larger_set(backend: tuple[SqlCommerceStore, VectorIndex]) -> None:
    store, index = backend
    if isinstance(index, SqliteVecIndex):
        index.exact_limit = 10  # force the binary-quantized path with rescoring
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((300, DIMS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [
        {"doc_key": f"product:{n}", "kind": "product", "product_id": str(n), "title": f"Thing {n}",
         "body": "thing", "price": str(n), "available": True, "vector": vectors[n]}
        for n in range(300)
    ]  # fmt: skip
    _load(store, index, docs)
    query = vectors[0] + 0.05 * vectors[1]
    query /= np.linalg.norm(query)
    with store.session() as session:
        conn = session.connection
        exact = index.search(conn, query, kind="product", where=true(), k=10, exact=True)
        approx = index.search(conn, query, kind="product", where=true(), k=10)
        assert _keys(conn, exact)[0] == "product:0"
        assert len(set(_keys(conn, exact)) & set(_keys(conn, approx))) >= 8
        filtered = index.search(conn, query, kind="product", where=rs.documents.c.price < 20, k=5)
        assert all(int(key.split(":")[1]) < 20 for key in _keys(conn, filtered))
        assert len(filtered) == 5


def test_analyze_gives_the_planner_row_counts(backend: tuple[SqlCommerceStore, VectorIndex]) -> None:
    store, index = backend
    _load(store, index)
    with store.session(write=True) as session:
        index.analyze(session.connection)
    with store.engine.connect() as conn:
        dialect = conn.dialect.name
        if dialect == "sqlite":  # each index's statistics start with the table's row count
            rows = int(conn.scalar(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'retrieval_documents'")).split()[0])
        elif dialect == "postgresql":
            rows = int(conn.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'retrieval_documents'")))
        else:
            rows = int(conn.scalar(text("SELECT num_rows FROM user_tables WHERE table_name = 'RETRIEVAL_DOCUMENTS'")))
    assert rows == len(DOCS)


def test_postgres_without_pgvector_says_what_to_install(postgres_database: str) -> None:
    """The plain PostgreSQL test server has no pgvector: commerce works, vector search explains itself."""
    store = open_store(postgres_database)
    try:
        with store.engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")):
                pytest.skip("this PostgreSQL server has pgvector")
        index = vector_index_for(store.engine)
        with pytest.raises(VectorExtensionMissingError) as raised, store.session(write=True) as session:
            index.ensure(session.connection, DIMS)
        assert "pgvector" in raised.value.message
        assert "CREATE EXTENSION vector" in raised.value.install
        with store.session() as session:
            assert session.product_names() is not None
    finally:
        store.close()


class _Hashing:
    """A stand-in model: 16 dimensions from a text's hash."""

    name, dimensions = "test:hashing16", DIMS

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(b) - 127.5 for b in hashlib.sha256(text.encode()).digest()[:DIMS]] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_pgvector_enables_its_extension_in_a_new_database(pgvector_database: str, demo_data: StoreData) -> None:
    """Indexing a store on a server that has pgvector, in a database that has not enabled it yet."""
    server = make_url(pgvector_database)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"shopkeep_noext_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    store = open_store(server.set(database=name).render_as_string(hide_password=False))
    try:
        seed(store, StoreData(products=demo_data.products[:3], customers=[], orders=[]))
        search = CatalogSearch(store, _Hashing())
        report = search.index_documents()
        assert report.kinds["product"] == 3 and report.vectors == report.documents
        assert search.search(demo_data.products[0].name).hits[0].product_id == demo_data.products[0].product_id
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
