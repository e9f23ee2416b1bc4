"""Checkout arithmetic: shipping options and costs, sales tax by state, promo discounts, delivery estimates.

The numbers come from the knowledge base (``data/kb/shipping-options.md``: standard $5.99, free when the item
subtotal after discounts is over $100; express $14.99; next-day $24.99, not to Alaska, Hawaii or PO boxes) and
from a rate table file (``data/catalog/tax_rates.yaml``, demo rates). Everything is exact to the cent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml

from shopkeep.domain import Address
from shopkeep.domain.money import CENT, format_money
from shopkeep.domain.payments import PromoCode
from shopkeep.errors import RuleViolationError

ShippingMethod = Literal["standard", "express", "next_day"]
SHIPPING_METHODS: tuple[ShippingMethod, ...] = ("standard", "express", "next_day")
FREE_STANDARD_OVER = Decimal("100.00")
ZERO = Decimal("0.00")
EASTERN = ZoneInfo("America/New_York")
SAME_DAY_CUTOFF = time(13, 0)
NO_NEXT_DAY_STATES = frozenset({"AK", "HI"})
_PO_BOX = re.compile(r"\bp\.?\s*o\.?\s*box\b", re.IGNORECASE)


@dataclass(frozen=True)
class ShippingRule:
    label: str
    cost: Decimal
    min_days: int
    max_days: int


SHIPPING: dict[ShippingMethod, ShippingRule] = {
    "standard": ShippingRule("Standard (5-7 business days)", Decimal("5.99"), 5, 7),
    "express": ShippingRule("Express (2-3 business days)", Decimal("14.99"), 2, 3),
    "next_day": ShippingRule("Next-day (next business day)", Decimal("24.99"), 1, 1),
}


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def shipping_cost(method: ShippingMethod, discounted_subtotal: Decimal) -> Decimal:
    """Standard is free when the item subtotal after discounts is more than $100 (exactly $100 still pays)."""
    if method == "standard" and discounted_subtotal > FREE_STANDARD_OVER:
        return ZERO
    return SHIPPING[method].cost


def next_day_refusal(address: Address) -> str | None:
    """Why next-day cannot go to this address, or None when it can."""
    if address.state.upper() in NO_NEXT_DAY_STATES:
        return "Next-day delivery is not available to Alaska or Hawaii"
    if _PO_BOX.search(f"{address.address1} {address.address2}"):
        return "Next-day delivery is not available to PO boxes"
    return None


def _business_days_after(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def ship_date(now: datetime) -> date:
    """Orders placed before 1 pm Eastern on a business day ship that day; later ones the next business day.
    (US federal holidays are not modelled.)"""
    local = now.astimezone(EASTERN)
    if local.weekday() < 5 and local.time() < SAME_DAY_CUTOFF:
        return local.date()
    return _business_days_after(local.date(), 1)


def delivery_window(method: ShippingMethod, now: datetime) -> tuple[date, date]:
    rule = SHIPPING[method]
    shipped = ship_date(now)
    return _business_days_after(shipped, rule.min_days), _business_days_after(shipped, rule.max_days)


# sales tax ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateTax:
    rate: Decimal
    taxes_shipping: bool


@lru_cache(maxsize=4)
def load_tax_table(path: Path) -> dict[str, StateTax]:
    """The rate table: state code -> rate and whether shipping is taxed."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        state.upper(): StateTax(rate=Decimal(str(entry["rate"])), taxes_shipping=bool(entry.get("taxes_shipping")))
        for state, entry in raw["states"].items()
    }


def state_tax(table: dict[str, StateTax], address: Address) -> StateTax:
    if address.country.strip().upper() not in ("USA", "US", "UNITED STATES"):
        raise RuleViolationError("We ship only to addresses in the United States")
    found = table.get(address.state.strip().upper())
    if found is None:
        raise RuleViolationError(
            f"We ship only to the 50 US states and Washington, D.C.; '{address.state}' is not one of them"
        )
    return found


def sales_tax(rule: StateTax, discounted_subtotal: Decimal, shipping: Decimal) -> Decimal:
    taxable = discounted_subtotal + (shipping if rule.taxes_shipping else ZERO)
    return cents(taxable * rule.rate)


# promo codes --------------------------------------------------------------------------------------------------------


def normalize_code(code: str) -> str:
    return code.strip().upper()


def promo_discount(promo: PromoCode | None, code: str, subtotal: Decimal, now: datetime, currency: str) -> Decimal:
    """The discount a valid code gives on this subtotal; a typed refusal for anything else. Never more than the
    subtotal: a code can bring the items to zero, not below."""
    if promo is None:
        raise RuleViolationError(f"Promo code {normalize_code(code)} does not exist")
    if now < promo.starts_at:
        raise RuleViolationError(f"Promo code {promo.code} is not valid yet")
    if now >= promo.ends_at:
        raise RuleViolationError(f"Promo code {promo.code} has expired")
    minimum = Decimal(promo.min_subtotal_minor) / 100
    if subtotal < minimum:
        raise RuleViolationError(
            f"Promo code {promo.code} needs an item subtotal of at least {format_money(minimum, currency)}"
        )
    if promo.kind == "percent":
        discount = cents(subtotal * Decimal(promo.value) / 100)
    else:
        discount = cents(Decimal(promo.value) / 100)
    return min(discount, subtotal)
