"""Exact money: amounts are ``Decimal`` rounded half-up to the cent; never binary floats. ``format_money`` writes an
amount the way a customer reads it, in the shop's currency ("$1,234.50", "€12.00", "CA$9.99")."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from babel.numbers import format_currency
from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")

CURRENCY_SIGN = "[$€£¥]"
"""A sign before an amount in a customer's words (regex class): whichever they type, they mean the shop's currency."""
CURRENCY_WORDS = r"dollars?|usd|bucks|euros?|eur|gbp|quid"
"""Currency words after an amount (regex alternation); "pounds" is left out: it is a weight as often as money."""


def to_amount(value: object) -> Decimal:
    """Coerce a number or numeric string to a cent-exact Decimal (floats go through their shortest repr)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | str):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        raise TypeError(f"not an amount: {value!r}")
    if not number.is_finite():
        raise ValueError("an amount must be finite")
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: object, currency: str = "USD") -> str:
    """``value`` (a number or numeric string) in ``currency`` (ISO 4217), written for the assistant's English replies:
    the currency's symbol where English readers know one, else its code ("CHF12.00"), grouped thousands (Babel's
    CLDR data decides)."""
    return format_currency(to_amount(value), currency, locale="en_US")


def to_minor_units(amount: Decimal) -> int:
    """Cents as an integer, as payment gateways and the ACP want them."""
    return int(to_amount(amount) * 100)


Amount = Annotated[Decimal, BeforeValidator(to_amount), PlainSerializer(float, when_used="json")]
"""A cent-exact amount; JSON shows it as a number (τ² layout)."""
