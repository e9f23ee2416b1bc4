"""Search documents for products and variants, written only from catalog data.

Each document states the product's name and other names (``data/catalog/aliases.yaml``), what it is for (only
uses true of the variants described), every option with every value and the words customers use for them
(``data/catalog/options.yaml``), the price and the stock. A shop's own catalog adds what its products say about
themselves: type, brand, tags and (in the product's document) the start of its description. Nothing is invented:
no adjective that the data does not say. The retrieval engine embeds and indexes these texts; the query parser
reads the same vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from shopkeep.domain import Product, Variant
from shopkeep.retrieval._terms import CatalogTerms, ProductTerms, load_catalog_terms
from shopkeep.retrieval._text import canonical_tokens, option_values

# Key words that only say what kind of option it is: "lens color" reads as "green lens".
_KIND_WORDS = frozenset({"type", "material", "color", "family"})


def _price(value: Decimal) -> str:
    return f"${value:,.2f}"


def _positive(key: str) -> str:
    """What a "yes" of a yes/no key is called: "waterproof", "water resistant"."""
    return key[: -len("resistance")] + "resistant" if key.endswith("resistance") else key


def option_phrase(key: str, value: str) -> str:
    """One option in plain words: "clicky switch", "no backlight", "waterproof", "32GB ram", "for men"."""
    lowered = value.lower()
    if lowered == "yes":
        return _positive(key)
    if lowered in ("no", "not resistant"):
        return f"not {_positive(key)}"
    if lowered == "none":
        return f"no {key}"
    if key == "gender":
        return f"for {value}"
    if key == "size" and "size" not in lowered:
        return f"size {value}"
    if key == "features":
        return value
    key_words = canonical_tokens(key)
    if set(key_words) & set(canonical_tokens(value)):
        return value
    if len(key_words) > 1 and key_words[-1] in _KIND_WORDS:
        return f"{value} {' '.join(key.split()[:-1])}"
    return f"{value} {key}"


def describe_options(options: dict[str, str]) -> str:
    """A variant's options in plain words, in catalog order: "clicky switch, no backlight, full size"."""
    return ", ".join(option_phrase(key, value) for key, value in options.items())


def _with_synonyms(terms: CatalogTerms, key: str, value: str) -> str:
    synonyms = terms.values.get(key, {}).get(value, [])
    return f"{value} ({', '.join(synonyms)})" if synonyms else value


def _product_terms(terms: CatalogTerms, product: Product) -> ProductTerms:
    return terms.products.get(product.name) or ProductTerms()


DESCRIPTION_CHARS = 600
"""The start of a description that goes into a product's document (embedding models read a few hundred words)."""


def _type_words(product: Product, product_terms: ProductTerms) -> str:
    words = [
        product.name.lower(),
        *([product.product_type.lower()] if product.product_type else []),
        *product_terms.aliases,
    ]
    return ", ".join(dict.fromkeys(words))


def _shop_lines(product: Product) -> list[str]:
    """What a shop's own catalog says of a product beyond its options: brand, tags (none for the demo's)."""
    lines = []
    if product.brand:
        lines.append(f"Brand: {product.brand}.")
    if product.tags:
        lines.append(f"Tags: {', '.join(product.tags)}.")
    return lines


def _description(product: Product) -> list[str]:
    if not product.description:
        return []
    text = " ".join(product.description.split())
    if len(text) > DESCRIPTION_CHARS:
        cut = text.rfind(" ", 0, DESCRIPTION_CHARS)
        text = text[: cut if cut > 0 else DESCRIPTION_CHARS] + " ..."
    return [text]


def _uses(product_terms: ProductTerms, variants: Iterable[Variant]) -> list[str]:
    options = [variant.options for variant in variants]
    return [use.text for use in product_terms.uses if any(use.applies_to(option) for option in options)]


def product_document(product: Product, *, terms: CatalogTerms | None = None) -> str:
    """The searchable description of a product: names, uses, every option value, price range, stock."""
    terms = terms if terms is not None else load_catalog_terms()
    product_terms = _product_terms(terms, product)
    variants = list(product.variants.values())
    lines = [f"{product.name} ({_type_words(product, product_terms)}).", *_description(product), *_shop_lines(product)]
    uses = _uses(product_terms, variants)
    if uses:
        lines.append(f"For: {'; '.join(uses)}.")
    options = option_values(variant.options for variant in variants)
    if options:
        listed = "; ".join(
            f"{key}: {', '.join(_with_synonyms(terms, key, value) for value in values)}"
            for key, values in options.items()
        )
        lines.append(f"Options: {listed}.")
    if variants:
        low = min(variant.price for variant in variants)
        high = max(variant.price for variant in variants)
        lines.append(f"Price: {_price(low)}." if low == high else f"Price: {_price(low)} to {_price(high)}.")
        in_stock = sum(1 for variant in variants if variant.available)
        lines.append(f"In stock: {in_stock} of {len(variants)} variants.")
    return "\n".join(lines)


def variant_document(product: Product, variant: Variant, *, terms: CatalogTerms | None = None) -> str:
    """The searchable description of one variant: names, options as "key: value" and in words, price, stock."""
    terms = terms if terms is not None else load_catalog_terms()
    product_terms = _product_terms(terms, product)
    lines = [f"{product.name} ({_type_words(product, product_terms)})"]
    if variant.options:
        lines[0] += f": {describe_options(variant.options)}."
        lines.append(
            "; ".join(f"{key}: {_with_synonyms(terms, key, value)}" for key, value in variant.options.items()) + "."
        )
    else:
        lines[0] += "."
    lines += _shop_lines(product)
    uses = _uses(product_terms, [variant])
    if uses:
        lines.append(f"For: {'; '.join(uses)}.")
    stock = "In stock" if variant.available else "Out of stock"
    lines.append(f"Price: {_price(variant.price)}. {stock}.")
    return "\n".join(lines)
