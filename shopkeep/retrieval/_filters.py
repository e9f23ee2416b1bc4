"""Price, availability and ordering phrases in a query: "under $50", "between 100 and 200", "around $300",
"cheapest", "in stock". Each recognised phrase is blanked out of the text (offsets are kept) and turned into a
bound, a sort order or a flag; what cannot be a price ("cheap", "$-5") becomes a customer-safe note instead."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from shopkeep.domain.money import CURRENCY_SIGN, CURRENCY_WORDS
from shopkeep.retrieval._text import word_set

Sort = Literal["relevance", "price_asc", "price_desc"]

CENT = Decimal("0.01")
_AROUND_SHARE = Decimal("0.10")
_MAX_DIGITS = 12

_AMOUNT = rf"(?<![\w.])(?:-\s*)?{CURRENCY_SIGN}?\s*-?\s*\d[\d,]*(?:\.\d+)?(?:\s*k\b)?(?![\w%])"
_CURRENCY = rf"(?P<cur>\s*(?:{CURRENCY_WORDS})\b)?"
_UNIT_WORDS = word_set(
    """
    gb tb mb ml l liter liters litre litres mah mp megapixel megapixels inch inches in ft foot feet lbs
    lb pound pounds hours hour hrs hr h mm bar w watt watts x k p piece pieces pc pcs percent degree
    degrees cup cups ram ssd storage year years month months day days
    """
)

_STRICT_MAX = "under|below|beneath|less than|lower than|cheaper than"
_INCLUSIVE_MAX = (
    "no more than|not more than|at most|up to|upto|maximum of|max of|maximum|max|within|no higher than|not over|"
    "budget of|budget is|budget"
)
_STRICT_MIN = "over|above|more than|greater than|higher than"
_INCLUSIVE_MIN = "at least|minimum of|min of|minimum|min|starting at|starting from|upwards of"

_RANGE = re.compile(
    rf"(?:\b(?P<kw>between|from)\s+)?(?P<a>{_AMOUNT})\s*(?:-|–|—|\bto\b|\band\b)\s*(?P<b>{_AMOUNT}){_CURRENCY}",
    re.IGNORECASE,
)
_SUFFIX_MAX = re.compile(
    rf"(?P<a>{_AMOUNT}){_CURRENCY}\s*(?P<kw>or less|or under|or below|or lower|or cheaper|and under|and below|"
    r"max(?:imum)?|tops|at most)\b",
    re.IGNORECASE,
)
_SUFFIX_MIN = re.compile(
    rf"(?P<a>{_AMOUNT}){_CURRENCY}\s*(?P<kw>or more|or above|or over|or higher|and up|and above|plus\b|\+)",
    re.IGNORECASE,
)
_MAX = re.compile(
    rf"(?:\b(?P<kw>{_STRICT_MAX}|{_INCLUSIVE_MAX})\b|(?P<sym><=?))\s*(?P<a>{_AMOUNT}){_CURRENCY}", re.IGNORECASE
)
_MIN = re.compile(
    rf"(?:\b(?P<kw>{_STRICT_MIN}|{_INCLUSIVE_MIN})\b|(?P<sym>>=?))\s*(?P<a>{_AMOUNT}){_CURRENCY}", re.IGNORECASE
)
_AROUND = re.compile(
    rf"(?:\b(?P<kw>around|about|approximately|approx\.?|roughly|close to|near|circa)\b|(?P<sym>~))\s*"
    rf"(?P<a>{_AMOUNT}){_CURRENCY}",
    re.IGNORECASE,
)
_BARE = re.compile(
    rf"(?P<a>(?<![\w.$€£¥])(?:-\s*)?{CURRENCY_SIGN}\s*-?\s*\d[\d,]*(?:\.\d+)?(?:\s*k\b)?(?![\w%])){_CURRENCY}"
    rf"|(?P<a2>{_AMOUNT})(?P<cur2>\s*(?:{CURRENCY_WORDS})\b)",
    re.IGNORECASE,
)

_SORT_ASC = re.compile(
    r"\b(?:cheapest|least\s+expensive|lowest[\s-]+priced?|lowest[\s-]+prices|lowest[\s-]+cost|most\s+affordable)\b",
    re.IGNORECASE,
)
_SORT_DESC = re.compile(
    r"\b(?:most\s+expensive|priciest|highest[\s-]+priced?|highest[\s-]+prices|top\s+of\s+the\s+line)\b", re.IGNORECASE
)
_VAGUE = re.compile(
    r"\b(?:cheap|cheaper|affordable|inexpensive|budget(?:[\s-]+friendly)?|low[\s-]+cost|low[\s-]+priced|bargain|"
    r"economical|pricey|pricy|expensive|more\s+expensive|less\s+expensive|high[\s-]+end|luxury|luxurious|premium|"
    r"reasonably\s+priced|good\s+value)\b",
    re.IGNORECASE,
)
_IN_STOCK = re.compile(
    r"\b(?:in[\s-]*stock|available(?:\s+(?:right\s+)?(?:now|today|immediately|to\s+(?:ship|buy|order)"
    r"(?:\s+(?:today|now|immediately))?|for\s+(?:shipping|delivery|purchase|order)(?:\s+(?:today|now))?))?|"
    r"ready\s+to\s+ship|ships?\s+(?:today|now|immediately)|on\s+hand|not\s+sold\s+out)\b",
    re.IGNORECASE,
)
_NEGATED_BEFORE = re.compile(r"\b(?:not|no\s+longer|isn'?t|aren'?t|never)\s+$", re.IGNORECASE)


@dataclass(slots=True)
class TextFilters:
    """What the price, availability and ordering phrases of a query said, and the query without them."""

    text: str
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    sort: Sort = "relevance"
    in_stock_only: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Amount:
    value: Decimal
    raw: str
    has_currency: bool


def _has_sign(raw: str) -> bool:
    return re.search(CURRENCY_SIGN, raw) is not None


def _amount(raw: str, currency_word: str | None) -> _Amount | None:
    """The number in a price phrase (negative if it carries a minus), or None if it is too long to be a price."""
    digits = re.search(r"\d[\d,]*(?:\.\d+)?", raw)
    if digits is None:  # pragma: no cover - every pattern requires a digit
        return None
    number = digits.group().replace(",", "")
    if len(number.split(".")[0]) > _MAX_DIGITS:
        return None
    value = Decimal(number)
    if re.search(r"k\s*$", raw, re.IGNORECASE):
        value *= 1000
    if "-" in raw[: digits.start()]:
        value = -value
    return _Amount(value, raw.strip(), _has_sign(raw) or bool(currency_word))


def _followed_by_unit(text: str, end: int) -> bool:
    """Whether a number ending at ``end`` is followed by a unit ("16 GB", "8 hours"): then it is not a price."""
    following = re.match(r"\s*([^\W\d_]+|%)", text[end:])
    return following is not None and following.group(1).lower() in _UNIT_WORDS


def _show(value: Decimal) -> str:
    return f"${value:,.2f}" if value != value.to_integral_value() else f"${value:,.0f}"


class _Extractor:
    """One pass over a query: blanks each recognised phrase and collects bounds and notes."""

    def __init__(self, text: str) -> None:
        self.chars = list(text)
        self.mins: list[Decimal] = []
        self.maxes: list[Decimal] = []
        self.notes: list[str] = []
        self.swapped = False

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def blank(self, start: int, end: int) -> None:
        self.chars[start:end] = " " * (end - start)

    def valid(self, amount: _Amount | None, end: int, *, keyword: bool) -> bool:
        """A price needs a currency sign or word, or a comparison word and no unit after it."""
        if amount is None:
            return False
        return amount.has_currency or (keyword and not _followed_by_unit(self.text, end))

    def usable(self, amount: _Amount) -> bool:
        if amount.value < 0:
            self.notes.append(f"a price can't be negative ({amount.raw})")
            return False
        return True

    def scan(self, pattern: re.Pattern[str], kind: str) -> None:
        for match in pattern.finditer(self.text):
            raw_a = match.group("a") or (match.groupdict().get("a2") or "")
            currency = match.groupdict().get("cur") or match.groupdict().get("cur2")
            amount = _amount(raw_a, currency)
            keyword = bool(match.groupdict().get("kw") or match.groupdict().get("sym"))
            if kind == "range":
                self._range(match, amount, currency)
                continue
            if amount is None and (_has_sign(raw_a) or currency):
                self.blank(match.start(), match.end())
                self.notes.append(f"{raw_a.strip()} is too large to be a price")
                continue
            if not self.valid(amount, match.end(), keyword=keyword or kind == "bare"):
                continue
            assert amount is not None
            self.blank(match.start(), match.end())
            if not self.usable(amount):
                continue
            word = (match.groupdict().get("kw") or match.groupdict().get("sym") or "").lower()
            self._bound(kind, word, amount.value)

    def _range(self, match: re.Match[str], low: _Amount | None, currency: str | None) -> None:
        high = _amount(match.group("b"), currency)
        if low is None or high is None:
            return
        priced = bool(match.group("kw")) or low.has_currency or high.has_currency
        if not priced or (not high.has_currency and _followed_by_unit(self.text, match.end())):
            return
        self.blank(match.start(), match.end())
        if not (self.usable(low) and self.usable(high)):
            return
        first, second = low.value, high.value
        if first > second:
            first, second = second, first
            self.notes.append(f"read the price range as {_show(first)} to {_show(second)}")
        self.mins.append(first)
        self.maxes.append(second)

    def _bound(self, kind: str, word: str, value: Decimal) -> None:
        if kind in ("max", "suffix_max"):
            strict = word in _STRICT_MAX.split("|") or word == "<"
            self.maxes.append(value - CENT if strict else value)
        elif kind in ("min", "suffix_min"):
            strict = word in _STRICT_MIN.split("|") or word == ">"
            self.mins.append(value + CENT if strict else value)
        else:
            spread = (value * _AROUND_SHARE).quantize(CENT)
            self.mins.append(value - spread)
            self.maxes.append(value + spread)


def extract_filters(text: str) -> TextFilters:
    """Find the price bounds, sort order and stock flag of a query, and blank those phrases out of it."""
    extractor = _Extractor(text)
    for pattern, kind in (
        (_RANGE, "range"),
        (_SUFFIX_MAX, "suffix_max"),
        (_SUFFIX_MIN, "suffix_min"),
        (_MAX, "max"),
        (_MIN, "min"),
        (_AROUND, "around"),
        (_BARE, "bare"),
    ):
        extractor.scan(pattern, kind)
    result = TextFilters(text="", notes=extractor.notes)
    low = max(extractor.mins) if extractor.mins else None
    high = min(extractor.maxes) if extractor.maxes else None
    if high is not None and high < 0:
        result.notes.append(f"no price is below {_show(high + CENT)}, so the price limit was ignored")
        high = None
    if low is not None and high is not None and low > high:
        result.notes.append(
            f"no price is both at least {_show(low)} and at most {_show(high)}, so the price limits were ignored"
        )
        low = high = None
    result.min_price, result.max_price = low, high

    for pattern, order in ((_SORT_ASC, "price_asc"), (_SORT_DESC, "price_desc")):
        for match in pattern.finditer(extractor.text):
            extractor.blank(match.start(), match.end())
            result.sort = "price_asc" if order == "price_asc" else "price_desc"
    for match in _VAGUE.finditer(extractor.text):
        extractor.blank(match.start(), match.end())
        note = f"'{match.group().lower()}' is not a price, showing all prices"
        if note not in result.notes:
            result.notes.append(note)
    for match in _IN_STOCK.finditer(extractor.text):
        if _NEGATED_BEFORE.search(extractor.text[: match.start()]):
            continue
        extractor.blank(match.start(), match.end())
        result.in_stock_only = True
    result.text = extractor.text
    return result
