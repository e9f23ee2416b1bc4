"""Carts: lines and quantities; every total is computed by code from the lines, never stored or model-written."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from shopkeep.domain._base import Frozen
from shopkeep.domain.money import Amount


class CartLine(Frozen):
    """A variant in the cart, at its current catalog price."""

    item_id: str
    product_id: str
    name: str
    options: dict[str, str]
    unit_price: Amount
    quantity: int = Field(ge=1, le=99)

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity


class Cart(Frozen):
    """A shopping cart, owned by a conversation and, once authenticated, by a customer."""

    cart_id: str
    customer_id: str | None = None
    lines: list[CartLine] = Field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.subtotal for line in self.lines), Decimal("0.00"))

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)
