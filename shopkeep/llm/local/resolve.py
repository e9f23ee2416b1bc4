"""Choosing the variant a customer describes ("same keyboard but clicky"), for exchanges and modifications.

Option values the customer names exactly ("clicky, none, full size", "backlight: none") are taken literally
first; everything else goes through the retrieval layer's variant resolution (synonyms, typos, comparisons).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shopkeep.domain import Product, Variant
from shopkeep.retrieval.query import QueryParser
from shopkeep.retrieval.variants import resolve_variant


@dataclass(frozen=True)
class Resolved:
    item_id: str | None
    message: str


def _named_values(product: Product, description: str) -> dict[str, str]:
    """Option values of this product that the description names word for word (the last mention of a key wins)."""
    keys_of: dict[str, set[str]] = {}
    for variant in product.variants.values():
        for key, value in variant.options.items():
            keys_of.setdefault(value.lower(), set()).add(key)
    found: list[tuple[int, str, str]] = []
    text = description.lower()
    for value, keys in keys_of.items():
        if len(keys) != 1:
            continue
        for match in re.finditer(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text):
            found.append((match.start(), next(iter(keys)), value))
    named: dict[str, str] = {}
    for _, key, value in sorted(found):
        named[key] = value
    return named


def _literal(product: Product, description: str, base: Variant | None) -> Variant | None:
    named = _named_values(product, description)
    if not named:
        return None
    fitting = [
        v
        for v in product.variants.values()
        if v.available and all(v.options.get(k, "").lower() == value for k, value in named.items())
    ]
    if not fitting:
        return None

    def kept(variant: Variant) -> int:
        return sum(1 for k, v in variant.options.items() if base is not None and base.options.get(k) == v)

    best = max(kept(v) for v in fitting)
    top = [v for v in fitting if kept(v) == best]
    return top[0] if len(top) == 1 else None


def literal_choice(product: Product, description: str, current_item_id: str) -> str | None:
    """The one available variant the option values the description names word for word pin down, if any."""
    found = _literal(product, description, product.variants.get(current_item_id))
    return found.item_id if found is not None else None


def resolve(product: Product, description: str, current_item_id: str, currency: str) -> Resolved:
    """The one available variant the description and the current item pin down, or what to ask instead (prices in
    ``currency``)."""
    base = product.variants.get(current_item_id)
    literal = _literal(product, description, base)
    if literal is not None:
        return Resolved(literal.item_id, "")
    resolution = resolve_variant(product, description, QueryParser([product]), base=base, currency=currency)
    if resolution.status == "exact":
        return Resolved(resolution.matches[0].item_id, resolution.message)
    return Resolved(None, resolution.message)
