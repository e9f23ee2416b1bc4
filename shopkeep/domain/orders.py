"""Orders: lines, status, fulfillments, payment history, and the cancel, return and exchange fields."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import Field

from shopkeep.domain._base import Frozen
from shopkeep.domain.customers import Address
from shopkeep.domain.money import Amount


class OrderStatus(StrEnum):
    """Every status an order can have (the τ² strings, exactly)."""

    PENDING = "pending"
    PENDING_ITEM_MODIFIED = "pending (item modified)"
    PROCESSED = "processed"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURN_REQUESTED = "return requested"
    EXCHANGE_REQUESTED = "exchange requested"


CANCEL_REASONS = ("no longer needed", "ordered by mistake")


class OrderItem(Frozen):
    """One order line: one unit of one variant, at the price paid."""

    name: str
    product_id: str
    item_id: str
    price: Amount
    options: dict[str, str]


class Fulfillment(Frozen):
    """A shipment: its tracking ids and the item ids it carries."""

    tracking_id: list[str]
    item_ids: list[str]


class PaymentTransaction(Frozen):
    """One entry of an order's payment history."""

    transaction_type: Literal["payment", "refund"]
    amount: Amount
    payment_method_id: str


class Order(Frozen):
    """An order. The optional fields stay ``None`` until a cancel, return or exchange sets them."""

    order_id: str
    user_id: str
    address: Address
    items: list[OrderItem]
    status: OrderStatus
    fulfillments: list[Fulfillment] = Field(default_factory=list)
    payment_history: list[PaymentTransaction] = Field(default_factory=list)
    cancel_reason: str | None = None
    exchange_items: list[str] | None = None
    exchange_new_items: list[str] | None = None
    exchange_payment_method_id: str | None = None
    exchange_price_difference: Amount | None = None
    return_items: list[str] | None = None
    return_payment_method_id: str | None = None

    @property
    def total(self) -> Decimal:
        """The sum of the lines, computed, never stored."""
        return sum((item.price for item in self.items), Decimal("0.00"))

    def net_paid_by_method(self) -> dict[str, Decimal]:
        """Payments minus refunds per payment method, in order of first appearance."""
        net: dict[str, Decimal] = {}
        for entry in self.payment_history:
            sign = 1 if entry.transaction_type == "payment" else -1
            net[entry.payment_method_id] = net.get(entry.payment_method_id, Decimal("0.00")) + sign * entry.amount
        return net
