"""The promises rail: a reply promises only what the store policy or this conversation's tool results say.

A promise is a commitment the store would have to honour: a timeline ("within 3 days", "5-7 business days", "a
30-day window"), free shipping, a guarantee or a warranty, a discount ("20% off", store credit, compensation, price
matching, a full refund). Each is reduced to a comparable claim (a duration as its numbers and unit; the others as
what is promised) and is permitted only when a permitted source states the same claim: the store policy (the rules
every brain is given) or a tool result of this conversation (a knowledge-base passage from ``search_knowledge``, a
checkout quote whose shipping is $0.00, a product description). The customer's words never permit a promise, except
where the reply quotes them back in quotation marks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from shopkeep.guardrails.base import RailResult, Stage
from shopkeep.guardrails.facts import Facts, Span
from shopkeep.guardrails.grounding import quoted_customer_words

NAME = "permitted_promises"

_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
}
_N = r"\d+|" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True))
_DURATION = re.compile(
    rf"(?<![\w.$])(?P<lo>{_N})(?:\s*(?:-|–|to)\s*(?P<hi>{_N}))?[\s-]+"
    r"(?P<kind>business[\s-]|working[\s-]|calendar[\s-])?(?P<unit>minute|hour|day|week|month|year)s?\b",
    re.IGNORECASE,
)
_FREE_SHIPPING = re.compile(
    r"\bfree\b[^.!?\n]{0,30}\b(?:shipping|delivery)\b|\b(?:shipping|delivery)\b[^.!?\n]{0,30}"
    r"\b(?:free|waived|on us|at no (?:extra )?(?:cost|charge))\b|\bno (?:shipping|delivery) (?:fees?|charges?|costs?)\b"
    r"|\bships? (?:for )?free\b",
    re.IGNORECASE,
)
_FREE_SHIPPING_SOURCE = re.compile(
    r"\b(?:shipping|delivery)\b[^\n]{0,200}\bfree\b|\bfree\b[^\n]{0,200}\b(?:shipping|delivery)\b", re.IGNORECASE
)
"""In a source, "Standard shipping costs $5.99. It is free when ..." states free shipping across a sentence end."""
_PERCENT_OFF = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?%\s*(?:off|discount)\b", re.IGNORECASE)
_KINDS = {
    "guarantee": re.compile(r"\bguarantee[ds]?\b|\bguaranteeing\b", re.IGNORECASE),
    "warranty": re.compile(r"\bwarrant(?:y|ies)\b", re.IGNORECASE),
    "discount": re.compile(r"\bdiscount(?:s|ed)?\b", re.IGNORECASE),
    "coupon": re.compile(r"\b(?:coupons?|vouchers?)\b", re.IGNORECASE),
    "store credit": re.compile(r"\bstore credit\b", re.IGNORECASE),
    "compensation": re.compile(r"\bcompensat(?:e|ed|ion)\b|\bgoodwill\b", re.IGNORECASE),
    "price match": re.compile(r"\bprice[\s-]match(?:es|ed|ing)?\b", re.IGNORECASE),
    "full refund": re.compile(r"\bfull refund\b|\brefund (?:you )?in full\b", re.IGNORECASE),
}


def _number(raw: str) -> int:
    return int(raw) if raw.isdigit() else _WORD_NUMBERS[raw.lower()]


def promises(text: str) -> Iterator[Span]:
    """Every promise in a text, as a comparable claim: ("duration", lo, hi, unit) or (kind,)."""
    for match in _DURATION.finditer(text):
        lo = _number(match.group("lo"))
        hi = _number(match.group("hi")) if match.group("hi") else lo
        kind = (match.group("kind") or "").strip(" -").lower()
        unit = ("business " if kind in ("business", "working") else "") + match.group("unit").lower()
        yield Span(match.start(), match.end(), "timeline", ("duration", lo, hi, unit), match.group())
    for match in _FREE_SHIPPING.finditer(text):
        yield Span(match.start(), match.end(), "free shipping", ("free shipping",), match.group())
    for match in _PERCENT_OFF.finditer(text):
        value = Decimal(match.group(1)).normalize()
        yield Span(match.start(), match.end(), "discount", ("percent off", value), match.group())
    for kind, pattern in _KINDS.items():
        for match in pattern.finditer(text):
            yield Span(match.start(), match.end(), kind, (kind,), match.group())


def _source_claims(facts: Facts) -> set[tuple[Any, ...]]:
    return facts.memo(NAME, lambda: _claims_in_sources(facts))


def _claims_in_sources(facts: Facts) -> set[tuple[Any, ...]]:
    claims: set[tuple[Any, ...]] = set()
    for raw in (facts.policy, *facts.tool_texts):
        # A passage's line breaks reach the tool result as JSON's "\n": "one to\ntwo working days" is one promise.
        text = raw.replace("\\n", " ")
        claims.update(span.value for span in promises(text))
        # a percentage stated anywhere in a source permits that discount ("promo SAVE10: 10% off the subtotal")
        claims.update(("percent off", Decimal(p).normalize()) for p in re.findall(r"(\d+(?:\.\d+)?)\s?%", text))
        if _FREE_SHIPPING_SOURCE.search(text):
            claims.add(("free shipping",))
    for text in facts.tool_texts:
        if _zero_shipping(text):
            claims.add(("free shipping",))
    return claims


def _zero_shipping(text: str) -> bool:
    """A tool result (a quote, shipping options) that charges $0.00 for shipping makes free shipping a fact."""
    if not text.startswith("{"):
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return False
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("shipping", "shipping_cost", "cost") and isinstance(item, int | float) and item == 0:
                    return True
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    return False


def unpermitted(text: str, facts: Facts) -> list[Span]:
    """The promises of a text that no permitted source makes."""
    found = list(promises(text))
    if not found:
        return []
    quoted = quoted_customer_words(text, facts)
    permitted = _source_claims(facts)
    return [
        span
        for span in found
        if span.value not in permitted and not any(s <= span.start and span.end <= e for s, e in quoted)
    ]


def permitted_promises(text: str, facts: Facts) -> RailResult:
    """No timeline, free shipping, guarantee or discount the policy or a tool result of this conversation lacks."""
    missing = unpermitted(text, facts)
    if not missing:
        return RailResult(name=NAME, stage=Stage.OUTPUT, tripped=False, text=text)
    described = dict.fromkeys(f"{span.kind} '{span.raw.strip()}'" for span in missing)
    reason = "promises no policy text or tool result makes: " + "; ".join(described)
    return RailResult(name=NAME, stage=Stage.OUTPUT, tripped=True, blocked=True, text=text, reason=reason)
