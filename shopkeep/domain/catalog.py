"""The catalog: products and their variants (items), each with options, a price and availability.

A shop's own catalog (imported from Shopify, Google Merchant Center or JSON Lines) also says what a product is
(``product_type``), who makes it, its tags, description and image, and each variant's SKU and compare-at price.
The demo's τ² products have none of these: fields left empty are not serialized, so a demo product reads exactly
as τ²'s does (tool results, exports, fingerprints).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from shopkeep.domain._base import Frozen
from shopkeep.domain.money import Amount

_EMPTY: tuple[Any, ...] = (None, "", [])


def _without_empty(data: Any, fields: tuple[str, ...]) -> Any:
    if isinstance(data, dict):
        for name in fields:
            if name in data and data[name] in _EMPTY:
                del data[name]
    return data


class Variant(Frozen):
    """One purchasable item of a product, identified by ``item_id``."""

    item_id: str
    options: dict[str, str]
    available: bool
    price: Amount
    sku: str | None = None
    """The shop's own stock-keeping unit (imports match variants by it)."""
    compare_at_price: Amount | None = None
    """The regular price when ``price`` is a sale price."""

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        return _without_empty(handler(self), ("sku", "compare_at_price"))


class Product(Frozen):
    """A product with all its variants, available or not, in catalog order. In the demo every product is its own
    type ("T-Shirt"); an imported product names its type (``product_type``, e.g. "Shirts")."""

    name: str
    product_id: str
    variants: dict[str, Variant] = Field(default_factory=dict)
    product_type: str | None = None
    brand: str | None = None
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    """Plain text (an HTML body is converted on import)."""
    image_url: str | None = None
    source_id: str | None = None
    """The product's id in the shop's own system (a Shopify handle, a Merchant item group or item id): imports
    update the product that has it."""

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        fields = ("product_type", "brand", "tags", "description", "image_url", "source_id")
        return _without_empty(handler(self), fields)
