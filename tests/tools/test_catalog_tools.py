"""The catalog tools through the tool registry, as an agent calls them: typed arguments, typed results, and
structured errors (bad filters, unknown products, no search configured) instead of exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopkeep.retrieval.embedders import LocalEmbedder
from shopkeep.retrieval.search import CatalogSearch
from shopkeep.store import SqlCommerceStore
from shopkeep.tools import CATALOG_TOOLS, ToolContext, ToolKind, ToolRegistry
from tests.conftest import DATA_DIR, fresh_sqlite_store

REGISTRY = ToolRegistry(CATALOG_TOOLS)
FORBIDDEN = {"customer_id", "cart_id", "conversation_id", "session", "ctx", "store", "retrieval"}
KEYBOARD = "1656367028"


@pytest.fixture(scope="module")
def store(indexed_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlCommerceStore]:
    opened = fresh_sqlite_store(indexed_sqlite_template, tmp_path_factory.mktemp("tools"))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def ctx(store: SqlCommerceStore) -> ToolContext:
    search = CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb")
    return ToolContext(store=store, scope="customer", conversation_id="c1", retrieval=search)


def test_the_catalog_tools_read_only_and_expose_nothing_the_model_must_not_control() -> None:
    assert REGISTRY.names() == [
        "search_products",
        "get_product_details",
        "find_variant",
        "recommend_similar",
        "search_knowledge",
    ]
    assert all(tool.kind is ToolKind.READ and not tool.confirm for tool in REGISTRY)
    for tool in REGISTRY:
        schema = tool.json_schema()
        assert not FORBIDDEN & set(schema.get("properties", {})), tool.name
        assert tool.description
    filters = REGISTRY.get("search_products").json_schema()["$defs"]["SearchFilters"]["properties"]
    assert set(filters) == {"product_type", "options", "min_price", "max_price", "in_stock_only", "sort"}


def test_search_products_works_without_signing_in(ctx: ToolContext) -> None:
    outcome = REGISTRY.call(
        "search_products", {"query": "clicky keyboard", "filters": {"max_price": 250, "in_stock_only": True}}, ctx
    )
    assert outcome.ok, outcome.error
    hits = outcome.output["hits"]
    assert hits and all(h["options"]["switch type"] == "clicky" and h["price"] <= 250 for h in hits)
    assert outcome.output["level"] == "variant" and outcome.output["understood"].startswith("Mechanical Keyboard")


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"query": ""}, "The search is empty"),
        ({"query": "shirt", "filters": {"max_price": -5}}, "Invalid argument 'filters.max_price'"),
        ({"query": "shirt", "filters": {"colour": "red"}}, "Invalid argument 'filters.colour'"),
        ({"query": "shirt", "filters": {"options": {"colour": "red"}}}, "Unknown option 'colour'"),
        ({"query": "shirt", "filters": {"sort": "random"}}, "Invalid argument 'filters.sort'"),
        ({"query": "shirt", "filters": "cheap"}, "Invalid argument 'filters'"),
        ({"query": 5}, "Invalid argument 'query'"),
    ],
)
def test_bad_search_arguments_come_back_as_tool_errors(
    ctx: ToolContext, arguments: dict[str, object], error: str
) -> None:
    outcome = REGISTRY.call("search_products", arguments, ctx)
    assert not outcome.ok
    assert outcome.error is not None and error in outcome.error


def test_find_variant_and_its_errors(ctx: ToolContext) -> None:
    outcome = REGISTRY.call("find_variant", {"product_id": KEYBOARD, "description": "clicky, RGB, full size"}, ctx)
    assert outcome.ok, outcome.error
    assert outcome.output["product_id"] == KEYBOARD and outcome.output["status"] in {
        "exact",
        "ambiguous",
        "unavailable",
        "no_match",
    }
    missing = REGISTRY.call("find_variant", {"product_id": "nope", "description": "red"}, ctx)
    assert missing.error == "Error: Product not found"


def test_recommend_similar_and_search_knowledge(ctx: ToolContext) -> None:
    similar = REGISTRY.call("recommend_similar", {"item_id": KEYBOARD}, ctx)
    assert similar.ok and similar.output["products"]
    assert all(p["product_id"] != KEYBOARD for p in similar.output["products"])
    answer = REGISTRY.call("search_knowledge", {"question": "do you ship to Canada?"}, ctx)
    assert answer.ok
    passages = answer.output["passages"]
    assert len(passages) == 3 and all(p["source"] and p["text"] for p in passages)
    assert "international-orders" in {p["source"] for p in passages}


def test_without_search_the_tools_say_so(store: SqlCommerceStore) -> None:
    bare = ToolContext(store=store)
    outcome = REGISTRY.call("search_products", {"query": "kettle"}, bare)
    assert outcome.error == "Error: Catalog search is not available right now; product details by id still work."
    assert REGISTRY.call("get_product_details", {"product_id": KEYBOARD}, bare).ok
