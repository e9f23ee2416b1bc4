"""Hybrid catalog and knowledge search on the demo store, on SQLite (sqlite-vec + FTS5) and PostgreSQL (pgvector +
tsvector): what ranks first, that every filter runs in the database and agrees with the query parser, the reasons
hits carry, price sorting, no product flooding the list, and bad input answered clearly instead of crashing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update

from shopkeep.domain import Product
from shopkeep.errors import IndexNotReadyError, NotFoundError, RuleViolationError
from shopkeep.retrieval import schema as rs
from shopkeep.retrieval.embedders import LocalEmbedder
from shopkeep.retrieval.query import QueryParser
from shopkeep.retrieval.search import CatalogSearch, SearchFilters
from shopkeep.store import open_store
from shopkeep.store import schema as t
from shopkeep.store.seed import StoreData
from tests.conftest import DATA_DIR, fresh_sqlite_store

BACKENDS = ["sqlite", "pgvector"]


@pytest.fixture(scope="module", params=BACKENDS)
def search(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogSearch]:
    """A read-only search over the indexed demo store (tests that write get their own copy)."""
    if request.param == "sqlite":
        store = fresh_sqlite_store(request.getfixturevalue("indexed_sqlite_template"), tmp_path_factory.mktemp("s"))
    else:
        store = open_store(request.getfixturevalue("pgvector_indexed"))
    yield CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb")
    store.close()


@pytest.fixture(scope="module")
def products(demo_data: StoreData) -> dict[str, Product]:
    return {p.product_id: p for p in demo_data.products}


@pytest.fixture(scope="module")
def parser(demo_data: StoreData) -> QueryParser:
    return QueryParser(demo_data.products)


def names(search: CatalogSearch, query: str, **kwargs: object) -> list[str]:
    return [hit.name for hit in search.search(query, **kwargs).hits]  # type: ignore[arg-type]


def test_a_product_query_ranks_the_named_product_then_related_ones(search: CatalogSearch) -> None:
    results = search.search("tea kettle")
    assert results.level == "product"
    first, second = results.hits[:2]
    assert (first.name, first.item_id) == ("Tea Kettle", None)
    assert second.name == "Electric Kettle"
    assert "name matches 'tea', 'kettle'" in first.reason
    assert "related" in second.reason
    assert first.price is not None and first.price_max is not None and first.price <= first.price_max
    assert len({hit.product_id for hit in results.hits}) == len(results.hits)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("mechanicl keybord", "Mechanical Keyboard"),
        ("power bank", "Portable Charger"),
        ("shades for sunny days", "Sunglasses"),
        ("something to boil water on the stove", "Tea Kettle"),
    ],
)
def test_misspellings_and_paraphrases_find_the_product(search: CatalogSearch, query: str, expected: str) -> None:
    assert names(search, query)[0] == expected


@pytest.mark.parametrize(
    "query",
    [
        "clicky keyboard",
        "tshirt in red or black size L",
        "t-shirt not blue",
        "headphones under $350",
        "smartphones in stock",
        "blue t-shirt size M under $55",
        "waterproof hiking boots under $250",
        "laptop between $1000 and $2000",
    ],
)
def test_database_filters_select_exactly_the_variants_the_parser_accepts(
    search: CatalogSearch, parser: QueryParser, products: dict[str, Product], query: str
) -> None:
    parsed = parser.parse(query)
    results = search.search(query, limit=50)
    assert results.level == "variant"
    strict = {hit.item_id for hit in results.hits if "related" not in hit.reason}
    expected = {
        variant.item_id
        for product in products.values()
        for variant in product.variants.values()
        if parsed.matches(product, variant)
    }
    assert strict == expected


def test_hits_say_why_they_matched(search: CatalogSearch) -> None:
    hit = search.search("clicky keyboard under $260 in stock").hits[0]
    assert hit.options["switch type"] == "clicky"
    assert hit.available and hit.price is not None and hit.price <= Decimal("259.99")
    for part in ("type: Mechanical Keyboard", "name matches 'keyboard'", "switch type=clicky", "at most $259.99"):
        assert part in hit.reason
    assert "in stock" in hit.reason


def test_cheapest_and_most_expensive_sort_by_price(search: CatalogSearch, products: dict[str, Product]) -> None:
    kettle = next(p for p in products.values() if p.name == "Tea Kettle")
    cheapest = search.search("cheapest tea kettle").hits
    assert cheapest[0].price == min(v.price for v in kettle.variants.values())
    assert [h.price for h in cheapest] == sorted(h.price for h in cheapest if h.price is not None)
    priciest = search.search("most expensive tea kettle").hits[0]
    assert priciest.price == max(v.price for v in kettle.variants.values())


def test_no_product_floods_the_list(search: CatalogSearch) -> None:
    hits = search.search("gift ideas under $50").hits
    counts = Counter(hit.product_id for hit in hits)
    assert max(counts.values()) <= 3
    assert len(counts) >= 5
    # Each product's best item comes before any product's second one.
    firsts = [hit.product_id for hit in hits[: len(counts)]]
    assert len(set(firsts)) == len(counts)


def test_structured_filters_add_to_and_win_over_the_words(search: CatalogSearch) -> None:
    filters = SearchFilters(options={"backlight": ["RGB"]}, max_price=Decimal("240"), in_stock_only=True)
    hits = search.search("keyboard", filters=filters).hits
    assert hits
    for hit in hits:
        assert hit.options["backlight"] == "RGB" and hit.price is not None and hit.price <= 240 and hit.available
    typed = search.search("something", filters=SearchFilters(product_type="smartphone", sort="price_desc")).hits
    assert {hit.name for hit in typed} == {"Smartphone"}
    assert [h.price for h in typed] == sorted((h.price for h in typed if h.price is not None), reverse=True)


def test_only_filters_lists_what_they_allow(search: CatalogSearch) -> None:
    results = search.search("", filters=SearchFilters(max_price=Decimal("30")))
    assert results.hits and all(hit.price is not None and hit.price <= 30 for hit in results.hits)


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "?!"])
def test_an_empty_query_is_refused_with_a_clear_message(search: CatalogSearch, query: str) -> None:
    with pytest.raises(RuleViolationError, match="say what you are looking for"):
        search.search(query)


def test_a_5000_character_query_is_shortened_and_still_answered(search: CatalogSearch) -> None:
    results = search.search("waterproof hiking boots " + "very " * 1000)
    assert results.hits[0].name == "Hiking Boots"
    assert any("shortened" in note for note in results.notes)


@pytest.mark.parametrize(
    ("query", "note"),
    [("$-5 headphones", "can't be negative"), ("cheap", "not a price"), ("pricey headphones", "not a price")],
)
def test_prices_that_are_not_prices_become_notes(search: CatalogSearch, query: str, note: str) -> None:
    results = search.search(query)
    assert any(note in n for n in results.notes), results.notes
    assert results.hits


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (SearchFilters(options={"colour": "blue"}), "Unknown option 'colour'"),
        (SearchFilters(product_type="hovercraft"), "Unknown product type 'hovercraft'"),
        (SearchFilters(product_type="T-Shirt", options={"color": "chartreuse"}), "Unknown value 'chartreuse'"),
        (SearchFilters(min_price=Decimal("200"), max_price=Decimal("100")), "is above the highest price"),
    ],
)
def test_unknown_or_contradictory_filters_are_refused_clearly(
    search: CatalogSearch, filters: SearchFilters, message: str
) -> None:
    with pytest.raises(RuleViolationError, match=message):
        search.search("shirt", filters=filters)


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE products; --",
        '"kettle" AND NOT (OR NEAR( * :',
        "kettle | ! & <-> ()",
        "🫖 kettle ☕",
        "\x00\x1f kettle \u202e",
    ],
)
def test_query_syntax_characters_are_only_words(search: CatalogSearch, query: str) -> None:
    search.search(query)
    with search.store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(t.products)) == 50


def test_nothing_matching_says_so(search: CatalogSearch) -> None:
    results = search.search("laptop under $5")
    assert not [hit for hit in results.hits if hit.name == "Laptop"]
    results = search.search("zzzz", filters=SearchFilters(product_type="Laptop", max_price=Decimal("5")))
    assert results.hits == [] and any("Nothing in the catalog" in n for n in results.notes)


def test_knowledge_questions_return_cited_passages(search: CatalogSearch) -> None:
    passages = search.search_knowledge("how long does a refund to my credit card take?")
    assert "refunds" in [p.source for p in passages]
    assert search.search_knowledge("can I pay with apple pay")[0].source == "payment-methods"
    assert all(p.source and p.section and p.text.startswith(p.section) for p in passages)
    with pytest.raises(RuleViolationError):
        search.search_knowledge("  ")


def test_similar_products_exclude_the_item_itself(search: CatalogSearch, products: dict[str, Product]) -> None:
    kettle = next(p for p in products.values() if p.name == "Electric Kettle")
    similar = search.similar(next(iter(kettle.variants)))
    assert similar and all(hit.product_id != kettle.product_id and hit.available for hit in similar)
    assert similar[0].name in {"Tea Kettle", "Coffee Maker", "Espresso Machine"}
    assert search.similar(kettle.product_id)[0].product_id != kettle.product_id
    with pytest.raises(NotFoundError):
        search.similar("0000000000")


def test_variant_resolution_reads_a_description_against_one_product(
    search: CatalogSearch, products: dict[str, Product]
) -> None:
    keyboard = next(p for p in products.values() if p.name == "Mechanical Keyboard")
    resolution = search.resolve_variant(keyboard.product_id, "clicky, RGB, full size")
    assert resolution.product_id == keyboard.product_id
    assert all(m.options["switch type"] == "clicky" for m in resolution.matches if not m.unmet)
    kettle = next(p for p in products.values() if p.name == "Tea Kettle")
    with pytest.raises(NotFoundError):
        search.resolve_variant(keyboard.product_id, "clicky", base_item_id=next(iter(kettle.variants)))
    with pytest.raises(NotFoundError):
        search.resolve_variant("0000000000", "clicky")


def test_a_store_that_was_never_indexed_says_how_to_fix_it(sqlite_template: Path, tmp_path: Path) -> None:
    store = fresh_sqlite_store(sqlite_template, tmp_path)
    try:
        with pytest.raises(IndexNotReadyError) as raised:
            CatalogSearch(store, LocalEmbedder()).search("kettle")
        assert "shopkeep index" in raised.value.install
    finally:
        store.close()


@pytest.mark.parametrize("query", ["hiking boots size 10", "tea kettle", "clicky keyboard under $250"])
def test_a_type_filter_is_the_stored_type_or_on_an_older_index_the_product_ids(
    indexed_sqlite_template: Path, tmp_path: Path, query: str
) -> None:
    store = fresh_sqlite_store(indexed_sqlite_template, tmp_path)
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        typed = CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb").search(query)
        assert any("retrieval_documents.product_type IN" in statement for statement in statements)
        with store.session(write=True) as session:  # as indexed before documents carried their type
            session.connection.execute(update(rs.documents).values(product_type=None))
        statements.clear()
        untyped = CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb").search(query)
        assert not any("retrieval_documents.product_type IN" in statement for statement in statements)
        assert [(hit.product_id, hit.item_id) for hit in untyped.hits] == [
            (hit.product_id, hit.item_id) for hit in typed.hits
        ]
        assert typed.hits and typed.understood == untyped.understood
    finally:
        store.close()
