"""Canonical tokens for catalog matching, and the natural order of option values.

Queries, product names, aliases and option values all go through ``canonical_tokens`` so that they compare
equal however they are written: case, hyphens and punctuation are dropped, numbers are split from their units
("16GB" -> ``16 gb``), units and spellings are unified ("inches" -> ``inch``, "gray" -> ``grey``) and volumes
are converted to millilitres ("1.5 liters" = "1.5L" = ``1500 ml``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

_INCH_MARK = re.compile(r"(\d)\s*(?:\"|″|”|“|'')")
_FOOT_MARK = re.compile(r"(\d)\s*(?:'|′|’)(?!\w)")
_POSSESSIVE = re.compile(r"(\w)['’]s\b")
_APOSTROPHE = re.compile(r"['’]")
_DIGIT_BOUNDARY = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+|%")

_SPELLINGS: dict[str, tuple[str, ...]] = {
    "gray": ("grey",),
    "colour": ("color",),
    "colours": ("colors",),
    "inches": ("inch",),
    "feet": ("ft",),
    "foot": ("ft",),
    "liter": ("l",),
    "liters": ("l",),
    "litre": ("l",),
    "litres": ("l",),
    "ltr": ("l",),
    "milliliter": ("ml",),
    "milliliters": ("ml",),
    "millilitre": ("ml",),
    "millilitres": ("ml",),
    "lb": ("lbs",),
    "pound": ("lbs",),
    "pounds": ("lbs",),
    "megapixel": ("mp",),
    "megapixels": ("mp",),
    "hour": ("hours",),
    "hr": ("hours",),
    "hrs": ("hours",),
    "degree": ("degrees",),
    "deg": ("degrees",),
    "millimeter": ("mm",),
    "millimeters": ("mm",),
    "millimetre": ("mm",),
    "millimetres": ("mm",),
    "watt": ("w",),
    "watts": ("w",),
    "percent": ("%",),
    "gig": ("gb",),
    "gigs": ("gb",),
    "gigabyte": ("gb",),
    "gigabytes": ("gb",),
    "terabyte": ("tb",),
    "terabytes": ("tb",),
    "wifi": ("wi", "fi"),
    "tshirt": ("t", "shirt"),
    "tshirts": ("t", "shirt"),
    "one": ("1",),
    "two": ("2",),
    "three": ("3",),
    "four": ("4",),
    "five": ("5",),
    "six": ("6",),
    "seven": ("7",),
    "eight": ("8",),
    "nine": ("9",),
    "ten": ("10",),
    "twelve": ("12",),
}

NUMBER = re.compile(r"\d+(?:\.\d+)?")


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``: long word lists read better as one string."""
    return frozenset(text.split())


def word_tokens(word: str) -> list[str]:
    """The canonical tokens of one whitespace-free word (possibly none, for punctuation or emoji)."""
    text = _INCH_MARK.sub(r"\1 inch ", word.lower().replace("°", " degrees "))
    text = _FOOT_MARK.sub(r"\1 ft ", text)
    text = _APOSTROPHE.sub("", _POSSESSIVE.sub(r"\1", text))
    text = _DIGIT_BOUNDARY.sub(" ", text)
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        tokens.extend(_SPELLINGS.get(token, (token,)))
    return tokens


def _number_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def convert_volumes(tokens: list[str]) -> None:
    """In place: every "<n> l" becomes "<n*1000> ml", so litres and millilitres compare equal."""
    for index in range(len(tokens) - 1):
        if tokens[index + 1] == "l" and NUMBER.fullmatch(tokens[index]):
            tokens[index] = _number_text(Decimal(tokens[index]) * 1000)
            tokens[index + 1] = "ml"


def canonical_tokens(text: str) -> tuple[str, ...]:
    """The canonical tokens of a phrase: what the catalog vocabulary and queries are compared on."""
    tokens = [token for word in text.split() for token in word_tokens(word)]
    convert_volumes(tokens)
    return tuple(tokens)


# The natural order of option values, for "one size smaller", "i7 or above", "the fewest pieces".
_ORDINALS: dict[str, float] = {
    "xs": 0,
    "s": 1,
    "m": 2,
    "l": 3,
    "xl": 4,
    "xxl": 5,
    "portable": 0.5,
    "small": 1,
    "medium": 2,
    "large": 3,
    "low": 1,
    "high": 3,
    "beginner": 1,
    "intermediate": 2,
    "expert": 3,
    "basic": 1,
    "professional": 2,
    "half": 50,
    "full": 100,
}
_RESOLUTIONS = {("2", "k"): 1440.0, ("4", "k"): 2160.0, ("5", "k"): 2880.0, ("8", "k"): 4320.0}
_UNIT_SCALE = {"tb": 1000.0}


def value_rank(value: str) -> float | None:
    """Where a catalog option value sits on its scale ("XL" > "L", "1TB SSD" > "512GB SSD"), or None if unordered."""
    tokens = canonical_tokens(value)
    if not tokens:
        return None
    resolution = _RESOLUTIONS.get((tokens[0], tokens[1]) if len(tokens) > 1 else ("", ""))
    if resolution is not None:
        return resolution
    if NUMBER.fullmatch(tokens[0]):
        try:
            number = float(Decimal(tokens[0]))
        except InvalidOperation:  # pragma: no cover - NUMBER only matches valid decimals
            return None
        unit = tokens[1] if len(tokens) > 1 else ""
        return number * _UNIT_SCALE.get(unit, 1.0)
    if tokens[0] == "i" and len(tokens) > 1 and NUMBER.fullmatch(tokens[1]):
        return float(tokens[1])
    for token in tokens:
        if token in _ORDINALS:
            return _ORDINALS[token]
    return None


def ranked_values(values: list[str]) -> list[str] | None:
    """``values`` in increasing order if every one of them has a distinct rank, else None."""
    ranks = [value_rank(value) for value in values]
    if any(rank is None for rank in ranks) or len(set(ranks)) != len(ranks):
        return None
    return [value for _, value in sorted(zip(ranks, values, strict=True), key=lambda pair: pair[0] or 0.0)]


def option_values(variant_options: Iterable[Mapping[str, str]]) -> dict[str, list[str]]:
    """Every option key of some variants with all its values, each key's values in natural order."""
    values: dict[str, list[str]] = {}
    for options in variant_options:
        for key, value in options.items():
            found = values.setdefault(key, [])
            if value not in found:
                found.append(value)
    return {key: ranked_values(found) or sorted(found) for key, found in values.items()}
