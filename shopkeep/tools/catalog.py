"""Catalog and knowledge tools: search products, pick a variant, suggest similar products, answer from the KB.

They read only, and need the conversation's ``ToolContext.retrieval`` (``CatalogSearch`` over the same store).
Product details come from ``get_product_details`` in ``retail.py``; it is listed here too so a catalog agent has
every lookup it needs in one place.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shopkeep.errors import RetrievalError
from shopkeep.retrieval.search import CatalogSearch, Passage, SearchFilters, SearchHit, SearchResults
from shopkeep.retrieval.variants import VariantResolution
from shopkeep.tools.base import Tool, ToolContext, ToolKind, make_tool
from shopkeep.tools.retail import get_product_details

SEARCH_LIMIT = 10
PASSAGES = 3
SIMILAR = 5


class KnowledgeAnswer(BaseModel):
    """Passages that answer a question; cite them by ``source`` (and ``section``)."""

    model_config = ConfigDict(frozen=True)

    question: str
    passages: list[Passage]


class SimilarProducts(BaseModel):
    """Products like the given item, closest first."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    products: list[SearchHit]


def _search(ctx: ToolContext) -> CatalogSearch:
    if ctx.retrieval is None:
        raise RetrievalError("Catalog search is not available right now; product details by id still work.")
    return ctx.retrieval


def search_products(ctx: ToolContext, query: str, filters: SearchFilters | None = None) -> SearchResults:
    """Search the catalog in the customer's own words ("clicky keyboard under $150", "something to boil water").

    Product types, options, price ranges ("under $50", "between 100 and 200"), "in stock" and "cheapest" are read
    from the words; ``filters`` adds structured constraints that win over the words. Returns up to 10 hits, best
    first: product-level hits (item_id null, price = lowest) or, when options, prices or stock constrain, the
    matching items. Each hit says why it matched; ``notes`` explains anything ignored.
    """
    return _search(ctx).search(query, filters=filters, limit=SEARCH_LIMIT)


def find_variant(
    ctx: ToolContext, product_id: str, description: str, base_item_id: str | None = None
) -> VariantResolution:
    """Find the item of a product that a description means ("clicky, RGB, full size"; "same but size M").

    ``base_item_id`` is the item the customer has now (an order line, for exchanges and modifications): options
    the description does not mention are kept from it. The status says whether exactly one available item fits,
    several do (``open_options`` says what to ask), the fitting ones are out of stock, or none fits.
    """
    return _search(ctx).resolve_variant(product_id, description, base_item_id)


def recommend_similar(ctx: ToolContext, item_id: str) -> SimilarProducts:
    """Suggest in-stock products similar to an item (an item id or a product id), most similar first."""
    return SimilarProducts(item_id=item_id, products=_search(ctx).similar(item_id, limit=SIMILAR))


def search_knowledge(ctx: ToolContext, question: str) -> KnowledgeAnswer:
    """Find the store's policy and help passages (shipping, returns, refunds, payments, accounts, warranty...)
    that answer a question. Answer only from these passages and cite their ``source``."""
    return KnowledgeAnswer(question=question, passages=_search(ctx).search_knowledge(question, limit=PASSAGES))


CATALOG_TOOLS: list[Tool] = [
    make_tool(ToolKind.READ, search_products),
    make_tool(ToolKind.READ, get_product_details),
    make_tool(ToolKind.READ, find_variant),
    make_tool(ToolKind.READ, recommend_similar),
    make_tool(ToolKind.READ, search_knowledge),
]
