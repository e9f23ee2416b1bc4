"""Variant resolution: which item of a product a customer means ("the same keyboard but clicky").

``resolve_variant`` reads a description of the wanted options against one product, optionally relative to the
variant the customer has now (``base``, for exchanges and modifications), and ranks the product's variants. What
the description names is required; everything else the base has is kept where possible. Besides option values
it understands "same size", "don't care about the color", comparisons with the base ("one size smaller", "less
bright", "1000 more pieces", "cheaper") and extremes ("the maximum zoom", "the cheapest"). The result says
whether exactly one in-stock variant fits, several do (and what to ask), the fitting ones are out of stock, or
none fits (and which requested value the product does not have).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from pydantic import Field

from shopkeep.domain import Amount, Product, Variant
from shopkeep.domain._base import Frozen
from shopkeep.domain.money import format_money
from shopkeep.retrieval._text import option_values, ranked_values, value_rank
from shopkeep.retrieval.documents import describe_options, option_phrase
from shopkeep.retrieval.query import OptionConstraint, ParsedQuery, QueryParser

MAX_MATCHES = 10
CENT = Decimal("0.01")

Status = Literal["exact", "ambiguous", "unavailable", "no_match"]


class VariantMatch(Frozen):
    """One variant, scored against the description."""

    item_id: str
    options: dict[str, str]
    price: Amount
    available: bool
    score: float
    """0..1: the share of requested options (and price limits) this variant satisfies."""
    unmet: dict[str, str] = Field(default_factory=dict)
    """Requested key -> the requested value this variant does not have."""


class VariantResolution(Frozen):
    """Which variant the description means, how sure that is, and what to tell or ask the customer."""

    product_id: str
    status: Status
    matches: list[VariantMatch]
    """Best first: most requirements met, then in stock, then closest to the base (or by price when asked)."""
    open_options: dict[str, list[str]] = Field(default_factory=dict)
    """Option key -> the values still possible among the best matches (what to ask about)."""
    message: str


# what a description can say beyond option values ------------------------------------------------------------

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}
_STEP = re.compile(
    r"\b(?P<n>a|an|one|two|three|\d)\s+sizes?\s+(?P<dir>smaller|bigger|larger|up|down)\b"
    r"|\bsize\s+(?P<dir2>up|down)\b",
)
_DELTA = re.compile(
    r"\b(?P<n>\d[\d,]*)\s+(?P<dir>more|fewer|less|extra)\s+(?P<what>[a-z]+)\b"
    r"|\b(?P<n2>\d[\d,]*)\s+(?P<what2>[a-z]+)\s+(?P<dir2>more|fewer|less)\b",
)
_COMPARATIVE = re.compile(
    r"\b(?:(?:slightly|a\s+bit|a\s+little|much)\s+)?"
    r"(?P<dir>bigger|larger|smaller|longer|shorter|taller|brighter|dimmer|heavier|thicker|thinner|"
    r"higher|lower|more|less|fewer)\b(?:\s+(?P<what>[a-z][a-z-]*(?:\s+[a-z][a-z-]*)?))?",
)
_EXTREME = re.compile(
    r"\b(?P<sup>max(?:imum)?|highest|largest|biggest|most|longest|tallest|brightest|greatest|"
    r"min(?:imum)?|lowest|smallest|fewest|least|shortest|dimmest)\b(?:\s+(?P<what>[a-z][a-z-]*(?:\s+[a-z][a-z-]*)?))?",
)
_PRICE_COMPARATIVE = re.compile(
    r"\b(?:(?:slightly|a\s+bit|a\s+little|much)\s+)?(?P<down>cheaper|less\s+expensive|lower[\s-]+price[d]?)\b"
    r"|\b(?:(?:slightly|a\s+bit|a\s+little|much)\s+)?(?P<up>pricier|more\s+expensive|higher[\s-]+price[d]?)\b",
)
_SAME = re.compile(r"\b(?:same|keep(?:ing)?(?:\s+(?:the|its|my))?|unchanged)\s+")
_DONT_CARE = re.compile(
    r"\b(?:(?:do\s+not|don'?t|doesn'?t)\s+care\s+(?:about|for|if|whether|what)|regardless\s+of|whatever|any)\s+"
)
_DOESNT_MATTER = re.compile(r"\b(?P<what>[a-z]+(?:\s+[a-z]+)?)\s+(?:doesn'?t|does\s+not)\s+matter\b")
_CONNECTORS = frozenset({"and", "the", "its", "my", "as", "before", "or", "not", "of", "it", "is", "was", ","})

_UPWARD_EXTREMES = frozenset(
    {"max", "maximum", "highest", "largest", "biggest", "most", "longest", "tallest", "brightest", "greatest"}
)
_UP = frozenset({"bigger", "larger", "longer", "taller", "brighter", "heavier", "thicker", "higher", "more", "up"})
_ADJECTIVE_KEYS = {"bright": "brightness", "thick": "thickness", "heavy": "weight range", "long": "length"}
# Which option a bare comparison is about ("a bigger one" is about size, or capacity if there is no size).
_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "size": ("size", "capacity", "frame size", "screen size", "room size", "kit size", "piece count", "diameter"),
    "length": ("length", "height", "size"),
    "height": ("height", "backrest height", "size"),
    "brightness": ("brightness",),
    "weight": ("weight range",),
    "thickness": ("thickness",),
}
_DIMENSION_OF = {
    "bigger": "size",
    "larger": "size",
    "smaller": "size",
    "up": "size",
    "down": "size",
    "longer": "length",
    "shorter": "length",
    "taller": "height",
    "brighter": "brightness",
    "dimmer": "brightness",
    "heavier": "weight",
    "thicker": "thickness",
    "thinner": "thickness",
    "largest": "size",
    "biggest": "size",
    "smallest": "size",
    "longest": "length",
    "shortest": "length",
    "tallest": "height",
    "brightest": "brightness",
    "dimmest": "brightness",
}


@dataclass(slots=True)
class _Request:
    """Everything the description asks for, relative to ``base``."""

    constraints: list[OptionConstraint] = field(default_factory=list)
    preference: dict[str, dict[str, int]] = field(default_factory=dict)
    """Key -> value -> rank among the allowed values of a comparison (0 = nearest to the base)."""
    free_keys: set[str] = field(default_factory=set)
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    sort: Literal["relevance", "price_asc", "price_desc"] = "relevance"
    notes: list[str] = field(default_factory=list)
    currency: str = "USD"
    """What the answer writes prices in (the shop's currency)."""


class _Reader:
    """Reads one description against one product: the comparison phrases here, option values via the parser."""

    def __init__(self, product: Product, parser: QueryParser, base: Variant | None, currency: str) -> None:
        self.product = product
        self.parser = parser
        self.base = base
        self.values = option_values(variant.options for variant in product.variants.values())
        self.request = _Request(currency=currency)

    def read(self, description: str) -> _Request:
        text = list(description.lower())
        for pattern, handler in (
            (_PRICE_COMPARATIVE, self._price),
            (_STEP, self._step),
            (_DELTA, self._delta),
            (_EXTREME, self._extreme),
            (_COMPARATIVE, self._comparative),
        ):
            for match in pattern.finditer("".join(text)):
                if handler(match):
                    text[match.start() : match.end()] = " " * (match.end() - match.start())
        remaining = self._keys_phrases("".join(text))
        parsed = self.parser.parse(remaining, product=self.product)
        self._take(parsed)
        return self.request

    # comparisons ------------------------------------------------------------------------------------------------

    def _scale(self, key: str) -> list[str] | None:
        return ranked_values(self.values.get(key, []))

    def _key_for(self, what: str | None, dimension: str | None) -> str | None:
        """The option a comparison is about: the key its words name, else the first key of its dimension."""
        if what:
            first = what.split()[0]
            if first in _ADJECTIVE_KEYS and _ADJECTIVE_KEYS[first] in self.values:
                return _ADJECTIVE_KEYS[first]
            keys = self.parser.option_keys(self.product, what)
            if keys:
                return keys[0]
        if dimension is not None:
            return next((key for key in _DIMENSIONS[dimension] if key in self.values), None)
        return None

    def _base_position(self, key: str, scale: list[str], phrase: str) -> int | None:
        base_value = self.base.options.get(key) if self.base is not None else None
        if base_value is None or base_value not in scale:
            self.request.notes.append(f"'{phrase}' needs the item you have now to compare with, so it was ignored")
            return None
        return scale.index(base_value)

    def _require(self, key: str, values: list[str], preference: list[str] | None = None) -> None:
        self.request.constraints.append(OptionConstraint(key=key, values=values))
        if preference is not None:
            self.request.preference[key] = {value: rank for rank, value in enumerate(preference)}

    def _step(self, match: re.Match[str]) -> bool:
        direction = match.group("dir") or match.group("dir2")
        count = match.group("n")
        steps = 1 if count is None else _NUMBERS.get(count) or int(count)
        key = self._key_for(None, "size")
        scale = self._scale(key) if key else None
        if key is None or scale is None:
            return False
        position = self._base_position(key, scale, match.group().strip())
        if position is None:
            return True
        target = position + (steps if direction in _UP else -steps)
        if not 0 <= target < len(scale):
            self.request.notes.append(
                f"there is no {key} {'above' if target >= len(scale) else 'below'} {scale[position]}"
            )
            self._require(key, [])
            return True
        self._require(key, [scale[target]])
        return True

    def _delta(self, match: re.Match[str]) -> bool:
        amount = Decimal((match.group("n") or match.group("n2")).replace(",", ""))
        what = match.group("what") or match.group("what2")
        direction = match.group("dir") or match.group("dir2")
        key = self._key_for(what, None)
        scale = self._scale(key) if key else None
        if key is None or scale is None:
            return False
        position = self._base_position(key, scale, match.group().strip())
        if position is None:
            return True
        base_rank = value_rank(scale[position]) or 0.0
        wanted = base_rank + float(amount) * (1 if direction in ("more", "extra") else -1)
        found = [value for value in scale if value_rank(value) == wanted]
        if not found:
            self.request.notes.append(f"there is no {option_phrase(key, f'{wanted:g}')} option")
        self._require(key, found)
        return True

    def _comparative(self, match: re.Match[str]) -> bool:
        direction = match.group("dir")
        what = match.group("what")
        dimension = _DIMENSION_OF.get(direction)
        key = self._key_for(what, dimension)
        if key is None and what is not None and dimension is not None:
            key = self._key_for(None, dimension)
        scale = self._scale(key) if key else None
        if key is None or scale is None:
            return False
        position = self._base_position(key, scale, match.group().strip())
        if position is None:
            return True
        beyond = scale[position + 1 :] if direction in _UP else list(reversed(scale[:position]))
        if not beyond:
            self.request.notes.append(f"there is no {key} {'above' if direction in _UP else 'below'} {scale[position]}")
        self._require(key, beyond, preference=beyond)
        return True

    def _extreme(self, match: re.Match[str]) -> bool:
        word = match.group("sup")
        key = self._key_for(match.group("what"), _DIMENSION_OF.get(word))
        scale = self._scale(key) if key else None
        if key is None or scale is None:
            return False
        in_stock = [v.options[key] for v in self.product.variants.values() if v.available and key in v.options]
        candidates = [value for value in scale if value in in_stock] or scale
        upward = word in _UPWARD_EXTREMES
        self._require(key, [candidates[-1] if upward else candidates[0]])
        return True

    def _price(self, match: re.Match[str]) -> bool:
        if self.base is None:
            self.request.notes.append(f"'{match.group().strip()}' needs the item you have now to compare with")
            return True
        if match.group("down"):
            self.request.max_price = self.base.price - CENT
        else:
            self.request.min_price = self.base.price + CENT
        return True

    # "same size", "don't care about the color" -----------------------------------------------------------------

    def _keys_phrases(self, text: str) -> str:
        """Blank "same X and Y" and "don't care about X" phrases, recording the keys they name."""
        chars = list(text)
        for pattern, keep in ((_SAME, True), (_DONT_CARE, False)):
            for match in pattern.finditer(text):
                end, keys = self._key_run(text, match.end())
                if not keys:
                    continue
                chars[match.start() : end] = " " * (end - match.start())
                for key in keys:
                    if keep:
                        self._keep(key)
                    else:
                        self.request.free_keys.add(key)
        for match in _DOESNT_MATTER.finditer(text):
            keys = self.parser.option_keys(self.product, match.group("what"))
            if keys:
                chars[match.start() : match.end()] = " " * (match.end() - match.start())
                self.request.free_keys.update(keys)
        return "".join(chars)

    def _key_run(self, text: str, start: int) -> tuple[int, list[str]]:
        """From ``start``, the words naming option keys, joined by "and", "the", commas: where they end, and keys."""
        words = list(re.finditer(r"[a-z0-9%-]+|,", text[start:]))
        keys: list[str] = []
        end = start
        index = 0
        while index < len(words):
            for size in (3, 2, 1):
                phrase = " ".join(word.group() for word in words[index : index + size])
                key = self.parser.option_key(self.product, phrase) if index + size <= len(words) else None
                if key is not None:
                    if key not in keys:
                        keys.append(key)
                    index += size
                    end = start + words[index - 1].end()
                    break
            else:
                if words[index].group() not in _CONNECTORS:
                    break
                index += 1
        return end, keys

    def _keep(self, key: str) -> None:
        if self.base is None or key not in self.base.options:
            self.request.notes.append(f"'same {key}' needs the item you have now, so it was ignored")
            return
        self._require(key, [self.base.options[key]])

    def _take(self, parsed: ParsedQuery) -> None:
        self.request.constraints.extend(parsed.options)
        self.request.notes.extend(parsed.notes)
        if parsed.min_price is not None:
            self.request.min_price = max(parsed.min_price, self.request.min_price or parsed.min_price)
        if parsed.max_price is not None:
            self.request.max_price = min(parsed.max_price, self.request.max_price or parsed.max_price)
        self.request.sort = parsed.sort


# ranking and status -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Scored:
    position: int
    variant: Variant
    met: int
    unmet: dict[str, str]
    closeness: int
    preference: int


def _constraint_key(constraint: OptionConstraint, values: dict[str, list[str]]) -> str:
    if constraint.key is not None:
        return constraint.key
    keys = [key for key, known in values.items() if any(value in known for value in constraint.values)]
    return " or ".join(keys) if keys else "option"


def _price_words(request: _Request) -> str:
    low, high = request.min_price, request.max_price
    if low is not None and high is not None:
        return f"{format_money(low, request.currency)} to {format_money(high, request.currency)}"
    if high is not None:
        return f"at most {format_money(high, request.currency)}"
    return f"at least {format_money(low, request.currency)}"


def _score(
    product: Product, request: _Request, base: Variant | None, values: dict[str, list[str]]
) -> tuple[list[_Scored], int]:
    constrained = {c.key for c in request.constraints if c.key is not None}
    soft = {
        key: value
        for key, value in (base.options.items() if base is not None else ())
        if key not in constrained and key not in request.free_keys
    }
    priced = request.min_price is not None or request.max_price is not None
    total = len(request.constraints) + (1 if priced else 0)
    scored: list[_Scored] = []
    for position, variant in enumerate(product.variants.values()):
        unmet: dict[str, str] = {}
        for constraint in request.constraints:
            if not constraint.accepts(variant.options):
                unmet[_constraint_key(constraint, values)] = constraint.describe() or "(none available)"
        if priced and not (
            (request.min_price is None or variant.price >= request.min_price)
            and (request.max_price is None or variant.price <= request.max_price)
        ):
            unmet["price"] = _price_words(request)
        preference = sum(
            ranks.get(variant.options.get(key, ""), len(ranks)) for key, ranks in request.preference.items()
        )
        closeness = sum(1 for key, value in soft.items() if variant.options.get(key) == value)
        scored.append(_Scored(position, variant, total - len(unmet), unmet, closeness, preference))
    return scored, total


def _tie_key(item: _Scored, sort: str) -> tuple[float, ...]:
    """What ranks a variant: requirements met, in stock, price (when asked), nearness of a comparison, closeness
    to the base. Variants equal on all of these are equally good answers."""
    price = float(item.variant.price)
    by_price = price if sort == "price_asc" else -price if sort == "price_desc" else 0.0
    return (-item.met, 0 if item.variant.available else 1, by_price, item.preference, -item.closeness)


def _rank_key(item: _Scored, sort: str) -> tuple[float, ...]:
    return (*_tie_key(item, sort), item.position)


def _describe(variant: Variant) -> str:
    return describe_options(variant.options)


def _ask(open_options: dict[str, list[str]]) -> str:
    text = "; and ".join(f"which {key}: {_listing(values)}" for key, values in open_options.items())
    return text[0].upper() + text[1:] + "?"


def resolve_variant(
    product: Product, description: str, parser: QueryParser, *, base: Variant | None = None, currency: str = "USD"
) -> VariantResolution:
    """Rank ``product``'s variants against ``description`` (relative to ``base``, the customer's current variant);
    the message writes prices in ``currency``."""
    if not product.variants:
        return VariantResolution(
            product_id=product.product_id, status="no_match", matches=[], message=f"{product.name} has no variants."
        )
    reader = _Reader(product, parser, base, currency)
    request = reader.read(description)
    values = reader.values
    scored, total = _score(product, request, base, values)
    ranked = sorted(scored, key=lambda item: _rank_key(item, request.sort))
    matches = [
        VariantMatch(
            item_id=item.variant.item_id,
            options=dict(item.variant.options),
            price=item.variant.price,
            available=item.variant.available,
            score=round(item.met / total, 4) if total else 1.0,
            unmet=item.unmet,
        )
        for item in ranked[:MAX_MATCHES]
    ]
    fitting = [item for item in ranked if item.met == total]
    in_stock = [item for item in fitting if item.variant.available]
    status: Status
    if not fitting:
        status, best = "no_match", [item for item in ranked if item.variant.available][:1]
    elif not in_stock:
        status, best = "unavailable", fitting[:1]
    else:
        top = _tie_key(in_stock[0], request.sort)
        best = [item for item in in_stock if _tie_key(item, request.sort) == top]
        status = "exact" if len(best) == 1 else "ambiguous"
    open_options = (
        {
            key: [value for value in values[key] if any(item.variant.options.get(key) == value for item in best)]
            for key in values
            if len({item.variant.options.get(key) for item in best}) > 1
        }
        if status == "ambiguous"
        else {}
    )
    message = _message(product, request, base, status, ranked, fitting, best, open_options, values)
    return VariantResolution(
        product_id=product.product_id, status=status, matches=matches, open_options=open_options, message=message
    )


def _wanted(constraint: OptionConstraint) -> str:
    if constraint.key is not None and len(constraint.values) == 1 and not constraint.negated:
        return option_phrase(constraint.key, constraint.values[0])
    return constraint.describe()


def _listing(values: list[str]) -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


def _message(
    product: Product,
    request: _Request,
    base: Variant | None,
    status: Status,
    ranked: list[_Scored],
    fitting: list[_Scored],
    best: list[_Scored],
    open_options: dict[str, list[str]],
    values: dict[str, list[str]],
) -> str:
    name = product.name

    def money(value: Decimal) -> str:
        return format_money(value, request.currency)

    notes = " ".join(note[0].upper() + note[1:] + "." for note in request.notes)
    wanted = ", ".join(_wanted(c) for c in request.constraints if c.values)
    available = [item for item in ranked if item.variant.available]
    if status == "no_match":
        missing = [
            f"{name}: no {c.key} {c.describe()}; the {c.key} options are {_listing(values[c.key])}."
            for c in request.constraints
            if not c.negated and c.values and c.key in values and not set(c.values) & set(values[c.key])
        ]
        text = " ".join(missing)
        if not text and wanted:
            priced = request.min_price is not None or request.max_price is not None
            text = f"No {name} has {wanted}" + (f" priced {_price_words(request)}." if priced else ".")
        if available:
            text += f" Closest in stock: {_describe(available[0].variant)} ({money(available[0].variant.price)})."
        return " ".join(part for part in (notes, text.strip()) if part)
    if status == "unavailable":
        options = _describe(fitting[0].variant) if len(fitting) == 1 else wanted
        text = f"The {name} with {options} is out of stock."
        if available:
            listed = "; ".join(f"{_describe(item.variant)} ({money(item.variant.price)})" for item in available[:3])
            text += f" In stock: {listed}."
        else:
            text += f" No {name} is in stock right now."
        return " ".join(part for part in (text, notes) if part)
    lead = ""
    if base is not None and request.sort == "relevance":
        ideal = [item for item in fitting if item.closeness == max(i.closeness for i in fitting)]
        if ideal and not ideal[0].variant.available and ideal[0].closeness > best[0].closeness:
            lead = f"The {name} with {_describe(ideal[0].variant)} is out of stock. "
    if status == "exact":
        chosen = best[0].variant
        text = f"{lead}{name} with {_describe(chosen)}: {money(chosen.price)}, in stock."
        if base is not None:
            kept = {c.key for c in request.constraints} | request.free_keys
            changed = [
                f"{key} {base.options[key]} -> {value}"
                for key, value in chosen.options.items()
                if key not in kept and base.options.get(key) not in (None, value)
            ]
            if changed:
                text += f" Compared with the current one, also changes: {'; '.join(changed)}."
        return " ".join(part for part in (text, notes) if part)
    return " ".join(part for part in (f"{lead}{_ask(open_options)}", notes) if part)
