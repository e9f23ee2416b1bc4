"""Outcomes of a prompt experiment's variants, from the conversation events in the store.

Per conversation (every event carries the conversation's variant): *escalated* when a hand-off to a person
succeeded (``transfer_to_human_agents``), *converted* when an order was placed (``place_order`` succeeded),
*resolved without a human* when it got at least one reply and was not escalated, its number of customer turns, and
the customer's last rating (thumbs up or down). Per variant: those rates with 95 % Wilson intervals and the mean
turns of the resolved conversations. Order values are not in the events (tool outputs are not stored), so revenue
is not reported here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from shopkeep.evals.compare import Rate
from shopkeep.store import SqlCommerceStore

KINDS = ("user", "tool", "assistant", "rating")
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
    return found


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
        }
    return rows
