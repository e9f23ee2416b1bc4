"""Exact money: amounts are ``Decimal`` rounded half-up to the cent; never binary floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")


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


def to_minor_units(amount: Decimal) -> int:
    """Cents as an integer, as payment gateways and the ACP want them."""
    return int(to_amount(amount) * 100)


Amount = Annotated[Decimal, BeforeValidator(to_amount), PlainSerializer(float, when_used="json")]
"""A cent-exact amount; JSON shows it as a number (τ² layout)."""
