"""The catalog: products and their variants (items), each with options, a price and availability."""

from __future__ import annotations

from pydantic import Field

from shopkeep.domain._base import Frozen
from shopkeep.domain.money import Amount


class Variant(Frozen):
    """One purchasable item of a product, identified by ``item_id``."""

    item_id: str
    options: dict[str, str]
    available: bool
    price: Amount


class Product(Frozen):
    """A product type ("T-Shirt") with all its variants, available or not, in catalog order."""

    name: str
    product_id: str
    variants: dict[str, Variant] = Field(default_factory=dict)
