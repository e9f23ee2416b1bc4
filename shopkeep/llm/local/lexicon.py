"""The shop's words for the entity extractor: product types and their aliases, product names, option values with
their keys and synonyms, brands and tags (as known words), and customer first and last names.

Built from whatever catalog the store holds (``from_catalog``; ``vocabulary.StoreLexicon`` rebuilds it when the
store's catalog changes), read the way catalog search reads it: products are grouped into types by
``retrieval.query.product_type_names`` (a product's own type, else its name, as search groups them), and the
curated vocabulary under ``data/catalog`` adds aliases and option synonyms where a shop's types and options have
them. In the demo every product is its own type ("T-Shirt"); in a shop of its own a type ("Shirts") names all its
products ("Linen Shirt", "Oxford Shirt") and each product's own name names it alone. The customers' names are only
a hint for recognising names: a customer who is not in the data is still recognised by the cue words. Phrases are
compared as canonical tokens (``canonical_tokens``): case, hyphens, plurals of units and spellings ("gray"/"grey",
"16 GB"/"16GB", "1.5 liters"/"1.5L") do not matter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shopkeep.domain import Product

# The retrieval package owns the curated catalog vocabulary and its canonical tokens; the NLU must read products
# and options exactly as catalog search does, so it shares them rather than keeping a second copy.
from shopkeep.retrieval._terms import CatalogTerms, load_catalog_terms
from shopkeep.retrieval._text import NUMBER, canonical_tokens, word_set
from shopkeep.retrieval.query import product_type_names

Phrase = tuple[str, ...]

MAX_PHRASE_TOKENS = 6
MAX_NAMED = 12
"""How many products a type phrase lists (the first is the entity's value, the others its alternatives):
a type of a large catalog has thousands, and a customer who names only the type is searching, not pointing."""

# Extra product names customers use in chat, on top of data/catalog/aliases.yaml.
_CHAT_ALIASES: dict[str, tuple[str, ...]] = {
    "Vacuum Cleaner": ("cleaner", "robot vacuum", "hoover"),
    "Headphones": ("headset",),
    "Wireless Earbuds": ("wireless earbuds", "earbud"),
    "Bicycle": ("bicycles", "bikes"),
    "Jigsaw Puzzle": ("jigsaw puzzles", "puzzles"),
    "Smart Thermostat": ("thermostats",),
    "Mechanical Keyboard": ("keyboards",),
}

# Bare option values that are everyday words: read only when a product they belong to is in view, or next to
# their key ("medium size", "high ventilation"), never on their own ("a large order", "a light question").
GENERIC_VALUE_WORDS = word_set("""
    small medium large portable high low light dark basic professional pro full half standard art custom plain
    fresh men man male women woman female mens womens ladies manual automatic auto road mountain electric gas
    digital analog analogue timer battery fixed adjustable camera laptop hydration hard soft easy easiest hardest
    difficult advanced expert beginner beginners intermediate animals animal wildlife fantasy landscape
    landscapes scenery graphic woody oriental unisex drip capsule capsules pod pods upright canister induction
    carbon ionic optical laser daylight warm rotisserie cordless charcoal bagged bagless quiet silent bright dim
    glass plastic wood wooden rubber fabric mesh metal steel stainless echo nest google apple siri robot robovac
    click cable corded lan plug ac cellular qi sd cf poly programmable grinder wired wireless none
    display screen memory power back arms zip stove long tall thick wide view band strap
    """)


@dataclass(frozen=True, slots=True)
class OptionSense:
    """One meaning of an option phrase: products of type ``product`` have option ``key`` = ``value``."""

    product: str
    """The product type (in the demo, the product's name: each product is its own type)."""
    key: str
    value: str
    explicit: bool
    """The phrase names the key too, or is specific enough to stand alone."""


@dataclass
class ShopLexicon:
    """Phrase tables for products and options, plus name vocabularies. Build with ``from_catalog``."""

    product_names: list[str]
    product_phrases: dict[Phrase, list[str]] = field(default_factory=dict)
    """Phrase -> the product names it names (at most ``MAX_NAMED``: a type's first products)."""
    option_phrases: dict[Phrase, list[OptionSense]] = field(default_factory=dict)
    product_options: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Product type -> option key -> values."""
    type_of: dict[str, str] = field(default_factory=dict)
    """Product name -> its product type."""
    first_names: frozenset[str] = frozenset()
    last_names: frozenset[str] = frozenset()
    extra_words: frozenset[str] = frozenset()
    """Words of the shop's brands and tags: known to the spelling normalizer, though they name no product by
    themselves (a brand is often the shop's own name, and a question about the shop is not about a product)."""

    def product_type(self, name: str) -> str:
        """The type of a product name (a name the catalog does not have is its own type)."""
        return self.type_of.get(name, name)

    @property
    def vocabulary(self) -> set[str]:
        """Every alphabetic token of every product and option phrase."""
        words: set[str] = set()
        for phrase in (*self.product_phrases, *self.option_phrases):
            words.update(token for token in phrase if token.isalpha())
        return words

    def words(self) -> list[str]:
        """Shop words for the spelling normalizer: phrase tokens and names (lower case)."""
        return sorted(self.vocabulary | self.first_names | self.last_names | self.extra_words)

    @classmethod
    def from_catalog(
        cls,
        products: Sequence[Product],
        names: Iterable[tuple[str, str]] = (),
        *,
        terms: CatalogTerms | None = None,
    ) -> ShopLexicon:
        """The lexicon of a catalog; ``names`` are (first, last) pairs of known customers."""
        terms = terms if terms is not None else load_catalog_terms()
        lexicon = cls(product_names=[])
        type_names = product_type_names(products, terms=terms)
        by_type: dict[str, list[str]] = {}
        words: set[str] = set()
        for product in products:
            name, kind = product.name, type_names[product.product_id]
            if name not in lexicon.type_of:
                lexicon.product_names.append(name)
                lexicon.type_of[name] = kind
                by_type.setdefault(kind, []).append(name)
            words.update(product.tags)
            if product.brand:
                words.add(product.brand)
            by_key = lexicon.product_options.setdefault(kind, {})
            for variant in product.variants.values():
                for key, value in variant.options.items():
                    found = by_key.setdefault(key, [])
                    if value not in found:
                        found.append(value)
        for kind, members in by_type.items():
            extra = terms.products[kind].aliases if kind in terms.products else []
            for alias in (kind, *extra, *_CHAT_ALIASES.get(kind, ())):
                lexicon._name(alias, members)
        for name in lexicon.product_names:
            lexicon._name(name, [name])
        for kind, by_key in lexicon.product_options.items():
            for key, values in by_key.items():
                heads = _heads(key, terms)
                for value in values:
                    for phrase, explicit in _value_phrases(key, value, heads, terms):
                        senses = lexicon.option_phrases.setdefault(phrase, [])
                        if not any(s.product == kind and s.key == key and s.value == value for s in senses):
                            senses.append(OptionSense(kind, key, value, explicit))
        pairs = list(names)
        lexicon.first_names = frozenset(first.lower() for first, _ in pairs if first)
        lexicon.last_names = frozenset(last.lower() for _, last in pairs if last)
        lexicon.extra_words = frozenset(token for text in words for token in canonical_tokens(text) if token.isalpha())
        return lexicon

    def _name(self, text: str, members: list[str]) -> None:
        """Let ``text`` (and its plural) name ``members``, after the products it names already."""
        phrase = canonical_tokens(text)
        for form in (phrase, _plural(phrase)):
            if not form:
                continue
            named = self.product_phrases.setdefault(form, [])
            for name in members:
                if len(named) >= MAX_NAMED:
                    break
                if name not in named:
                    named.append(name)

    @classmethod
    def from_tau2_db(cls, path: Path, *, terms: CatalogTerms | None = None) -> ShopLexicon:
        """The lexicon of a τ² ``db.json``: its products and its users' names (orders are not read)."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        products = [Product.model_validate(p) for p in raw["products"].values()]
        names = [(u["name"]["first_name"], u["name"]["last_name"]) for u in raw["users"].values()]
        return cls.from_catalog(products, names, terms=terms)


def _plural(phrase: Phrase) -> Phrase:
    if not phrase:
        return phrase
    last = phrase[-1]
    if not last.isalpha() or len(last) < 3 or last.endswith("ss"):
        return phrase
    if last.endswith("s"):
        return (*phrase[:-1], last[:-1]) if not last.endswith(("ss", "us")) else phrase
    if last.endswith(("x", "ch", "sh")):
        return (*phrase[:-1], last + "es")
    if last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        return (*phrase[:-1], last[:-1] + "ies")
    return (*phrase[:-1], last + "s")


_GENERIC_KEY_WORDS = word_set(
    "type material color size level count source settings compatibility life range family temperature mechanism "
    "tone height"
)


def _heads(key: str, terms: CatalogTerms) -> list[Phrase]:
    """Words naming an option key: the key, its distinctive part ("lens color" -> "lens"), curated extras."""
    words = canonical_tokens(key)
    heads = {words} if words else set()
    if len(words) > 1 and words[-1] in _GENERIC_KEY_WORDS:
        heads.add(words[:-1])
    heads.update(canonical_tokens(extra) for extra in terms.heads.get(key, []))
    heads.update(_plural(head) for head in list(heads))
    return sorted(head for head in heads if head)


def _standalone(phrase: Phrase) -> bool:
    """Whether a bare value phrase may be read without its key or its product in view."""
    if all(NUMBER.fullmatch(token) for token in phrase):
        return False
    if len(phrase) == 2 and NUMBER.fullmatch(phrase[0]) and phrase[1] == "x":
        return False  # "3x" is a quantity unless a camera's zoom is in view
    if len(phrase) == 1 and (len(phrase[0]) <= 2 or phrase[0] in GENERIC_VALUE_WORDS):
        return False
    return not all(token in GENERIC_VALUE_WORDS for token in phrase)


def _value_phrases(key: str, value: str, heads: list[Phrase], terms: CatalogTerms) -> list[tuple[Phrase, bool]]:
    """Every phrase naming ``key: value``, each with whether it can stand alone (see ``_standalone``)."""
    synonyms = [canonical_tokens(text) for text in terms.values.get(key, {}).get(value, [])]
    key_words = canonical_tokens(key)
    lowered = value.lower()
    phrases: list[tuple[Phrase, bool]] = []
    if lowered == "yes":
        phrases.append((key_words, True))
        phrases.extend((s, _standalone(s)) for s in synonyms)
    elif lowered == "no":
        phrases.extend(((word, *key_words), True) for word in ("no", "not", "non", "without"))
        phrases.extend((s, True) for s in synonyms)
    elif lowered == "none":
        for head in heads:
            phrases.extend([(("no", *head), True), (("without", *head), True)])
        phrases.extend((s, True) for s in synonyms)
    else:
        own = canonical_tokens(value)
        for form in (own, *synonyms):
            if form:
                phrases.append((form, _standalone(form)))
                for head in heads:
                    phrases.extend([((*form, *head), True), ((*head, *form), True)])
    return [(p, explicit) for p, explicit in phrases if 0 < len(p) <= MAX_PHRASE_TOKENS]
