"""The grounding rail: every amount, date, order id, long id and order status a reply states must be in the facts.

Numbers are checked, not vibes: "$1,234.50", "1234.5 dollars" and "USD 1234.50" are the same amount; "2024-05-12",
"05/12/2024", "May 12, 2024", "12 May" and "May 12th" the same date (a date without a year matches any year).

Derived amounts are accepted when they are exact arithmetic on grounded ones, because a brain may add up what the
tools returned: a sum or difference of two grounded amounts (subtotal + shipping, the price difference between two
variants), or any subset sum of the sibling amounts of one list in a tool result (several refunds of one order).
Anything else a brain wants to state, a tool must compute.

A status is checked where the reply ties it to an order id ("order #W1234567 is delivered", "#W1234567: pending",
"#W1234567 (delivered: ...)"): it must be that order's newest status in the tool results ("was" may name an older
one). Words the customer wrote, quoted back in quotation marks, are theirs, not claims.

Not checked: small counts (quantities, numbers of items), product names and statuses not tied to an order id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from itertools import combinations

from shopkeep.guardrails.base import RailResult, Stage
from shopkeep.guardrails.facts import (
    CENT,
    LONG_NUMBER,
    MAX_SUBSET_GROUP,
    ORDER_ID,
    PERCENT,
    STATUSES,
    Facts,
    Span,
    find_dates,
    fold,
    money,
    normalize_order_id,
    normalize_status,
)

NAME = "grounded_facts"

_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_MONEY_PATTERNS = (
    re.compile(rf"(?:\bUSD\s?|US\$\s?|\$\s?)(?P<a>{_AMOUNT})"),
    re.compile(rf"(?<![\w.$])(?P<a>{_AMOUNT})\s?(?:dollars?\b|USD\b)", re.IGNORECASE),
)
_STATUS = "|".join(re.escape(s) for s in STATUSES)
_STATUS_CLAIM = re.compile(
    rf"(?P<id>#?W\d{{7}})(?:'s status)?\s*[(:,]?\s*"
    rf"(?P<link>(?:(?:is|was|has been|had been|is now|now|currently|still|status(?: is)?:?)\s+){{0,3}})"
    rf"(?P<status>{_STATUS})\b"
    rf"|status of (?:your )?(?:order )?(?P<id2>#?W\d{{7}}) (?P<link2>is|was) (?P<status2>{_STATUS})\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"\"([^\"]{2,400})\"|“([^”]{2,400})”")


def quoted_customer_words(text: str, facts: Facts) -> list[tuple[int, int]]:
    """Spans of the reply that quote the customer's own words (a search query read back)."""
    said = facts.customer_said
    spans = []
    for match in _QUOTED.finditer(text):
        inner = match.group(1) or match.group(2) or ""
        if fold(inner) in said:
            spans.append((match.start(), match.end()))
    return spans


def claims(text: str) -> Iterator[Span]:
    """The checkable statements of a text: money, percentages, dates, order ids, long ids, order statuses."""
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return not any(start < e and s < end for s, e in taken)

    for pattern in _MONEY_PATTERNS:
        for match in pattern.finditer(text):
            amount = money(match.group("a"))
            if amount is not None and free(match.start(), match.end()):
                taken.append((match.start(), match.end()))
                yield Span(match.start(), match.end(), "money", amount, match.group())
    for match in PERCENT.finditer(text):
        if free(match.start(), match.end()):
            taken.append((match.start(), match.end()))
            yield Span(match.start(), match.end(), "percent", Decimal(match.group(1)).normalize(), match.group())
    for match in _STATUS_CLAIM.finditer(text):
        order_id = match.group("id") or match.group("id2")
        status = match.group("status") or match.group("status2")
        link = (match.group("link") or match.group("link2") or "").lower()
        value = (normalize_order_id(order_id), normalize_status(status), "was" in link.split())
        yield Span(match.start(), match.end(), "status", value, match.group())
    for match in ORDER_ID.finditer(text):
        taken.append((match.start(), match.end()))
        yield Span(match.start(), match.end(), "order id", normalize_order_id(match.group()), match.group())
    for span in find_dates(text):
        if free(span.start, span.end):
            taken.append((span.start, span.end))
            yield span
    for match in LONG_NUMBER.finditer(text):
        if free(match.start(), match.end()):
            yield Span(match.start(), match.end(), "id", match.group(), match.group())


def _derived(amount: Decimal, facts: Facts) -> bool:
    """Exact arithmetic on grounded amounts: a two-term sum or difference, or a subset sum of one list."""
    grounded = facts.amounts
    if any((amount - b) in grounded or (b - amount) in grounded for b in grounded if b != 0):
        return True
    for group in facts.amount_groups:
        if len(group) > MAX_SUBSET_GROUP:
            if sum(group, Decimal(0)).quantize(CENT) == amount:
                return True
            continue
        for size in range(2, len(group) + 1):
            if any(sum(chosen, Decimal(0)) == amount for chosen in combinations(group, size)):
                return True
    return False


def is_grounded(span: Span, facts: Facts) -> bool:
    if span.kind == "money":
        amount: Decimal = span.value
        return amount == 0 or amount in facts.amounts or _derived(amount, facts)
    if span.kind == "percent":
        return span.value in facts.percents
    if span.kind == "order id":
        return span.value in facts.order_ids
    if span.kind == "id":
        return span.value in facts.long_numbers
    if span.kind == "date":
        return any(span.value.matches(known) for known in facts.dates)
    if span.kind == "status":
        order_id, status, past = span.value
        known = facts.order_statuses.get(order_id, ())
        if not known:
            return False
        candidates = known if past else known[-1:]
        return any(k == status or k.startswith(status + " ") for k in candidates)
    return True


def ungrounded(text: str, facts: Facts) -> list[Span]:
    """The claims of a text that the facts do not back (quotes of the customer's own words left out)."""
    quoted = quoted_customer_words(text, facts)
    return [
        span
        for span in claims(text)
        if not any(s <= span.start and span.end <= e for s, e in quoted) and not is_grounded(span, facts)
    ]


def describe(span: Span) -> str:
    if span.kind == "status":
        order_id, status, _ = span.value
        return f"status '{status}' of order {order_id}"
    if span.kind == "money":
        return f"amount ${span.value:,.2f}"
    return f"{span.kind} '{span.raw.strip()}'"


def grounded_facts(text: str, facts: Facts) -> RailResult:
    """Every amount, date, id and order status in the reply is backed by this conversation's tool results."""
    missing = ungrounded(text, facts)
    if not missing:
        return RailResult(name=NAME, stage=Stage.OUTPUT, tripped=False, text=text)
    reason = "not in this conversation's tool results: " + "; ".join(dict.fromkeys(describe(s) for s in missing))
    return RailResult(name=NAME, stage=Stage.OUTPUT, tripped=True, blocked=True, text=text, reason=reason)
