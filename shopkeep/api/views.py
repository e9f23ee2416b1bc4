"""What the web chat shows besides text: product cards and the cart summary, built from a turn's tool outputs.

Only the outputs of catalog and cart tools are turned into views; other tool outputs (a customer's profile, an
order) never leave the server through these fields. Prices come from the tools (the catalog), never from a reply.
Catalog tools return either products (``name``, ``product_id``, ``variants``: ``get_product_details``) or search
hits (``product_id``, ``item_id``, ``name``, ``options``, ``price``, ``price_max``, ``available``: the ``hits`` of
``search_products`` and the ``products`` of ``recommend_similar``); both become the same card.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import structlog
from pydantic import BaseModel, Field

from shopkeep.domain.money import Amount

PRODUCT_TOOLS = frozenset({"search_products", "get_product_details", "find_variant", "recommend_similar"})
CART_TOOLS = frozenset({"view_cart", "add_to_cart", "update_cart_quantity", "remove_from_cart"})
MAX_CARDS = 6
MAX_VARIANTS = 8

log = structlog.get_logger(__name__)

ToolOutput = tuple[str, bool, Any]
"""(tool name, ok, JSON output or None)."""


class VariantView(BaseModel):
    item_id: str
    options: dict[str, str]
    price: Amount
    available: bool


class ProductCard(BaseModel):
    """One product as a card: name, price (or range), its options and whether it can be bought."""

    product_id: str
    name: str
    price_min: Amount
    price_max: Amount
    currency: str = "USD"
    options: dict[str, list[str]] = Field(description="Each option and its values, in catalog order.")
    available: bool = Field(description="At least one variant is in stock.")
    in_stock: int = Field(description="How many variants are in stock.")
    variant_count: int = Field(description="How many variants the card stands for.")
    variants: list[VariantView] = Field(description=f"Up to {MAX_VARIANTS} variants, in-stock first.")
    item_id: str | None = Field(default=None, description="Set when the card is one specific variant.")
    image_url: str | None = Field(default=None, description="The product's picture, when the catalog has one.")


class CartLineView(BaseModel):
    item_id: str
    product_id: str
    name: str
    options: dict[str, str]
    unit_price: Amount
    quantity: int
    line_total: Amount


class CartSummary(BaseModel):
    """The cart: lines, how many items, and the subtotal (computed by the cart tools, not here)."""

    lines: list[CartLineView]
    item_count: int
    subtotal: Amount
    currency: str = "USD"


def _variants(raw: Mapping[str, Any]) -> list[VariantView]:
    values = raw.values() if isinstance(raw, Mapping) else []
    variants = [VariantView.model_validate(v) for v in values if isinstance(v, Mapping)]
    return sorted(variants, key=lambda v: not v.available)


def _option_values(variants: Iterable[Mapping[str, str]]) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for option_set in variants:
        for key, value in option_set.items():
            values = options.setdefault(key, [])
            if value not in values:
                values.append(value)
    return options


def _image(raw: Mapping[str, Any]) -> str | None:
    """An image address a card may show: http(s) only (a catalog could hold anything)."""
    value = raw.get("image_url")
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def _card(raw: Mapping[str, Any], currency: str) -> ProductCard | None:
    """A card from a product or a search hit; None when the output is neither."""
    if "name" not in raw or "product_id" not in raw:
        return None
    if isinstance(raw.get("variants"), Mapping):
        variants = _variants(raw["variants"])
        if not variants:
            return None
        prices = [v.price for v in variants]
        return ProductCard(
            product_id=str(raw["product_id"]),
            name=str(raw["name"]),
            price_min=min(prices),
            price_max=max(prices),
            currency=currency,
            options=_option_values(v.options for v in variants),
            available=any(v.available for v in variants),
            in_stock=sum(v.available for v in variants),
            variant_count=len(variants),
            variants=variants[:MAX_VARIANTS],
            image_url=_image(raw),
        )
    if raw.get("price") is None:
        return None
    options = {str(k): str(v) for k, v in (raw.get("options") or {}).items()}
    available = bool(raw.get("available", True))
    price = Decimal(str(raw["price"]))
    item_id = raw.get("item_id")
    return ProductCard(
        product_id=str(raw["product_id"]),
        name=str(raw["name"]),
        price_min=price,
        price_max=Decimal(str(raw["price_max"])) if raw.get("price_max") is not None else price,
        currency=currency,
        options={k: [v] for k, v in options.items()},
        available=available,
        in_stock=int(available),
        variant_count=1,
        variants=[VariantView(item_id=str(item_id), options=options, price=price, available=available)]
        if item_id
        else [],
        item_id=str(item_id) if item_id else None,
        image_url=_image(raw),
    )


def _candidates(output: Any) -> list[Mapping[str, Any]]:
    """The products or hits in an output: a product, a list of hits, or an object holding ``hits``/``products``."""
    if isinstance(output, Mapping):
        for key in ("hits", "products"):
            if isinstance(output.get(key), list):
                return _candidates(output[key])
        return [output]
    if isinstance(output, list):
        return [entry for entry in output if isinstance(entry, Mapping)]
    return []


def product_cards(outputs: Iterable[ToolOutput], currency: str) -> list[ProductCard]:
    """Cards for the products the turn's catalog tools returned, first seen first, one per product or variant, priced
    in the shop's ``currency``."""
    cards: list[ProductCard] = []
    seen: set[tuple[str, str | None]] = set()
    for name, ok, output in outputs:
        if name not in PRODUCT_TOOLS or not ok:
            continue
        for raw in _candidates(output):
            try:
                card = _card(raw, currency)
            except (KeyError, TypeError, ValueError, ArithmeticError):
                log.warning("product_card_skipped", tool=name, exc_info=True)
                continue
            if card is not None and (card.product_id, card.item_id) not in seen:
                seen.add((card.product_id, card.item_id))
                cards.append(card)
    return cards[:MAX_CARDS]


def cart_summary(outputs: Iterable[ToolOutput], currency: str) -> CartSummary | None:
    """The cart as the turn's last successful cart tool returned it (its amounts in the shop's ``currency``)."""
    latest: Mapping[str, Any] | None = None
    for name, ok, output in outputs:
        if name in CART_TOOLS and ok and isinstance(output, Mapping) and "lines" in output:
            latest = output
    if latest is None:
        return None
    try:
        lines = [
            CartLineView.model_validate(
                {**line, "line_total": Decimal(str(line["unit_price"])) * int(line["quantity"])}
            )
            for line in latest["lines"]
        ]
        return CartSummary(
            lines=lines, item_count=int(latest["item_count"]), subtotal=latest["subtotal"], currency=currency
        )
    except (KeyError, TypeError, ValueError, ArithmeticError):
        # A view is a convenience: the turn already happened, so a cart it cannot show is left out, not a 500.
        log.warning("cart_view_skipped", exc_info=True)
        return None
