"""Outcomes of a prompt experiment's variants, from the conversation events in the store.

Per conversation (every event carries the conversation's variant): *escalated* when a hand-off to a person
succeeded (``transfer_to_human_agents``), *converted* when an order was placed (``place_order`` succeeded),
*resolved without a human* when it got at least one reply and was not escalated, its number of customer turns, and
the customer's last rating (thumbs up or down), and the value of the orders it placed (the ``order`` events: what
each placed order charged). Per variant: those rates with 95 % Wilson intervals, the mean turns of the resolved
conversations, and per currency the orders, mean order value and revenue per conversation (exact, as strings) with
a 95 % percentile-bootstrap interval for the latter (revenue per conversation is mostly zeros and skewed, so a
normal interval would mislead; the resampling is seeded, so a report is reproducible).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from shopkeep.evals.compare import Rate
from shopkeep.store import SqlCommerceStore

KINDS = ("user", "tool", "assistant", "rating", "order")
CENT = Decimal("0.01")
BOOTSTRAP_SAMPLES = 2000
HANDOFF_TOOL = "transfer_to_human_agents"
ORDER_TOOL = "place_order"


@dataclass
class Outcome:
    variant: str
    turns: int = 0
    replied: bool = False
    escalated: bool = False
    converted: bool = False
    rating: str | None = None
    revenue: dict[str, Decimal] = field(default_factory=dict)
    """What its placed orders charged, per currency."""
    orders: int = 0

    @property
    def resolved(self) -> bool:
        return self.replied and not self.escalated


def outcomes(store: SqlCommerceStore) -> dict[str, Outcome]:
    """One outcome per conversation that carries a variant."""
    with store.session() as session:
        events = session.events_with_variant(KINDS)
    found: dict[str, Outcome] = {}
    for event in events:
        outcome = found.setdefault(event.conversation_id, Outcome(str(event.variant)))
        if event.kind == "user":
            outcome.turns += 1
        elif event.kind == "assistant":
            outcome.replied = True
        elif event.kind == "tool" and event.payload.get("ok"):
            name = event.payload.get("name")
            outcome.escalated = outcome.escalated or name == HANDOFF_TOOL
            outcome.converted = outcome.converted or name == ORDER_TOOL
        elif event.kind == "rating":
            outcome.rating = str(event.payload.get("value"))
        elif event.kind == "order":
            currency = str(event.payload.get("currency") or "?")
            value = Decimal(str(event.payload.get("value", "0")))
            outcome.revenue[currency] = outcome.revenue.get(currency, Decimal(0)) + value
            outcome.orders += 1
    return found


def bootstrap_interval(values: list[Decimal], *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> list[str]:
    """A 95 % percentile-bootstrap interval of the mean of ``values`` (cent-rounded strings; resampled as floats,
    which is exact enough for an interval's ends)."""
    if not values:
        return ["0.00", "0.00"]
    data = np.array([float(v) for v in values])
    rng = np.random.default_rng(seed)
    batch = max(1, 2_000_000 // len(data))  # resamples at a time: bounded memory for large experiments
    means = np.sort(
        np.concatenate(
            [
                rng.choice(data, size=(min(batch, samples - start), len(data)), replace=True).mean(axis=1)
                for start in range(0, samples, batch)
            ]
        )
    )
    low, high = means[int(0.025 * samples)], means[min(samples - 1, int(0.975 * samples))]
    return [
        str(Decimal(repr(float(low))).quantize(CENT, rounding=ROUND_HALF_UP)),
        str(Decimal(repr(float(high))).quantize(CENT, rounding=ROUND_HALF_UP)),
    ]


def revenue_of(outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    """Per currency seen: orders, revenue, mean order value and revenue per conversation (every conversation of
    ``outcomes`` counts, those without an order as zero) with its bootstrap interval."""
    currencies = sorted({currency for o in outcomes for currency in o.revenue})
    figures: dict[str, dict[str, Any]] = {}
    for currency in currencies:
        per_conversation = [o.revenue.get(currency, Decimal(0)) for o in outcomes]
        total = sum(per_conversation, Decimal(0))
        orders = sum(o.orders for o in outcomes if currency in o.revenue)
        figures[currency] = {
            "orders": orders,
            "revenue": str(total.quantize(CENT, rounding=ROUND_HALF_UP)),
            "order_value": str((total / orders).quantize(CENT, rounding=ROUND_HALF_UP)) if orders else None,
            "per_conversation": str((total / len(outcomes)).quantize(CENT, rounding=ROUND_HALF_UP)),
            "per_conversation_ci95": bootstrap_interval(per_conversation),
        }
    return figures


def report(store: SqlCommerceStore, variants: list[str]) -> dict[str, dict[str, Any]]:
    """Per variant (the configured ones, then any other seen in the events): conversations, rates and intervals."""
    by_variant: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes(store).values():
        by_variant[outcome.variant].append(outcome)
    rows: dict[str, dict[str, Any]] = {}
    for variant in [*variants, *sorted(set(by_variant) - set(variants))]:
        mine = by_variant.get(variant, [])
        rated = [o for o in mine if o.rating is not None]
        resolved = [o for o in mine if o.resolved]
        rows[variant] = {
            "conversations": len(mine),
            "resolved_without_human": Rate(len(resolved), len(mine)).as_record(),
            "escalated": Rate(sum(o.escalated for o in mine), len(mine)).as_record(),
            "converted": Rate(sum(o.converted for o in mine), len(mine)).as_record(),
            "thumbs_up": Rate(sum(o.rating == "up" for o in rated), len(rated)).as_record(),
            "turns_to_resolution": sum(o.turns for o in resolved) / len(resolved) if resolved else None,
            "revenue": revenue_of(mine),
        }
    return rows
