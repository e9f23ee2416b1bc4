"""The SQLite vector index beyond the shared contract: binary codes held in memory follow every write (from this or
another process), filtered approximate searches still fill k (an exact scan when the filters are selective, more
candidates when they are broad but far from the query), and a store indexed when codes lived in sqlite-vec's
``vec0`` table is upgraded in place. (That ``analyze`` refreshes the planner's statistics is in the contract suite.)"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert, select, text, true

from shopkeep.retrieval import schema as rs
from shopkeep.retrieval.indexes import Vector
from shopkeep.retrieval.indexes.sqlite_vec import SqliteVecIndex
from shopkeep.store import SqlCommerceStore, open_store

DIMS = 32


def _index(**options: int) -> SqliteVecIndex:
    """Approximate search from the smallest kind up (``exact_limit=0``)."""
    return SqliteVecIndex(exact_limit=0, **options)


@pytest.fixture
def store(tmp_path: Path) -> SqlCommerceStore:
    return open_store(f"sqlite:///{tmp_path / 'codes.db'}")


def _documents(store: SqlCommerceStore, index: SqliteVecIndex, vectors: np.ndarray, prices: list[int]) -> list[int]:
    """Products ``p0``.. with these vectors and prices; their doc ids, in order."""
    with store.session(write=True) as session:
        conn = session.connection
        index.ensure(conn, DIMS)
        conn.execute(
            insert(rs.documents),
            [
                {"doc_key": f"product:p{n}", "kind": "product", "product_id": f"p{n}", "title": f"Thing {n}",
                 "body": "thing", "price": Decimal(price), "available": True, "seq": n, "content_hash": "x"}
                for n, price in enumerate(prices)
            ],
        )  # fmt: skip
        ids = {row.doc_key: row.doc_id for row in conn.execute(select(rs.documents.c.doc_key, rs.documents.c.doc_id))}
        doc_ids = [ids[f"product:p{n}"] for n in range(len(prices))]
        index.upsert(conn, [(doc_id, "product", vector) for doc_id, vector in zip(doc_ids, vectors, strict=True)])
    return doc_ids


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def _near(rng: np.random.Generator, centre: Vector, count: int, spread: float) -> np.ndarray:
    return _unit(centre + spread * rng.standard_normal((count, DIMS)))


def test_codes_in_memory_follow_writes_from_another_process(store: SqlCommerceStore) -> None:
    rng = np.random.default_rng(1)
    reader, writer = _index(), _index()  # two processes' indexes over one file
    vectors = _unit(rng.standard_normal((300, DIMS)))
    doc_ids = _documents(store, writer, vectors, list(range(300)))
    target = _unit(rng.standard_normal(DIMS))
    with store.engine.connect() as conn:
        before = reader.search(conn, target, kind="product", where=true(), k=1)
    assert before[0].doc_id != doc_ids[7]
    with store.session(write=True) as session:
        writer.upsert(session.connection, [(doc_ids[7], "product", target)])
    with store.engine.connect() as conn:
        after = reader.search(conn, target, kind="product", where=true(), k=1)
    assert after[0].doc_id == doc_ids[7] and after[0].score == pytest.approx(0.0, abs=1e-5)
    with store.session(write=True) as session:
        writer.delete(session.connection, [doc_ids[7]])
    with store.engine.connect() as conn:
        assert doc_ids[7] not in {hit.doc_id for hit in reader.search(conn, target, kind="product", where=true(), k=5)}


@pytest.mark.parametrize("exact_scan_below", [1_000, 10], ids=["selective: exact scan", "broad: more candidates"])
def test_filtered_approximate_search_fills_k_when_the_nearest_are_filtered_out(
    store: SqlCommerceStore, exact_scan_below: int
) -> None:
    """The 200 nearest documents cost under $100; the filter wants $100 or more, which 400 far ones are."""
    rng = np.random.default_rng(2)
    query = _unit(rng.standard_normal(DIMS))
    vectors = np.vstack([_near(rng, query, 200, 0.05), _unit(rng.standard_normal((400, DIMS)))])
    index = _index(exact_scan_below=exact_scan_below)
    doc_ids = _documents(store, index, vectors, [50] * 200 + [100 + n for n in range(400)])
    pricey = rs.documents.c.price >= 100
    with store.engine.connect() as conn:
        approx = index.search(conn, query, kind="product", where=pricey, k=10)
        exact = index.search(conn, query, kind="product", where=pricey, k=10, exact=True)
    assert len(approx) == 10 and {hit.doc_id for hit in approx} <= set(doc_ids[200:])
    assert [hit.score for hit in approx] == sorted(hit.score for hit in approx)
    assert len({hit.doc_id for hit in approx} & {hit.doc_id for hit in exact}) >= 8


def test_a_store_indexed_with_vec0_codes_is_upgraded_in_place(store: SqlCommerceStore) -> None:
    rng = np.random.default_rng(3)
    vectors = _unit(rng.standard_normal((40, DIMS)))
    doc_ids = _documents(store, _index(), vectors, list(range(40)))
    with store.session(write=True) as session:
        conn = session.connection
        conn.execute(text("DROP TABLE retrieval_vector_codes"))
        conn.execute(
            text(f"CREATE VIRTUAL TABLE retrieval_vec_bits USING vec0(kind text partition key, embedding bit[{DIMS}])")
        )
    index = _index()
    with store.session(write=True) as session:
        index.ensure(session.connection, DIMS)
    with store.engine.connect() as conn:
        tables = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")))
        assert "retrieval_vec_bits" not in tables
        assert conn.scalar(text("SELECT count(*) FROM retrieval_vector_codes")) == 40
        hits = index.search(conn, vectors[5], kind="product", where=true(), k=3)
    assert hits[0].doc_id == doc_ids[5]
