"""Deterministic entity extraction for the local brain: typed spans of what a customer wrote.

``EntityExtractor.extract(text)`` returns ``Entity(type, value, start, end, ...)`` spans, sorted by position,
never overlapping: when two candidates overlap, the longer one wins, then the more specific type (an address
beats the zip inside it; "no backlight" beats the "no"). Values are normalized:

=================  ==========================================================================================
type               value
=================  ==========================================================================================
``email``          lower-cased address
``order_id``       ``#W`` + 7 digits, however written ("W 237 8156", "order 2378156")
``user_id``        ``first_last_1234``
``item_id``        10 digits said to be an item ("item ID 4107812777"); ``product_id`` when said to be one
``zip``            5 digits, only where a zip is plausible (after "zip", a state, a city, a name, "in")
``person_name``    ``{"first_name", "last_name"}`` (``last_name`` may be None)
``product``        the catalog product name ("mechanical keybord" -> "Mechanical Keyboard"); ``alternatives``
                   lists the other products an ambiguous word names ("kettle")
``option``         the catalog option value ("clicky", "M", "Google Assistant"), with its option ``key``
``quantity``       an int ("two", "3x", "a pair of")
``money``          a Decimal amount in dollars
``price_range``    ``{"min", "max"}`` Decimals or None
``address``        ``{"address1", "address2", "city", "state", "zip", "country"}``
``payment_method`` ``{"kind": credit_card|paypal|gift_card|original, "brand", "last_four"}``
``cancel_reason``  "no longer needed" or "ordered by mistake" (τ²'s two reasons)
``yes_no``         "yes" or "no", only for an explicit yes/no word opening a clause
=================  ==========================================================================================

Nothing here decides a confirmation: the strict yes parser belongs to the graph.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from rapidfuzz import process
from rapidfuzz.distance import OSA

from shopkeep.domain import CANCEL_REASONS, to_amount
from shopkeep.domain._base import Frozen
from shopkeep.domain.money import CURRENCY_SIGN, CURRENCY_WORDS
from shopkeep.llm.local._text import MAX_CHARS, clip, common_english_words, english_words
from shopkeep.llm.local.lexicon import MAX_PHRASE_TOKENS, OptionSense, Phrase, ShopLexicon
from shopkeep.retrieval._text import word_set, word_tokens

EntityType = Literal[
    "email",
    "order_id",
    "user_id",
    "item_id",
    "product_id",
    "zip",
    "person_name",
    "product",
    "option",
    "quantity",
    "money",
    "price_range",
    "address",
    "payment_method",
    "cancel_reason",
    "yes_no",
]

EntityValue = str | int | Decimal | dict[str, Any]


class Entity(Frozen):
    """One recognised span of a message: ``text[start:end]`` means ``value``."""

    type: EntityType
    value: EntityValue
    start: int
    end: int
    text: str
    key: str | None = None
    """For ``option``: the catalog option key ("switch type")."""
    alternatives: tuple[str, ...] = ()
    """For ``product``: other catalog products the same words name."""
    score: float = 1.0
    """1.0 for exact matches; lower for typo-tolerant and weakly cued ones."""

    def as_record(self) -> dict[str, Any]:
        """JSON-ready: ``{"type", "value", "start", "end", "text"}`` plus ``key``/``alternatives``/``score``."""
        record: dict[str, Any] = {
            "type": self.type,
            "value": _jsonable(self.value),
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }
        if self.key is not None:
            record["key"] = self.key
        if self.alternatives:
            record["alternatives"] = list(self.alternatives)
        if self.score != 1.0:
            record["score"] = self.score
        return record


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


# Ties between overlapping candidates of equal length go to the more specific type.
_PRIORITY: dict[str, int] = {
    "address": 10,
    "email": 9,
    "order_id": 9,
    "user_id": 9,
    "item_id": 8,
    "product_id": 8,
    "payment_method": 8,
    "price_range": 8,
    "money": 7,
    "cancel_reason": 7,
    "product": 6,
    "option": 5,
    "person_name": 5,
    "zip": 4,
    "quantity": 3,
    "yes_no": 1,
}


@dataclass(frozen=True, slots=True)
class _Candidate:
    type: EntityType
    start: int
    end: int
    value: EntityValue
    key: str | None = None
    alternatives: tuple[str, ...] = ()
    score: float = 1.0


# ----------------------------------------------------------------------------------------------- patterns

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_ORDER_ID = re.compile(r"(?<![A-Za-z0-9])#?\s?[Ww]\s?-?\s?(\d(?:[ -]?\d){6})(?![\d])")
_ORDER_ID_CUED = re.compile(
    r"\border(?:\s+(?:number|no\.?|id|#))?\s*(?:is|:)?\s*#?\s*(\d{7})(?!\d)|(?<![\w#])#(\d{7})(?!\d)", re.IGNORECASE
)
_USER_ID = re.compile(r"\b[a-z]+(?:_[a-z]+)+_\d{4}\b")
_TEN_DIGITS = re.compile(r"(?<!\d)\d{10}(?!\d)")
_FIVE_DIGITS = re.compile(r"(?<![\d$#.,])\d{5}(?!\d|[.,]\d)")

_MONEY = re.compile(
    rf"(?<![\w$€£¥]){CURRENCY_SIGN}\s?(?P<a>\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.(?P<ac>\d{{1,2}}))?(?![\d,])"
    rf"|\b(?P<b>\d+)(?:\.(?P<bc>\d{{1,2}}))?\s?(?:{CURRENCY_WORDS})\b"
    r"|\busd\s?(?P<c>\d+)(?:\.(?P<cc>\d{1,2}))?\b",
    re.IGNORECASE,
)
_MAX_CUE = re.compile(
    r"\b(?:under|below|less than|cheaper than|lower than|at most|up to|no more than|not more than|max(?:imum)?|"
    r"within|tops)\s*(?:of\s+)?$",
    re.IGNORECASE,
)
_MIN_CUE = re.compile(
    r"\b(?:over|above|more than|at least|min(?:imum)?|higher than|starting at|no less than)\s*(?:of\s+)?$",
    re.IGNORECASE,
)
_PRICE_WORDS = re.compile(
    rf"{CURRENCY_SIGN}|\b(?:price[sd]?|cost(?:s|ing)?|budget|spend|cheap\w*|expensive|afford\w*|pay|{CURRENCY_WORDS})\b",
    re.IGNORECASE,
)
_UNITS = (
    r"(?:%|\"|'|inch|in\b|gb|tb|mah|ml|l\b|ft|feet|foot|hours?|hrs?|days?|weeks?|months?|years?|items?|pieces?|"
    r"pcs|lbs?|pounds|mm|bar|x\b|w\b|mp|degrees|cups?|liters?|minutes?|mins?|orders?|people|times|stars?|percent)"
)
_BARE_PRICE = re.compile(
    r"\b(?P<cue>under|below|less\s+than|cheaper\s+than|lower\s+than|at\s+most|up\s+to|no\s+more\s+than|"
    r"max(?:imum)?|over|above|more\s+than|at\s+least|min(?:imum)?|higher\s+than|between)\s+[$€£¥]?"
    rf"(?P<n>\d+(?:\.\d{{1,2}})?)(?!\d|\.\d|\s*{_UNITS})",
    re.IGNORECASE,
)
_MIN_WORDS = frozenset({"over", "above", "more than", "at least", "min", "minimum", "higher than"})
_RANGE_JOIN = re.compile(r"^\s*(?:-|–|to|and)\s*$", re.IGNORECASE)
_RANGE_OPEN = re.compile(r"\b(?:between|from)\s*$", re.IGNORECASE)

_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
    "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia",
    "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip
_STATE_BY_NAME = {name.lower(): abbr for abbr, name in _STATES.items()}
_STATE_NAMES = "|".join(sorted((re.escape(n) for n in _STATE_BY_NAME), key=len, reverse=True))
_STATE = rf"(?:(?-i:{'|'.join(_STATES)})|(?i:{_STATE_NAMES}))"

_STREET_TYPES = (
    r"street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|way|place|pl|terrace|ter|highway|"
    r"hwy|parkway|pkwy|circle|cir|trail|trl|square|sq|loop|alley|crescent|plaza|route|rte|broadway"
)
_STREET = re.compile(
    rf"\b(?P<number>\d{{1,6}}[A-Za-z]?)\s+(?P<name>(?:[A-Za-z0-9][\w'.-]*\s+){{0,4}}?)"
    rf"(?P<type>{_STREET_TYPES})\b\.?(?:\s+(?-i:NE|NW|SE|SW|N|S|E|W)\b\.?)?",
    re.IGNORECASE,
)
_UNIT = re.compile(r"(?:apt|apartment|suite|ste|unit|floor|fl|room|rm|#)\.?\s*#?\s*\w[\w-]*\b", re.IGNORECASE)
_COUNTRY = r"(?:(?i:USA|U\.S\.A\.|United States(?: of America)?)|US)"
# A state's abbreviation in lower case ("charlotte nc 28203") only right before a zip: "or", "in", "me" elsewhere are
# words. A country may come before the zip as well as after it ("Austin, TX, USA 78701").
_STATE_BEFORE_ZIP = rf"(?i:{'|'.join(_STATES)})(?=\s*,?\s*(?:{_COUNTRY}\s*,?\s*)?\d{{5}})"
_PLACE_TAIL = (
    rf"(?P<state>{_STATE}|{_STATE_BEFORE_ZIP})?\s*(?:(?P<country_first>{_COUNTRY})\s*,?\s*)?"
    rf"(?P<zip>\d{{5}})?(?:-\d{{4}})?\s*(?P<country>{_COUNTRY})?$"
)
_PLACE = re.compile(rf"^(?P<city>[A-Za-z][A-Za-z.'-]*(?:\s+[A-Za-z][A-Za-z.'-]*){{0,3}}?)?\s*{_PLACE_TAIL}")
_STATE_ZIP = re.compile(rf"^(?P<city>){_PLACE_TAIL}")
_ADDRESS_STOPWORDS = word_set("the a an my your our on in at to of for and or with from by is are was be it this that")

_BRAND = r"(?P<brand>visa|master\s?card|amex|american express|discover)"


def _last_four(group: str) -> str:
    return (
        r"(?:\s*,?\s*(?:ending|ends|that ends|last (?:four|4)(?: digits)?(?: are| is)?)\s*(?:in|with)?\s*[:#]?\s*"
        rf"(?:x+|\*+)?(?P<{group}>\d{{4}})(?!\d))"
    )


_PAYMENT = re.compile(
    rf"\b{_BRAND}(?:\s+(?P<kind1>credit\s?card|debit\s?card|card))?{_last_four('last4')}?"
    rf"|\b(?P<kind2>credit\s?card|debit\s?card|card){_last_four('last4c')}?"
    rf"|\b(?:the\s+one\s+)?(?P<ending>ending (?:in|with)\s*(?P<last4b>\d{{4}})(?!\d))"
    r"|\b(?P<paypal>pay\s?-?pal)\b"
    r"|\b(?P<gift>gift\s?-?cards?|(?-i:GC))\b"
    r"|\b(?P<original>original (?:payment method|method of payment|form of payment|payment|card|method)|"
    r"same (?:payment method|method of payment|card)|(?:the )?way i paid)\b",
    re.IGNORECASE,
)

_NO_LONGER = re.compile(
    r"\b(?:no longer (?:need(?:ed|s)?|want(?:ed|s)?|require[ds]?|necessary|useful)(?: (?:it|them|this|that|these|"
    r"those|the \w+))?|(?:don'?t|do not|doesn'?t|does not) (?:need|want|require) (?:it|them|this|that|these|those|"
    r"the \w+|any of (?:it|them|this|that|these|those))? ?any ?more|not needed any ?more|(?:changed|change of) "
    r"(?:my )?mind)\b",
    re.IGNORECASE,
)
_BY_MISTAKE = re.compile(
    r"\b(?:(?:ordered|bought|purchased|placed)\s+(?:it\s+|this\s+|that\s+|them\s+|the\s+\w+\s+)?)?"
    r"(?:by|in)\s+(?:mistake|error|accident)\b"
    r"|\b(?:accidental(?:ly)?|mistakenly|erroneously)\s+(?:ordered|bought|purchased|placed)\b"
    r"|\bordered (?:it )?(?:twice|two times)\b|\bduplicate order\b|\bordered the wrong\b|\bwrong order(?:ed)?\b",
    re.IGNORECASE,
)

_CLAUSE_START = r"(?:^|(?<=[.!?,;:\n(])\s*|(?<=\s-)\s*)"
_YES_NO = re.compile(
    _CLAUSE_START + r"(?P<word>yes|yeah|yep|yup|yea|ya|yess+|sure|ok|okay|correct|confirm(?:ed)?|affirmative|"
    r"absolutely|no|nope|nah|negative)\b(?!['’])",
    re.IGNORECASE,
)
_NO_WORDS = frozenset({"no", "nope", "nah", "negative"})
_SINGLE_YES_NO = {"y": "yes", "n": "no", "k": "yes"}

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
}  # fmt: skip
_QUANTITY_PHRASES = {"a pair of": 2, "a couple of": 2, "a couple": 2, "a dozen": 12, "half a dozen": 6}
_QUANTITY_NUMBER = re.compile(
    r"\b(?P<phrase>half a dozen|a pair of|a couple of|a couple|a dozen)\b"
    r"|(?<![\w$#.,])(?P<digits>\d{1,2})(?P<x>\s?x\b)?(?![\d.,%]|\w)"
    rf"|\b(?P<word>{'|'.join(_NUMBER_WORDS)})\b"
    r"|\b(?:x\s?(?P<times>\d{1,2})|(?:qty|quantity)\s*[:=]?\s*(?P<qty>\d{1,3}))\b",
    re.IGNORECASE,
)
_QUANTITY_AFTER = re.compile(
    r"^\s*(?:of (?:them|those|these|each|the)|more|units?|items?|pcs|pairs?|x)\b", re.IGNORECASE
)
_NOT_QUANTITY_BEFORE = word_set(
    "size sizes number no item order zip code id model version gen generation series step option page top"
)

_NAME_CUE = re.compile(
    r"\b(?P<cue>i'?m|i am|my name is|my name's|name is|name's|this is|it's|it is|call me|name\s*:|you are|you're|"
    r"first name is|signed|regards,?)\s+",
    re.IGNORECASE,
)
_EXPLICIT_CUES = frozenset({"my name is", "my name's", "name is", "name's", "call me", "first name is"})
_NAME_WORD = re.compile(r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)?")
_CAPITALIZED_PAIR = re.compile(r"\b(?P<first>[A-Z][a-z]+)\s+(?P<last>[A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b")
_LOWER_PAIR = re.compile(r"\b(?P<first>[a-z]{2,})\s+(?P<last>[a-z]{2,})\b")
_NOT_NAMES = word_set("""
    i im me my you your he she it we they them the a an and or but not no yes so to in on at of for from with
    by this that here there now just also too very really looking trying going calling writing contacting
    interested sorry fine good okay ok sure happy unhappy angry glad back done ready new old still not
    order orders item items customer user shop store account email zip code street city
    """)
_ZIP_CUE = re.compile(r"\b(?:zip|zipcode|zip code|postal|postcode|post code)\b", re.IGNORECASE)
_ZIP_BEFORE = re.compile(
    rf"(?:\b{_STATE}\s*,?\s*|\b(?:in|at|from|near|area|live|living|reside|residing)\s+|"
    r"\b[A-Z][a-z]+\s*,\s*|\b(?:USA|U\.S\.A\.|US|United States)\s*,?\s*|"
    r"\b(?:in|from|near|at)\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?\s+)$"
)
_ID_CUE = re.compile(r"\b(?P<what>item|product)s?\b[^.\d]{0,20}$|\bids?\b[^.\d]{0,6}$", re.IGNORECASE)

_NOT_A_PRODUCT_BEFORE = word_set("to i we you they can will would could should just i'll")


# ------------------------------------------------------------------------------------------------- extractor


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: int
    end: int
    word: int
    first: bool
    last: bool


class EntityExtractor:
    """Finds entities with regular expressions and the shop lexicon. Build once; ``extract`` is pure and fast."""

    def __init__(self, lexicon: ShopLexicon) -> None:
        self.lexicon = lexicon
        self._english = english_words()
        self._common = common_english_words()
        self._vocabulary = lexicon.vocabulary
        self._fuzzy_words = sorted(w for w in self._vocabulary if len(w) >= 4)
        self._corrections: dict[str, str | None] = {}

    def extract(self, text: str, *, context_products: Sequence[str] = ()) -> list[Entity]:
        """Entities of ``text`` (its first ``MAX_CHARS`` characters), by position.

        ``context_products`` are products already under discussion (from earlier turns): bare option words
        ("the medium one") are read against them as if the message named them.
        """
        text, _ = clip(text, MAX_CHARS)
        candidates: list[_Candidate] = []
        candidates += self._emails(text)
        candidates += self._ids(text)
        candidates += self._money(text)
        candidates += self._addresses(text)
        candidates += self._payment_methods(text)
        candidates += self._cancel_reasons(text)
        candidates += self._yes_no(text)
        products, options = self._catalog(text, context_products)
        candidates += products
        candidates += options
        candidates += self._quantities(text, products)
        names = self._names(text)
        candidates += names
        candidates += self._zips(text, names)
        return [
            Entity(
                type=c.type,
                value=c.value,
                start=c.start,
                end=c.end,
                text=text[c.start : c.end],
                key=c.key,
                alternatives=c.alternatives,
                score=c.score,
            )
            for c in _resolve(candidates)
        ]

    # ------------------------------------------------------------------------------------------- simple types

    @staticmethod
    def _emails(text: str) -> list[_Candidate]:
        return [_Candidate("email", m.start(), m.end(), m.group(0).lower()) for m in _EMAIL.finditer(text)]

    @staticmethod
    def _ids(text: str) -> list[_Candidate]:
        found: list[_Candidate] = []
        for m in _ORDER_ID.finditer(text):
            digits = re.sub(r"\D", "", m.group(1))
            start = m.start() + (len(m.group(0)) - len(m.group(0).lstrip()))
            found.append(_Candidate("order_id", start, m.end(), f"#W{digits}"))
        for m in _ORDER_ID_CUED.finditer(text):
            group = 1 if m.group(1) else 2
            found.append(_Candidate("order_id", m.start(group), m.end(group), f"#W{m.group(group)}", score=0.8))
        for m in _USER_ID.finditer(text):
            found.append(_Candidate("user_id", m.start(), m.end(), m.group(0)))
        for m in _TEN_DIGITS.finditer(text):
            cue = _ID_CUE.search(text[max(0, m.start() - 30) : m.start()])
            if cue is not None:
                kind: EntityType = "product_id" if (cue.group("what") or "").lower() == "product" else "item_id"
                found.append(_Candidate(kind, m.start(), m.end(), m.group(0)))
        return found

    @staticmethod
    def _money(text: str) -> list[_Candidate]:
        amounts: list[tuple[int, int, Decimal]] = []
        for m in _MONEY.finditer(text):
            whole = (m.group("a") or m.group("b") or m.group("c") or "0").replace(",", "")
            cents = m.group("ac") or m.group("bc") or m.group("cc")
            amounts.append((m.start(), m.end(), to_amount(f"{whole}.{cents}" if cents else whole)))
        found = [_Candidate("money", start, end, amount) for start, end, amount in amounts]
        paired: set[int] = set()
        for n in range(len(amounts) - 1):
            (start, end, low), (next_start, next_end, high) = amounts[n], amounts[n + 1]
            if _RANGE_JOIN.match(text[end:next_start]):
                opener = _RANGE_OPEN.search(text[:start])
                bounds = {"min": min(low, high), "max": max(low, high)}
                found.append(_Candidate("price_range", opener.start() if opener else start, next_end, bounds))
                paired.update({n, n + 1})
        for n, (start, end, amount) in enumerate(amounts):
            before = text[max(0, start - 25) : start]
            for cue, bound in ((_MAX_CUE, "max"), (_MIN_CUE, "min")):
                hit = cue.search(before)
                if hit is not None and n not in paired:
                    limits: dict[str, Decimal | None] = {"min": None, "max": None, bound: amount}
                    found.append(_Candidate("price_range", start - len(before) + hit.start(), end, limits))
        if _PRICE_WORDS.search(text):
            found += _bare_price_ranges(text)
        return found

    @staticmethod
    def _addresses(text: str) -> list[_Candidate]:
        found: list[_Candidate] = []
        for m in _STREET.finditer(text):
            name_words = m.group("name").split()
            if any(w.lower() in _ADDRESS_STOPWORDS for w in name_words):
                continue
            parts = _address_tail(text, m.end())
            capitalized = bool(name_words) and all(w[:1].isupper() or w[:1].isdigit() for w in name_words)
            if not capitalized and not (parts.get("zip") or (parts.get("city") and parts.get("state"))):
                continue
            value = {
                "address1": " ".join(m.group(0).split()).rstrip("."),
                "address2": parts.get("address2", ""),
                "city": parts.get("city", ""),
                "state": parts.get("state", ""),
                "zip": parts.get("zip", ""),
                "country": parts.get("country", "USA"),
            }
            end = int(parts.get("end", m.end()))
            found.append(_Candidate("address", m.start(), end, value))
        return found

    @staticmethod
    def _payment_methods(text: str) -> list[_Candidate]:
        found: list[_Candidate] = []
        for m in _PAYMENT.finditer(text):
            value: dict[str, Any]
            if m.group("paypal"):
                value = {"kind": "paypal", "brand": None, "last_four": None}
            elif m.group("gift"):
                value = {"kind": "gift_card", "brand": None, "last_four": None}
            elif m.group("original"):
                value = {"kind": "original", "brand": None, "last_four": None}
            elif m.group("ending"):
                value = {"kind": "credit_card", "brand": None, "last_four": m.group("last4b")}
            else:
                kind = (m.group("kind1") or m.group("kind2") or "").lower()
                last_four = m.group("last4") or m.group("last4c")
                if m.group("brand") is None and kind == "card" and not last_four:
                    continue
                brand = m.group("brand")
                value = {"kind": "credit_card", "brand": _brand(brand) if brand else None, "last_four": last_four}
            found.append(_Candidate("payment_method", m.start(), m.end(), value))
        return found

    @staticmethod
    def _cancel_reasons(text: str) -> list[_Candidate]:
        no_longer, by_mistake = CANCEL_REASONS
        found = [_Candidate("cancel_reason", m.start(), m.end(), no_longer) for m in _NO_LONGER.finditer(text)]
        found += [_Candidate("cancel_reason", m.start(), m.end(), by_mistake) for m in _BY_MISTAKE.finditer(text)]
        return found

    @staticmethod
    def _yes_no(text: str) -> list[_Candidate]:
        stripped = text.strip().strip(".!").lower()
        if stripped in _SINGLE_YES_NO:
            start = text.lower().index(stripped)
            return [_Candidate("yes_no", start, start + len(stripped), _SINGLE_YES_NO[stripped])]
        found: list[_Candidate] = []
        for m in _YES_NO.finditer(text):
            word = m.group("word").lower()
            found.append(_Candidate("yes_no", m.start("word"), m.end("word"), "no" if word in _NO_WORDS else "yes"))
        return found

    # ---------------------------------------------------------------------------------------- catalog phrases

    def _tokens(self, text: str) -> list[_Token]:
        tokens: list[_Token] = []
        for n, m in enumerate(re.finditer(r"\S+", text)):
            word = m.group(0)
            core = word.strip(",.;:!?()[]{}\"'`“”‘’<>*_|\\/")
            if not core:
                continue
            start = m.start() + word.index(core)
            parts = word_tokens(core)
            for i, part in enumerate(parts):
                tokens.append(_Token(part, start, start + len(core), n, i == 0, i == len(parts) - 1))
        return tokens

    def _correct(self, token: str) -> str | None:
        """A catalog word this unknown token is a typo of ("keybord" -> "keyboard"), else None."""
        if len(token) < 5 or not token.isalpha() or token in self._vocabulary or token in self._english:
            return None
        if token not in self._corrections:
            limit = 1 if len(token) <= 7 else 2
            hits = process.extract(token, self._fuzzy_words, scorer=OSA.distance, score_cutoff=limit, limit=None)
            best = sorted((d, w) for w, d, _ in hits if w[0] == token[0] and abs(len(w) - len(token)) <= limit)
            self._corrections[token] = best[0][1] if best else None
        return self._corrections[token]

    def _catalog(self, text: str, context: Sequence[str]) -> tuple[list[_Candidate], list[_Candidate]]:
        tokens = self._tokens(text)
        words = [self._correct(t.text) or t.text for t in tokens]
        corrected = [w != t.text for w, t in zip(words, tokens, strict=True)]
        products: list[_Candidate] = []
        option_hits: list[tuple[int, int, Phrase, list[OptionSense], bool]] = []
        for i, token in enumerate(tokens):
            if not token.first:
                continue
            for j in range(min(len(tokens), i + MAX_PHRASE_TOKENS), i, -1):
                if not tokens[j - 1].last:
                    continue
                phrase = tuple(words[i:j])
                fuzzy = any(corrected[i:j])
                names = self.lexicon.product_phrases.get(phrase)
                if names and self._product_ok(tokens, i, j, text):
                    products.append(
                        _Candidate(
                            "product",
                            token.start,
                            tokens[j - 1].end,
                            names[0],
                            alternatives=tuple(names[1:]),
                            score=0.85 if fuzzy else 1.0,
                        )
                    )
                senses = self.lexicon.option_phrases.get(phrase)
                if senses:
                    option_hits.append((i, j, phrase, senses, fuzzy))
        in_view = list(products)
        context_set = set(context)
        options: list[_Candidate] = []
        for i, j, phrase, senses, fuzzy in option_hits:
            start, end = tokens[i].start, tokens[j - 1].end
            sense = self._pick_sense(senses, phrase, start, in_view, context_set, self.lexicon.product_type)
            if sense is not None:
                options.append(
                    _Candidate("option", start, end, sense.value, key=sense.key, score=0.85 if fuzzy else 1.0)
                )
        return products, options

    @staticmethod
    def _product_ok(tokens: list[_Token], i: int, j: int, text: str) -> bool:
        """One-word product names right after "to", "I", "can"... are verbs ("to watch", "I mat")."""
        if j - i > 1 or i == 0:
            return True
        return tokens[i - 1].text not in _NOT_A_PRODUCT_BEFORE

    @staticmethod
    def _pick_sense(
        senses: list[OptionSense],
        phrase: Phrase,
        start: int,
        products: list[_Candidate],
        context: set[str],
        type_of: Callable[[str], str],
    ) -> OptionSense | None:
        # The types of the products named in this message, nearest first, then of those under discussion from
        # earlier turns (senses belong to types: in the demo each product is its own).
        ordered = sorted(products, key=lambda p: abs(p.start - start))
        viewed: dict[str, None] = {}
        for product in ordered:
            viewed.update(dict.fromkeys(type_of(name) for name in (str(product.value), *product.alternatives)))
        viewed.update(dict.fromkeys(type_of(name) for name in context))
        for name in viewed:
            mine = [s for s in senses if s.product == name]
            if mine:
                return min(mine, key=lambda s: _sense_rank(s, phrase))
        explicit = [s for s in senses if s.explicit]
        if not explicit:
            return None
        votes = Counter((s.key, s.value) for s in explicit)
        (key, value), _ = max(votes.items(), key=lambda kv: (kv[1], kv[0][0] == "color", kv[0]))
        return next(s for s in explicit if s.key == key and s.value == value)

    def _quantities(self, text: str, products: list[_Candidate]) -> list[_Candidate]:
        found: list[_Candidate] = []
        starts = sorted({p.start for p in products})
        for m in _QUANTITY_NUMBER.finditer(text):
            if m.group("phrase"):
                found.append(_Candidate("quantity", m.start(), m.end(), _QUANTITY_PHRASES[m.group("phrase").lower()]))
                continue
            if m.group("times") or m.group("qty"):
                found.append(_Candidate("quantity", m.start(), m.end(), int(m.group("times") or m.group("qty"))))
                continue
            number = int(m.group("digits")) if m.group("digits") else _NUMBER_WORDS[m.group("word").lower()]
            if number == 0:
                continue
            previous = re.findall(r"[\w#$]+", text[max(0, m.start() - 20) : m.start()])
            if previous and previous[-1].lower() in _NOT_QUANTITY_BEFORE:
                continue
            if m.group("x"):
                found.append(_Candidate("quantity", m.start(), m.end(), number))
                continue
            after = text[m.end() :]
            if _QUANTITY_AFTER.match(after) or _followed_by_product(m.end(), after, starts):
                found.append(_Candidate("quantity", m.start(), m.end(), number))
        return found

    # ----------------------------------------------------------------------------------------- names and zips

    def _is_name_word(self, word: str, *, explicit: bool, first: bool) -> bool:
        lowered = word.lower().replace("’", "'")
        vocabulary = self.lexicon.first_names if first else self.lexicon.last_names
        if lowered in _NOT_NAMES or lowered in self._vocabulary:
            return lowered in vocabulary
        if lowered in vocabulary or lowered in self.lexicon.first_names or lowered in self.lexicon.last_names:
            return True
        if explicit:
            return True
        return word[:1].isupper() and lowered not in self._common

    def _names(self, text: str) -> list[_Candidate]:
        found: list[_Candidate] = []
        for cue in _NAME_CUE.finditer(text):
            explicit = " ".join(cue.group("cue").lower().split()) in _EXPLICIT_CUES
            words = list(_NAME_WORD.finditer(text, cue.end()))[:2]
            if not words or words[0].start() != cue.end():
                continue
            first = words[0]
            if not self._is_name_word(first.group(0), explicit=explicit, first=True):
                continue
            end, last_name = first.end(), None
            if len(words) > 1 and re.fullmatch(r"\s+", text[first.end() : words[1].start()]):
                second = words[1].group(0)
                lowercase_ok = explicit or first.group(0).lower() in self.lexicon.first_names
                if (second[:1].isupper() or lowercase_ok) and self._is_name_word(
                    second, explicit=explicit and lowercase_ok, first=False
                ):
                    end, last_name = words[1].end(), _title(second)
            value = {"first_name": _title(first.group(0)), "last_name": last_name}
            found.append(_Candidate("person_name", first.start(), end, value))
        for pattern in (_CAPITALIZED_PAIR, _LOWER_PAIR):
            for m in pattern.finditer(text):
                given, last = m.group("first"), m.group("last")
                known = given.lower() in self.lexicon.first_names and last.lower() in self.lexicon.last_names
                before_zip = re.match(r"\s*,?\s*(?:in\s+|zip\s*(?:code)?\s*:?\s*)?\d{5}\b", text[m.end() :]) is not None
                if known or (
                    pattern is _CAPITALIZED_PAIR
                    and before_zip
                    and self._is_name_word(given, explicit=False, first=True)
                    and self._is_name_word(last, explicit=False, first=False)
                ):
                    value = {"first_name": _title(given), "last_name": _title(last)}
                    found.append(_Candidate("person_name", m.start(), m.end(), value, score=0.9))
        return found

    @staticmethod
    def _zips(text: str, names: list[_Candidate]) -> list[_Candidate]:
        found: list[_Candidate] = []
        name_ends = {n.end for n in names}
        for m in _FIVE_DIGITS.finditer(text):
            before = text[max(0, m.start() - 40) : m.start()]
            clause = re.split(r"[.;!?\n]", before)[-1]
            gap = re.search(r"[\s,]*$", before)
            after_name = gap is not None and (m.start() - len(gap.group(0))) in name_ends
            if _ZIP_CUE.search(clause) or after_name or _ZIP_BEFORE.search(before):
                found.append(_Candidate("zip", m.start(), m.end(), m.group(0)))
        return found


# ------------------------------------------------------------------------------------------------ helpers


def _resolve(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    """Non-overlapping candidates: longest first, then the more specific type, then the earlier one."""
    chosen: list[_Candidate] = []
    taken: list[tuple[int, int]] = []
    ranked = sorted(candidates, key=lambda c: (-(c.end - c.start), -_PRIORITY[c.type], -c.score, c.start))
    for candidate in ranked:
        if candidate.end <= candidate.start:
            continue
        if any(candidate.start < end and start < candidate.end for start, end in taken):
            continue
        chosen.append(candidate)
        taken.append((candidate.start, candidate.end))
    return sorted(chosen, key=lambda c: (c.start, c.end))


def _sense_rank(sense: OptionSense, phrase: Phrase) -> tuple[int, int, str]:
    """Prefer the key the phrase names, then a color, then the value spelled as the phrase."""
    names_key = any(part in phrase for part in sense.key.lower().split())
    return (0 if names_key else 1, 0 if sense.key == "color" else 1, sense.key)


def _followed_by_product(end: int, after: str, product_starts: list[int]) -> bool:
    """The number is followed, within two words, by a product name ("2 blue water bottles")."""
    following = [start for start in product_starts if start >= end]
    if not following:
        return False
    gap = after[: following[0] - end]
    return re.fullmatch(r"(?:\s+[^\W\d_][\w'-]*){0,2}\s+", gap) is not None


def _bare_price_ranges(text: str) -> list[_Candidate]:
    """ "under 50", "between 100 and 200" without a currency sign, in a message that talks about prices."""
    found: list[_Candidate] = []
    for m in _BARE_PRICE.finditer(text):
        cue, number = " ".join(m.group("cue").lower().split()), to_amount(m.group("n"))
        if cue == "between":
            rest = re.match(r"\s*(?:and|-|to)\s*\$?(\d+(?:\.\d{1,2})?)\b", text[m.end() :], re.IGNORECASE)
            if rest is not None:
                other = to_amount(rest.group(1))
                bounds = {"min": min(number, other), "max": max(number, other)}
                found.append(_Candidate("price_range", m.start(), m.end() + rest.end(), bounds, score=0.8))
            continue
        bound = "min" if cue in _MIN_WORDS else "max"
        found.append(
            _Candidate("price_range", m.start(), m.end(), {"min": None, "max": None, bound: number}, score=0.8)
        )
    return found


def _address_tail(text: str, start: int) -> dict[str, str]:
    """Unit, city, state, zip and country after a street line, and where they end (``end``)."""
    rest = text[start : start + 120]
    stop = re.search(r"[;!?\n]|\.\s+[A-Z]|\.\s*$", rest)
    if stop is not None:
        rest = rest[: stop.start()]
    parts: dict[str, str] = {}
    position = start
    for piece in re.finditer(r"[^,]+", rest):
        segment = piece.group(0)
        stripped = segment.strip()
        if not stripped:
            break
        seg_start = start + piece.start() + segment.index(stripped)
        unit = _UNIT.match(stripped) if not parts else None
        if unit is not None:
            parts["address2"] = " ".join(unit.group(0).split())
            position = seg_start + unit.end()
            remainder = stripped[unit.end() :]
            if not remainder.strip():
                continue
            seg_start += unit.end() + len(remainder) - len(remainder.lstrip())
            stripped = remainder.strip()
        pattern = _STATE_ZIP if "city" in parts else _PLACE
        place = pattern.match(stripped) or pattern.match(_longest_place_prefix(stripped))
        if place is None or not any(place.group(g) for g in ("city", "state", "zip", "country", "country_first")):
            break
        city, state, zip_code = place.group("city"), place.group("state"), place.group("zip")
        if city and (city.split()[0].lower() in _ADDRESS_STOPWORDS or "city" in parts):
            break
        if city:
            parts["city"] = " ".join(city.split())
            if not state and city.lower() in _STATE_BY_NAME:
                parts["state"] = _STATE_BY_NAME[city.lower()]
        if state:
            parts["state"] = _state_abbr(state)
        if zip_code:
            parts["zip"] = zip_code
        position = seg_start + place.end()
        if place.end() < len(stripped) or zip_code:
            break
    parts["end"] = str(position)
    return parts


def _state_abbr(state: str) -> str:
    return state.upper() if state.upper() in _STATES else _STATE_BY_NAME[" ".join(state.lower().split())]


def _longest_place_prefix(segment: str) -> str:
    """The start of a segment up to its zip code ("Springfield IL 62704 and hurry" -> "Springfield IL 62704")."""
    m = re.match(r"^(.*?\b\d{5}(?:-\d{4})?)\b", segment)
    return m.group(1) if m else segment


def _brand(text: str) -> str:
    lowered = " ".join(text.lower().split())
    return {"master card": "mastercard", "american express": "amex"}.get(lowered, lowered.replace(" ", ""))


def _title(word: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in word.replace("’", "'").split("-"))
