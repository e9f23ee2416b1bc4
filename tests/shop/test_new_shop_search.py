"""A shop of its own answers from its own catalog and pages only: nothing of the demo is left in search.

Ranking quality is not the point here (the retrieval eval measures it), so vectors come from a small stand-in model
and the test stays fast: what matters is which documents the index holds and which records a search can return.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from shopkeep.retrieval.search import CatalogSearch
from shopkeep.shop.catalog import import_catalog
from shopkeep.shop.setup import init_shop
from shopkeep.store.seed import StoreData
from tests.conftest import DATA_DIR, fresh_sqlite_store
from tests.shop.conftest import CATALOGS, HARBOR, HARBOR_FILES

QUERIES = [
    "t-shirt",
    "laptop with 16GB ram",
    "mechanical keyboard",
    "something to boil water",
    "a gift for my dad under $50",
    "waterproof jacket",
    "camping lantern",
    "blue shirt size M",
]
QUESTIONS = ["how do I return an item?", "how long does shipping take?", "what is your gift card policy?"]


class Hashing:
    """A stand-in model: 16 dimensions from a text's hash."""

    name, dimensions = "test:hashing", 16

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(b) - 127.5 for b in hashlib.sha256(text.encode()).digest()[:16]] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_a_new_shop_answers_with_none_of_the_demo(sqlite_template: Path, tmp_path: Path, demo_data: StoreData) -> None:
    store = fresh_sqlite_store(sqlite_template, tmp_path)
    search = CatalogSearch(store, Hashing(), kb_dir=DATA_DIR / "kb")  # as the product builds it: with the demo's pages
    assert search.index_documents().kinds["kb"] > 0  # the demo, indexed with its pages
    init_shop(store, HARBOR, force=True)
    import_catalog(store, [CATALOGS / name for name in HARBOR_FILES])
    report = search.index_documents()
    assert report.kinds == {"product": 11, "variant": 19}  # the demo's 50 products and 33 pages are gone
    demo_ids = {p.product_id for p in demo_data.products} | {
        v.item_id for p in demo_data.products for v in p.variants.values()
    }
    demo_names = {p.name for p in demo_data.products}
    with store.session() as session:
        harbor_ids = {p.product_id for p in session.list_products()}
    for query in QUERIES:
        hits = search.search(query).hits
        assert hits, query
        for hit in hits:
            assert hit.product_id in harbor_ids and hit.product_id not in demo_ids, (query, hit)
            assert hit.item_id is None or hit.item_id not in demo_ids
            assert hit.name not in demo_names, (query, hit.name)
    for question in QUESTIONS:
        assert search.search_knowledge(question) == []  # no pages of its own yet, and none of the demo's
    store.close()
