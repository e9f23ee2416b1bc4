"""Choosing the variant a customer describes ("same keyboard but clicky"), for exchanges and modifications."""

from __future__ import annotations

from dataclasses import dataclass

from shopkeep.domain import Product
from shopkeep.retrieval.query import QueryParser
from shopkeep.retrieval.variants import resolve_variant


@dataclass(frozen=True)
class Resolved:
    item_id: str | None
    message: str


def resolve(product: Product, description: str, current_item_id: str) -> Resolved:
    """The one available variant the description and the current item pin down, or what to ask instead."""
    base = product.variants.get(current_item_id)
    resolution = resolve_variant(product, description, QueryParser([product]), base=base)
    if resolution.status == "exact":
        return Resolved(resolution.matches[0].item_id, resolution.message)
    return Resolved(None, resolution.message)
