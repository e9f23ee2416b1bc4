"""Exact money: amounts are cent-exact Decimals whatever form they arrive in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopkeep.domain import Order, to_amount, to_minor_units
from shopkeep.domain.money import format_money


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_cents_survive_every_representation(cents: int) -> None:
    exact = Decimal(cents) / 100
    assert to_amount(exact) == exact
    assert to_amount(str(exact)) == exact
    assert to_amount(float(exact)) == exact  # a float with two decimals comes back exact, not 0.0499999...
    assert to_minor_units(exact) == cents


def test_float_artifacts_round_to_the_cent() -> None:
    assert to_amount(0.04999999999999716) == Decimal("0.05")
    assert to_amount(71.96000000000001) == Decimal("71.96")
    assert to_amount(0.1 + 0.2) == Decimal("0.30")


@pytest.mark.parametrize("bad", [True, None, "cheap", float("nan"), float("inf"), [1]])
def test_non_amounts_are_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError, ArithmeticError)):
        to_amount(bad)


@given(st.lists(st.integers(min_value=1, max_value=500_000), min_size=1, max_size=20))
def test_order_total_is_the_sum_of_its_lines(prices_in_cents: list[int]) -> None:
    address = {"address1": "", "address2": "", "city": "", "country": "", "state": "", "zip": ""}
    items = [
        {"name": "x", "product_id": "p", "item_id": str(n), "price": Decimal(c) / 100, "options": {}}
        for n, c in enumerate(prices_in_cents)
    ]
    order = Order.model_validate(
        {"order_id": "#W1", "user_id": "u", "address": address, "items": items, "status": "pending"}
    )
    assert to_minor_units(order.total) == sum(prices_in_cents)


@pytest.mark.parametrize(
    ("value", "currency", "written"),
    [
        ("1234.5", "USD", "$1,234.50"),
        (12, "EUR", "€12.00"),
        (Decimal("9.99"), "GBP", "£9.99"),
        ("9.99", "CAD", "CA$9.99"),
        ("-3.5", "USD", "-$3.50"),
        ("0.10", "CHF", "CHF0.10"),
    ],
)
def test_amounts_are_written_in_the_shops_currency(value: object, currency: str, written: str) -> None:
    assert format_money(value, currency) == written
