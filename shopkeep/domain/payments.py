"""Payments as data: gateway objects, delegated-payment allowances, ledger entries, promo codes, order charges.

Money here is what gateways and the Agentic Commerce Protocol use: integer minor units (cents) with an ISO 4217
currency code. Nothing in this module can hold a card number: a card is a vault or gateway token, a brand and the
last four digits.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from shopkeep.domain._base import Frozen


class PaymentStatus(StrEnum):
    """A gateway payment's life: authorized, then captured (and maybe refunded) or voided."""

    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    REQUIRES_ACTION = "requires_action"
    DECLINED = "declined"
    VOIDED = "voided"


class Allowance(Frozen):
    """What a delegated payment token may pay (ACP ``allowance``): never more, in no other currency, never later."""

    reason: Literal["one_time"] = "one_time"
    max_amount: int = Field(ge=0, description="Minor units")
    currency: str = Field(min_length=3, max_length=3)
    expires_at: datetime
    merchant_id: str
    checkout_session_id: str = Field(description="The checkout (order) the token is scoped to")


class PaymentToken(Frozen):
    """A gateway token for a card or wallet; with an allowance it is a delegated payment token."""

    token: str
    brand: str
    last_four: str
    allowance: Allowance | None = None


class Payment(Frozen):
    """A payment at the gateway. ``amount`` was authorized; ``captured`` and ``refunded`` moved money."""

    payment_id: str
    status: PaymentStatus
    amount: int
    currency: str
    captured: int = 0
    refunded: int = 0
    decline_code: str | None = None
    next_action: str | None = None


class LedgerKind(StrEnum):
    AUTHORIZATION = "authorization"
    CAPTURE = "capture"
    REFUND = "refund"
    VOID = "void"


class LedgerEntry(Frozen):
    """One money movement (or attempt) at a gateway or on a gift card. ``idem_key`` makes recording exactly-once."""

    entry_id: int | None = None
    order_id: str | None
    checkout_key: str | None
    kind: LedgerKind
    status: str
    payment_method_id: str
    gateway: str
    gateway_ref: str | None
    amount_minor: int = Field(ge=0)
    currency: str
    idem_key: str
    created_at: datetime


class PromoCode(Frozen):
    """A promo code: ``percent`` off (value = whole percent) or a ``fixed`` amount off (value = minor units)."""

    code: str
    kind: Literal["percent", "fixed"]
    value: int = Field(ge=0)
    currency: str = "USD"
    min_subtotal_minor: int = Field(default=0, ge=0)
    starts_at: datetime
    ends_at: datetime
    description: str


class OrderCharges(Frozen):
    """How a checkout order's total was made: what the customer was charged, part by part."""

    order_id: str
    user_id: str
    checkout_key: str
    currency: str
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    tax_minor: int
    total_minor: int
    promo_code: str | None
    shipping_method: str
    payment_method_id: str
    created_at: datetime


class IdempotencyRecord(Frozen):
    """A write seen before under an Idempotency-Key: its payload hash, and its stored result once completed."""

    scope: str
    key: str
    request_hash: str
    status: Literal["in_progress", "completed"]
    response: dict[str, object] | None = None
    locked_until: datetime | None = None
    created_at: datetime
    updated_at: datetime
