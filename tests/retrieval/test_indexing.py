"""Incremental indexing: only changed documents are rewritten and re-embedded; the embedding cache makes a
rebuild, or a switch back to an earlier model, free; a new embedder rebuilds every vector."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from shopkeep.retrieval import schema as rs
from shopkeep.retrieval.embedders import LocalEmbedder
from shopkeep.retrieval.search import CatalogSearch, SearchFilters
from shopkeep.store import SqlCommerceStore
from shopkeep.store import schema as t
from tests.conftest import DATA_DIR, fresh_sqlite_store


@pytest.fixture
def store(indexed_sqlite_template: Path, tmp_path: Path) -> Iterator[SqlCommerceStore]:
    opened = fresh_sqlite_store(indexed_sqlite_template, tmp_path)
    yield opened
    opened.close()


class Hashing:
    """A stand-in model: 8 dimensions from a text's hash; counts what it embeds."""

    name, dimensions = "test:hashing", 8

    def __init__(self) -> None:
        self.embedded = 0

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return [[float(b) - 127.5 for b in hashlib.sha256(text.encode()).digest()[:8]] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_reindexing_an_unchanged_store_does_nothing(store: SqlCommerceStore) -> None:
    steps: list[tuple[int, int]] = []
    report = CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb").index_documents(
        progress=lambda done, total: steps.append((done, total))
    )
    assert not report.changed and report.embedded == 0
    assert report.kinds == {"product": 50, "variant": 591, "kb": report.kinds["kb"]} and report.kinds["kb"] > 100
    assert steps == [(0, 0)]


def test_a_price_change_rewrites_two_documents(store: SqlCommerceStore) -> None:
    search = CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb")
    item = "9612497925"  # a blue cotton T-shirt, size M
    with store.session(write=True) as session:
        session.connection.execute(update(t.variants).where(t.variants.c.item_id == item).values(price=Decimal("9.99")))
    steps: list[tuple[int, int]] = []
    report = search.index_documents(progress=lambda done, total: steps.append((done, total)))
    assert (report.added, report.updated, report.removed, report.vectors) == (0, 2, 0, 2)
    assert report.embedded + report.cached == 2
    assert steps[-1] == (2, 2)
    hits = search.search("t-shirt", filters=SearchFilters(max_price=Decimal("10"))).hits
    assert [(hit.item_id, hit.price) for hit in hits] == [(item, Decimal("9.99"))]
    assert not search.index_documents().changed


def test_knowledge_pages_added_changed_and_removed(store: SqlCommerceStore, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(DATA_DIR / "kb", kb)
    (kb / "store-hours.md").write_text("# Store Hours\n\nWe never close.\n\n## Holidays\n\nOpen on holidays too.\n")
    search = CatalogSearch(store, LocalEmbedder(), kb_dir=kb)
    report = search.index_documents()
    assert (report.added, report.updated, report.removed) == (1, 0, 0)
    assert search.search_knowledge("are you open on holidays")[0].source == "store-hours"
    (kb / "store-hours.md").unlink()
    (kb / "newsletter.md").write_text("# Newsletter\n\nThere is no newsletter any more.\n")
    report = search.index_documents()
    assert report.removed >= 2 and report.updated == 1 and report.added == 0
    assert all(p.source != "store-hours" for p in search.search_knowledge("are you open on holidays", limit=10))


def test_rebuild_takes_vectors_from_the_cache(store: SqlCommerceStore) -> None:
    report = CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb").index_documents(rebuild=True)
    assert report.vectors == report.documents == report.added
    assert report.embedded == 0


def test_a_new_embedder_rebuilds_every_vector_and_switching_back_is_free(store: SqlCommerceStore) -> None:
    hashing = Hashing()
    other = CatalogSearch(store, hashing, kb_dir=DATA_DIR / "kb")
    report = other.index_documents()
    distinct = len({doc.body for doc in other.indexer.desired()})  # a question two pages answer is embedded once
    assert report.vectors == report.documents and hashing.embedded == distinct
    assert report.updated == report.added == report.removed == 0
    assert other.search("kettle").hits
    with store.session() as session:
        rows = session.connection.execute(select(rs.meta.c.meta_key, rs.meta.c.meta_value)).all()
        assert {"model": "test:hashing", "dimensions": "8"}.items() <= dict(rows).items()
    back = CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb").index_documents()
    assert back.vectors == back.documents and back.embedded == 0


@pytest.mark.parametrize("large", [False, True], ids=["small catalog: reloads at once", "large: in the background"])
def test_a_catalog_reindexed_by_another_process_gets_its_new_vocabulary(store: SqlCommerceStore, large: bool) -> None:
    serving = CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb")
    if large:
        serving.refresh_in_background_from = 1  # the demo's 50 products count as large
    assert serving.search("tea kettle").understood.startswith("Tea Kettle")
    with store.session(write=True) as session:  # another process renames a product and re-indexes
        session.connection.execute(update(t.products).where(t.products.c.name == "Tea Kettle").values(name="Samovar"))
    CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb").index_documents()

    first = serving.search("samovar")
    assert first.understood.startswith("Samovar") is not large  # a large catalog answers from the old vocabulary
    deadline = time.monotonic() + 30
    while not serving.search("samovar").understood.startswith("Samovar"):
        assert time.monotonic() < deadline, "the new vocabulary never loaded"
        time.sleep(0.05)
    assert serving.search("samovar").hits[0].name == "Samovar"
