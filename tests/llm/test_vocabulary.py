"""The local brain reads the words of the shop its store holds: product types, names and options of a shop's own
catalog, its customers' names, and nothing of the demo; another process's import is picked up."""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.llm.local.lexicon import ShopLexicon
from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.vocabulary import StoreLexicon
from shopkeep.retrieval.embedders import LocalEmbedder
from shopkeep.retrieval.search import CatalogSearch
from shopkeep.settings import Settings
from shopkeep.shop.catalog import import_catalog
from shopkeep.shop.customers import import_customers
from shopkeep.shop.setup import init_shop
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.seed import demo_db_path
from tests.conftest import DATA_DIR
from tests.shop.conftest import CATALOGS, HARBOR, HARBOR_FILES


@pytest.fixture
def harbor(tmp_path: Path) -> Iterator[SqlCommerceStore]:
    """A new shop with its own catalog and customers (none of the demo's)."""
    store = open_store(f"sqlite:///{tmp_path / 'harbor.db'}")
    init_shop(store, HARBOR, force=True)
    import_catalog(store, [CATALOGS / name for name in HARBOR_FILES])
    import_customers(store, CATALOGS / "harbor_customers.csv")
    yield store
    store.close()


def _products(nlu: NLU, text: str) -> list[str]:
    return [str(e.value) for e in nlu.analyze(text).entities if e.type == "product"]


def test_the_brain_reads_the_shops_own_catalog_and_customers(nlu: NLU, harbor: SqlCommerceStore) -> None:
    shop = nlu.for_store(harbor)
    # a product's own name, its type (with plural), and an option of that type
    asked = shop.analyze("is the saltmarsh linen shirt in stock in size M?")
    assert [(e.type, e.value, e.key) for e in asked.entities if e.type in ("product", "option")] == [
        ("product", "Saltmarsh Linen Shirt", None),
        ("option", "M", "size"),
    ]
    assert _products(shop, "what candles do you sell?") == ["Driftwood Soy Candle"]
    assert _products(shop, "show me your rain jackets") == ["Squall Rain Jacket"]
    olive = [e for e in shop.analyze("the storm lantern in olive").entities if e.type == "option"]
    assert [(e.key, e.value) for e in olive] == [("color", "Olive")]
    # the demo's products are not this shop's words; the demo NLU still has them
    for text in ("do you have mechanical keyboards?", "I need a tea kettle", "a laptop with 16GB"):
        assert _products(shop, text) == [], text
        assert _products(nlu, text), text
    # a customer of this shop is a known name, even lower-cased
    names = [e.value for e in shop.analyze("this is aoife brennan").entities if e.type == "person_name"]
    assert names == [{"first_name": "Aoife", "last_name": "Brennan"}]


def test_another_process_importing_changes_the_words(nlu: NLU, harbor: SqlCommerceStore, tmp_path: Path) -> None:
    shop = nlu.for_store(harbor, max_age_s=0)
    assert _products(shop, "do you sell hammocks?") == []
    feed = tmp_path / "more.jsonl"
    hammock = {
        "id": "kelp-hammock",
        "title": "Kelp Rope Hammock",
        "product_type": "Hammocks",
        "variants": [{"sku": "HP-HAM-1", "options": {"color": "Kelp Green"}, "price": "89.00"}],
    }
    feed.write_text(json.dumps(hammock) + "\n", encoding="utf-8")
    other = open_store(harbor.url)  # another process's connection to the same store
    try:
        import_catalog(other, [feed])
    finally:
        other.close()
    assert _products(shop, "do you sell hammocks?") == ["Kelp Rope Hammock"]
    green = [e for e in shop.analyze("the hammock in kelp green").entities if e.type == "option"]
    assert [(e.key, e.value) for e in green] == [("color", "Kelp Green")]


def test_the_words_are_read_at_most_every_max_age(nlu: NLU, harbor: SqlCommerceStore, tmp_path: Path) -> None:
    source = StoreLexicon(harbor, max_age_s=3600)
    before = source.current()
    feed = tmp_path / "more.jsonl"
    feed.write_text(json.dumps({"id": "x", "title": "Kelp Rope Hammock", "variants": [{"price": 9}]}) + "\n")
    import_catalog(harbor, [feed])
    assert source.current() is before  # not read again yet
    source.max_age_s = 0
    assert "Kelp Rope Hammock" in source.current().product_names


def test_a_demo_store_has_the_words_of_the_demo_file(sqlite_store: SqlCommerceStore) -> None:
    from_store = StoreLexicon(sqlite_store).current()
    from_file = ShopLexicon.from_tau2_db(demo_db_path(DATA_DIR))
    assert from_store.product_phrases == from_file.product_phrases
    assert from_store.option_phrases == from_file.option_phrases
    assert from_store.words() == from_file.words()


def test_the_running_product_never_reads_the_demo_file(harbor: SqlCommerceStore, tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    # the process-wide NLU's demo words would come from a file that is not there: reading it would fail the turn
    cold = NLU(DATA_DIR / "nlu" / "intents.yaml", tmp_path / "no-demo" / "db.json", Settings().var_dir / "nlu")
    search = CatalogSearch(harbor, LocalEmbedder(), kb_dir=tmp_path / "no-kb")
    search.index_documents()
    with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
        service = build_service(settings, harbor, checkpointer, nlu=cold, retrieval=search)
        conversation = service.start(channel="test")
        reply = service.send(conversation, "do you have linen shirts?").reply
    assert "Saltmarsh Linen Shirt" in reply
    assert not (tmp_path / "no-demo").exists()


def test_a_store_is_not_kept_alive_by_its_nlu(nlu: NLU, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'gone.db'}")
    bound = nlu.for_store(store)
    assert nlu.for_store(store) is bound  # one per store and process
    gone = weakref.ref(store)
    store.close()
    del store
    gc.collect()
    assert gone() is None
