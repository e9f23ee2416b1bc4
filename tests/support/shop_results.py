"""Tool results for shopping-policy tests, built with the tools' own result models from the demo catalog.

Search and knowledge hits are written by hand (what the index returns is the retrieval suite's business); product
details, variant resolutions and cart views are computed from the demo data as the real tools compute them.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from shopkeep.domain import CartLine, Product
from shopkeep.retrieval.query import QueryParser
from shopkeep.retrieval.search import Passage, SearchHit, SearchResults
from shopkeep.retrieval.variants import VariantResolution, resolve_variant
from shopkeep.settings import PROJECT_ROOT
from shopkeep.store.seed import demo_db_path, read_tau2_db
from shopkeep.tools.cart import CartView
from shopkeep.tools.catalog import KnowledgeAnswer, SimilarProducts

WATER_BOTTLE = "8310926033"
ELECTRIC_KETTLE = "1075968781"
TEA_KETTLE = "9832717871"
YOGA_MAT = "4635925001"
BACKPACK = "2524789262"
BLACK_STEEL_LITRE_BOTTLE = "7661609223"  # Water Bottle 1000ml, stainless steel, black, $46.51, in stock
RED_STEEL_LITRE_BOTTLE = "2439754078"  # Water Bottle 1000ml, stainless steel, red, $49.51, in stock


@cache
def products() -> dict[str, Product]:
    return {p.product_id: p for p in read_tau2_db(demo_db_path(PROJECT_ROOT / "data")).products}


@cache
def _parser() -> QueryParser:
    return QueryParser(list(products().values()))


def product(product_id: str) -> Product:
    return products()[product_id]


def product_types() -> dict[str, str]:
    """``list_all_product_types``: product name -> id."""
    return dict(sorted((p.name, p.product_id) for p in products().values()))


def hit(product_id: str, reason: str, item_id: str | None = None) -> SearchHit:
    found = product(product_id)
    if item_id is not None:
        variant = found.variants[item_id]
        return SearchHit(
            product_id=product_id,
            item_id=item_id,
            name=found.name,
            options=variant.options,
            price=variant.price,
            available=variant.available,
            score=0.1,
            reason=reason,
        )
    prices = [v.price for v in found.variants.values()]
    return SearchHit(
        product_id=product_id,
        item_id=None,
        name=found.name,
        options={},
        price=min(prices),
        price_max=max(prices),
        available=any(v.available for v in found.variants.values()),
        score=0.1,
        reason=reason,
    )


def search(query: str, hits: list[SearchHit], understood: str = "any product", notes: list[str] | None = None) -> Any:
    level = "variant" if any(h.item_id for h in hits) else "product"
    return SearchResults(query=query, understood=understood, level=level, hits=hits, notes=notes or [])


def bottle_search(query: str) -> Any:
    return search(
        query,
        [
            hit(WATER_BOTTLE, "type: Water Bottle; name matches 'water', 'bottle'; close in meaning (similarity 0.72)"),
            hit(ELECTRIC_KETTLE, "related: not a Water Bottle; description mentions 'water'"),
        ],
        understood="Water Bottle",
    )


def resolution(product_id: str, description: str) -> VariantResolution:
    """What ``find_variant`` answers for this description."""
    return resolve_variant(product(product_id), " ".join(description.split()), _parser())


def similar(item_id: str, product_ids: list[str]) -> SimilarProducts:
    return SimilarProducts(
        item_id=item_id, products=[hit(pid, f"similar to {product(item_id).name}") for pid in product_ids]
    )


def cart_view(*lines: tuple[str, int]) -> CartView:
    """The cart holding these (item id, quantity) lines, priced from the catalog."""
    built = []
    for item_id, quantity in lines:
        found = next(p for p in products().values() if item_id in p.variants)
        variant = found.variants[item_id]
        built.append(
            CartLine(
                item_id=item_id,
                product_id=found.product_id,
                name=found.name,
                options=variant.options,
                unit_price=variant.price,
                quantity=quantity,
            )
        )
    subtotal = sum((line.unit_price * line.quantity for line in built), Decimal("0.00"))
    return CartView(cart_id="c1", lines=built, item_count=sum(q for _, q in lines), subtotal=subtotal)


def knowledge(question: str, *passages: tuple[str, str, str, str, float]) -> KnowledgeAnswer:
    """``search_knowledge``'s answer: passages as (source, title, section, body, score)."""
    return KnowledgeAnswer(
        question=question,
        passages=[
            Passage(source=source, title=title, section=section, text=f"{section}\n\n{body}", score=score)
            for source, title, section, body, score in passages
        ],
    )


RETURNS_PASSAGE = (
    "returns",
    "Returns",
    "Who can return and when",
    "If something you received is not right for you, you can send it back for a refund. Returns are accepted for "
    "orders with the status delivered, within 30 days of the delivery date.",
    0.1159,
)
CANCELLATION_PASSAGE = (
    "cancellation-fees",
    "Cancellation Fees",
    "No cancellation fee",
    "Cancelling an order at the Shopkeep Demo Store never costs you anything. This page explains what is refunded "
    "when you cancel and how that differs from returning an order. We do not charge a cancellation fee, a "
    "restocking fee or any other penalty for cancelling a pending order.",
    0.1227,
)
UNRELATED_PASSAGE = (
    "privacy-and-data",
    "Privacy and Your Data",
    "What we store",
    "We collect only what we need to sell and deliver your orders and to support you.",
    0.0909,
)
