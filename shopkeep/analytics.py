"""Product analytics from the conversation events in the store (the console's analytics page reads them).

One plain SELECT of the events of a few kinds (``events_of_kinds``, the same SQL on SQLite, PostgreSQL and
Oracle) and the escalation tickets; the figures are counted here:

- conversations per day (by the day a conversation started, UTC);
- containment: conversations with a reply and no hand-off to a person, over those where the customer wrote;
- escalation rate, and the tickets' reasons;
- conversion: conversations where an order was placed; orders, revenue, mean order value and revenue per
  conversation (per currency, exact, as strings) from the ``order`` events (what each placed order charged);
- top intents (of the replies);
- questions the assistant could not answer: customer messages answered as out of scope, or whose knowledge lookup
  failed (the knowledge gaps to write next);
- rail trips per rail;
- turn latency percentiles: from a customer message's event to the reply's event (the whole turn, as stored).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shopkeep.store import SqlCommerceStore

KINDS = ("started", "user", "tool", "rail", "assistant", "order")
HANDOFF_TOOL = "transfer_to_human_agents"
ORDER_TOOL = "place_order"
KNOWLEDGE_TOOL = "search_knowledge"
OUT_OF_SCOPE = "out_of_scope"


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else 0.0


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def compute(store: SqlCommerceStore, *, top: int = 10) -> dict[str, Any]:
    with store.session() as session:
        events = session.events_of_kinds(KINDS)
        tickets = session.list_tickets()
    per_day: Counter[str] = Counter()
    wrote: set[str] = set()
    replied: set[str] = set()
    escalated: set[str] = set()
    converted: set[str] = set()
    intents: Counter[str] = Counter()
    rails: Counter[str] = Counter()
    unanswered: Counter[str] = Counter()
    latencies: list[float] = []
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    orders: Counter[str] = Counter()
    last_user: dict[str, tuple[str, float]] = {}
    failed_lookup: dict[str, bool] = defaultdict(bool)
    for event in events:
        conversation = event.conversation_id
        at = event.created_at.timestamp()
        if event.kind == "started":
            per_day[event.created_at.date().isoformat()] += 1
        elif event.kind == "user":
            wrote.add(conversation)
            last_user[conversation] = (str(event.payload.get("text", "")), at)
            failed_lookup[conversation] = False
        elif event.kind == "tool":
            name, ok = event.payload.get("name"), bool(event.payload.get("ok"))
            if ok and name == HANDOFF_TOOL:
                escalated.add(conversation)
            if ok and name == ORDER_TOOL:
                converted.add(conversation)
            if name == KNOWLEDGE_TOOL and not ok:
                failed_lookup[conversation] = True
        elif event.kind == "order":
            currency = str(event.payload.get("currency") or "?")
            revenue[currency] += Decimal(str(event.payload.get("value", "0")))
            orders[currency] += 1
        elif event.kind == "rail":
            rails[str(event.payload.get("rail", "?"))] += 1
        elif event.kind == "assistant":
            replied.add(conversation)
            intent = str(event.payload.get("intent") or "none")
            intents[intent] += 1
            if conversation in last_user:
                text, asked_at = last_user.pop(conversation)
                latencies.append((at - asked_at) * 1000)
                if intent == OUT_OF_SCOPE or failed_lookup[conversation]:
                    unanswered[" ".join(text.split()).lower()] += 1
    contained = {c for c in wrote if c in replied and c not in escalated}
    ordered = sorted(latencies)
    return {
        "conversations": len(wrote),
        "per_day": dict(sorted(per_day.items())),
        "containment": _share(len(contained), len(wrote)),
        "escalation_rate": _share(len(escalated & wrote), len(wrote)),
        "escalation_reasons": dict(Counter(t.reason for t in tickets).most_common(top)),
        "conversion": _share(len(converted & wrote), len(wrote)),
        "orders": sum(orders.values()),
        "revenue": {currency: _money(total) for currency, total in sorted(revenue.items())},
        "order_value": {currency: _money(revenue[currency] / n) for currency, n in sorted(orders.items())},
        "revenue_per_conversation": {
            currency: _money(total / len(wrote)) for currency, total in sorted(revenue.items()) if wrote
        },
        "top_intents": dict(intents.most_common(top)),
        "unanswered": [{"question": q, "count": n} for q, n in unanswered.most_common(top)],
        "rail_trips": dict(rails.most_common()),
        "latency_ms": {
            "turns": len(ordered),
            "p50": _percentile(ordered, 0.5),
            "p90": _percentile(ordered, 0.9),
            "p99": _percentile(ordered, 0.99),
        },
    }
