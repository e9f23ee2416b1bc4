"""Customers: names, default address, saved payment methods (never a card number) and their order ids."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field

from shopkeep.domain._base import Frozen
from shopkeep.domain.money import Amount, format_money

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def looks_like_email(text: str) -> bool:
    """One address, a local part and a dotted domain: what a customer record can be found by."""
    return bool(_EMAIL.match(text.strip()))


class Address(Frozen):
    """A postal address; every field is a string, possibly empty."""

    address1: str
    address2: str
    city: str
    country: str
    state: str
    zip: str


class PersonName(Frozen):
    first_name: str
    last_name: str


class CreditCard(Frozen):
    """A saved card: the brand and last four digits, and (for new cards) the gateway token, never the number."""

    source: Literal["credit_card"] = "credit_card"
    id: str
    brand: str
    last_four: str


class PayPal(Frozen):
    source: Literal["paypal"] = "paypal"
    id: str


class GiftCard(Frozen):
    source: Literal["gift_card"] = "gift_card"
    id: str
    balance: Amount


PaymentMethod = Annotated[CreditCard | PayPal | GiftCard, Field(discriminator="source")]


def describe_payment_method(method: CreditCard | PayPal | GiftCard, currency: str) -> str:
    """How a method is shown to a customer: brand + last four, PayPal, or the gift card and its balance (in the
    shop's ``currency``)."""
    if isinstance(method, CreditCard):
        return f"{method.brand.title()} ending in {method.last_four}"
    if isinstance(method, GiftCard):
        return f"gift card {method.id} (balance {format_money(method.balance, currency)})"
    return f"PayPal ({method.id})"


class Customer(Frozen):
    """A registered customer (τ²'s "user")."""

    user_id: str
    name: PersonName
    address: Address
    email: str
    payment_methods: dict[str, PaymentMethod] = Field(default_factory=dict)
    orders: list[str] = Field(default_factory=list)
