"""Query understanding for catalog search: a customer's words in, typed filters out.

``QueryParser`` reads a free-text query ("clicky keyboard with RGB under $250 in stock") into a ``ParsedQuery``:
the product types it names or clearly implies, option constraints in catalog values exactly as stored, a price
range, a sort order, a stock flag, the leftover text for lexical and vector search, and customer-safe notes about
what it ignored. It is pure, deterministic Python: the vocabulary (product names and aliases, option values and
their synonyms from ``data/catalog``) is built once from the catalog; parsing is dictionary look-ups over at most
six-token phrases, with typo tolerance (``rapidfuzz``) only for words the vocabulary does not know.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, PrivateAttr
from rapidfuzz import process
from rapidfuzz.distance import OSA

from shopkeep.domain import Amount, Product, Variant
from shopkeep.domain._base import Frozen
from shopkeep.retrieval._filters import extract_filters
from shopkeep.retrieval._terms import CatalogTerms, load_catalog_terms
from shopkeep.retrieval._text import (
    NUMBER,
    canonical_tokens,
    convert_volumes,
    option_values,
    ranked_values,
    value_rank,
    word_set,
    word_tokens,
)

MAX_QUERY_CHARS = 500
_MAX_PHRASE_TOKENS = 6
_CORRECTION_CACHE_SIZE = 10_000

Phrase = tuple[str, ...]


class OptionConstraint(Frozen):
    """One option filter: the variant's ``key`` option is one of ``values`` (or, ``negated``, is none of them)."""

    key: str | None
    """The catalog option key ("color"); None matches the values under any key (they live under several)."""
    values: list[str]
    """Allowed catalog values exactly as stored, OR-ed."""
    negated: bool = False
    """"not red", "without backlight"."""

    def accepts(self, options: Mapping[str, str]) -> bool:
        """Whether a variant with these options satisfies the constraint."""
        if self.key is None:
            found = any(value in self.values for value in options.values())
        else:
            value = options.get(self.key)
            found = value is not None and value in self.values
        return found != self.negated

    def describe(self) -> str:
        """The constraint in words: "clicky", "red or blue", "not RGB"."""
        values = self.values if len(self.values) < 2 else [*self.values[:-1], f"or {self.values[-1]}"]
        joined = (", " if len(values) > 2 else " ").join(values)
        return f"not {joined}" if self.negated else joined


class ParsedQuery(Frozen):
    """What a query asks for. Every filter is AND-ed; ``matches`` applies them all to one variant."""

    original: str
    text: str
    """The query without the phrases read as filters, for lexical and vector search; may be empty."""
    product_ids: list[str] = Field(default_factory=list)
    """Product types named or clearly implied; empty means any."""
    options: list[OptionConstraint] = Field(default_factory=list)
    min_price: Amount | None = None
    """Inclusive and cent-exact ("over $50" is 50.01)."""
    max_price: Amount | None = None
    """Inclusive and cent-exact ("under $50" is 49.99)."""
    sort: Literal["relevance", "price_asc", "price_desc"] = "relevance"
    in_stock_only: bool = False
    notes: list[str] = Field(default_factory=list)
    """Customer-safe explanations of what was ignored or invalid."""

    _id_set: tuple[list[str], frozenset[str]] | None = PrivateAttr(default=None)

    def _product_id_set(self) -> frozenset[str]:
        # Cached per list object, so a model_copy(update={"product_ids": ...}) never reads a stale set.
        cached = self._id_set
        if cached is None or cached[0] is not self.product_ids:
            cached = (self.product_ids, frozenset(self.product_ids))
            self._id_set = cached
        return cached[1]

    def matches(self, product: Product, variant: Variant) -> bool:
        """Whether this variant of this product passes every filter (type, options, price, stock)."""
        if self.product_ids and product.product_id not in self._product_id_set():
            return False
        if self.in_stock_only and not variant.available:
            return False
        if self.min_price is not None and variant.price < self.min_price:
            return False
        if self.max_price is not None and variant.price > self.max_price:
            return False
        return all(constraint.accepts(variant.options) for constraint in self.options)


# vocabulary ---------------------------------------------------------------------------------------------------

# Last words of multi-word option keys that do not name the option on their own ("lens color" -> "lens").
_GENERIC_KEY_WORDS = word_set(
    """
    type material color size level count source settings compatibility life range family temperature
    mechanism tone height
    """
)
# Values too common as plain words to be read without their key ("light" skin tone, not a light jacket).
_NEEDS_KEY = frozenset({("light",)})

_NEGATION_WORDS = word_set("not no non without except excluding never nothing avoid isnt arent dont")
_NEGATION_PAIRS = frozenset(
    {("instead", "of"), ("rather", "than"), ("other", "than"), ("anything", "but"), ("but", "not"), ("no", "more")}
)
_NEGATION_FILLERS = word_set("a an any the want like need in with have be that is it")
_AT_LEAST_BEFORE: tuple[Phrase, ...] = (("at", "least"), ("minimum",), ("min",), ("no", "less", "than"))
_AT_MOST_BEFORE: tuple[Phrase, ...] = (("at", "most"), ("up", "to"), ("no", "more", "than"), ("maximum",), ("max",))
_AT_LEAST_AFTER: tuple[Phrase, ...] = (
    *(("or", word) for word in ("more", "above", "higher", "better", "bigger", "larger", "up", "greater", "newer")),
    ("and", "up"),
    ("and", "above"),
    ("plus",),
)
_AT_MOST_AFTER: tuple[Phrase, ...] = (
    *(("or", word) for word in ("less", "fewer", "below", "lower", "smaller", "under")),
    ("and", "under"),
    ("and", "below"),
)
# A one-word product name right after these is a verb or not a request ("to watch my living room").
_NOT_A_PRODUCT_BEFORE = word_set("to i we you they can will")

# Words never corrected into catalog words ("house" is not a typo of "hose").
_COMMON_WORDS = word_set(
    """
    a about above after again against all also am an and any are around as at back bad be because been
    before being below best better between big bigger both but buy by can cheap color come could day
    days did do does doing done down during each easy even every few find fine first for from gift gifts
    give go good got great had has have he her here hers him his home house how i if in into is it its
    just keep kind know large larger last least less let like little long longer look looking lot love
    low lower made make many may me more most much must my need needs new next nice no nor not now of
    off old on once one only or other our out over own part people pick place please pretty put quite
    rather really right same see sell send set she should show size small smaller so some something
    still stuff such sure take than thank thanks that the their them then there these they thing things
    think this those through time to too try two under up upon us use used using very want wants was way
    we well went were what when where which while who why will wish with within without work works would
    year yes yet you your idea ideas present presents cool fun nicer brighter dimmer shorter taller
    heavier lighter thicker thinner cheaper pricier faster slower quieter louder softer harder older
    newer higher fewer warmer cooler larger biggest smallest highest lowest longest shortest fewest
    maximum minimum max min compatible works friend friends wife husband mom dad son daughter kid kids
    child children family office room rooms trip travel traveling weekend morning evening night today
    tomorrow week month
    """
)
_EDGE_WORDS = word_set(
    """
    a an the any some with in of for that is are which what and or to on at by but also please me show
    find i im want need looking something anything get buy my do you have has it its this these those
    there be can could would like id just really very all from whats who sell one ones
    """
)
_EDGE_PUNCTUATION = ",.;:!?()[]{}\"'`«»“”‘’<>*_#|\\/"
_NUMBER_SUFFIX = re.compile(r"[\s#(\[-]*(?:v|no\.?|#)?\s*\d+[)\]]?\s*$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


@dataclass(frozen=True, slots=True)
class _Hit:
    """A phrase means: products of this type whose ``key`` option is ``value`` (or, ``negated``, is not)."""

    type_index: int
    key: str
    value: str
    negated: bool = False


@dataclass(slots=True)
class _Entry:
    """What one phrase can mean: product types it names, option values it names, or both."""

    types: set[int] = field(default_factory=set)
    hits: set[_Hit] = field(default_factory=set)


@dataclass(slots=True)
class _ProductType:
    """A product type: every catalog product whose name is this type's name (plus a numbering suffix)."""

    index: int
    name: str
    product_ids: list[str] = field(default_factory=list)
    pairs: set[tuple[str, str]] = field(default_factory=set)
    options: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class _Span:
    """A recognised phrase: tokens ``start:end`` of the query."""

    start: int
    end: int
    entry: _Entry


@dataclass(slots=True)
class _Reading:
    """The working state of one parse."""

    words: list[str]
    tokens: list[str]
    token_word: list[int]
    consumed: set[int] = field(default_factory=set)
    corrected: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _plural(head: Phrase) -> Phrase | None:
    last = head[-1]
    if not last.isalpha() or last.endswith(("es", "ss")):
        return None
    if last.endswith(("s", "x", "ch", "sh")):
        return (*head[:-1], last + "es")
    if last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        return (*head[:-1], last[:-1] + "ies")
    return (*head[:-1], last + "s")


def _bare_allowed(phrase: Phrase) -> bool:
    """Numbers and single letters ("10", "M") only count with their key ("size 10"); so do a few common words."""
    if all(NUMBER.fullmatch(token) for token in phrase):
        return False
    if len(phrase) == 1 and len(phrase[0]) == 1:
        return False
    return phrase not in _NEEDS_KEY


def _strip_suffix(tokens: Phrase) -> Phrase:
    """A product name without its numbering suffix ("Laptop 17", "Laptop v2" -> "laptop")."""
    end = len(tokens)
    while end > 1 and (any(ch.isdigit() for ch in tokens[end - 1]) or len(tokens[end - 1]) == 1):
        end -= 1
    return tokens[:end]


def _find_phrase(tokens: Sequence[str], at: int, phrases: Iterable[Phrase]) -> int:
    """The length of the first of ``phrases`` found at ``tokens[at:]``, or 0."""
    for phrase in phrases:
        if tuple(tokens[at : at + len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _find_phrase_ending(tokens: Sequence[str], end: int, phrases: Iterable[Phrase]) -> int:
    """The length of the first of ``phrases`` that ends right before ``tokens[end]``, or 0."""
    for phrase in phrases:
        if end >= len(phrase) and tuple(tokens[end - len(phrase) : end]) == phrase:
            return len(phrase)
    return 0


def type_key(product: Product) -> str:
    """What names a product's type: its ``product_type`` (a shop's own catalog), else its name (the demo's products
    are each their own type, "T-Shirt")."""
    return product.product_type or product.name


class ProductTypeNamer:
    """Groups product names into product types: a name's canonical form, or that form without a numbering suffix, so
    a large catalog whose names repeat with a suffix ("Laptop 17") has one type per name, found in constant time."""

    def __init__(self, terms: CatalogTerms) -> None:
        self._known_names = {canonical_tokens(name): name for name in terms.products}
        self._by_phrase: dict[Phrase, int] = {}
        self._by_name: dict[str, int] = {}
        self.names: list[str] = []
        """Each type's display name, by type index."""

    def find(self, name: str) -> int | None:
        """The type index of a product name, if its type was seen."""
        found = self._by_name.get(name)
        if found is None:
            # Fast path for large catalogs: "Laptop 17" is "Laptop" when "Laptop" was seen already.
            found = self._by_name.get(_NUMBER_SUFFIX.sub("", name))
        if found is None:
            tokens = canonical_tokens(name)
            found = self._by_phrase.get(tokens)
            if found is None:
                found = self._by_phrase.get(_strip_suffix(tokens))
        return found

    def add(self, name: str) -> int:
        """The type index of a product name; a new type (index ``len(names)``) when none matches."""
        index = self.find(name)
        if index is None:
            tokens = canonical_tokens(name)
            key = tokens if tokens in self._known_names else _strip_suffix(tokens)
            index = len(self.names)
            self.names.append(self._known_names.get(key, name))
            self._by_phrase[key] = index
        self._by_name[name] = index
        self._by_name.setdefault(_NUMBER_SUFFIX.sub("", name), index)
        return index


def product_type_names(products: Iterable[Product], *, terms: CatalogTerms | None = None) -> dict[str, str]:
    """Product id -> its product type's name, as ``QueryParser.product_types`` groups them."""
    namer = ProductTypeNamer(terms if terms is not None else load_catalog_terms())
    return {product.product_id: namer.names[namer.add(type_key(product))] for product in products}


class QueryParser:
    """Reads queries against one catalog's vocabulary. Build once (linear in the catalog), then parse freely.

    Product types are grouped by name, so a large catalog whose names repeat with a numbering suffix
    ("Laptop 17") shares one vocabulary per type and builds in time linear in its variants.
    """

    def __init__(self, products: Sequence[Product], *, terms: CatalogTerms | None = None) -> None:
        self._terms = terms if terms is not None else load_catalog_terms()
        self._namer = ProductTypeNamer(self._terms)
        self._types: list[_ProductType] = []
        for product in products:
            index = self._namer.add(type_key(product))
            if index == len(self._types):
                self._types.append(_ProductType(index=index, name=self._namer.names[index]))
            product_type = self._types[index]
            product_type.product_ids.append(product.product_id)
            pairs = product_type.pairs
            for variant in product.variants.values():
                pairs.update(variant.options.items())
        for product_type in self._types:
            by_key: dict[str, list[str]] = {}
            for key, value in product_type.pairs:
                by_key.setdefault(key, []).append(value)
            product_type.options = {key: self._ordered(values) for key, values in sorted(by_key.items())}
        every_value = {value for product_type in self._types for _, value in product_type.pairs}
        self._value_order = {value: n for n, value in enumerate(sorted(every_value, key=_value_sort_key))}
        self._lexicon = self._build_lexicon()
        self._vocabulary = {token for phrase in self._lexicon for token in phrase}
        self._fuzzy_words = sorted(word for word in self._vocabulary if word.isalpha() and len(word) >= 3)
        self._corrections: dict[str, str | None] = {}
        self._head_maps: dict[tuple[str, ...], dict[Phrase, str]] = {}

    # building ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _ordered(values: list[str]) -> list[str]:
        return ranked_values(values) or sorted(values)

    def _heads(self, key: str) -> list[Phrase]:
        """Words that name an option key: the key, its distinctive part ("lens"), curated extras, plurals."""
        words = canonical_tokens(key)
        heads = {words} if words else set()
        if len(words) > 1 and words[-1] in _GENERIC_KEY_WORDS:
            heads.add(words[:-1])
        heads.update(canonical_tokens(extra) for extra in self._terms.heads.get(key, []))
        heads.update(plural for head in list(heads) if head and (plural := _plural(head)) is not None)
        return sorted(head for head in heads if head)

    def _value_phrases(self, key: str, value: str, heads: list[Phrase]) -> list[tuple[Phrase, bool]]:
        """Every phrase that names ``key: value``, each with whether it means the opposite of the value."""
        synonyms = [canonical_tokens(text) for text in self._terms.values.get(key, {}).get(value, [])]
        phrases: list[tuple[Phrase, bool]] = [(synonym, False) for synonym in synonyms]
        key_words = canonical_tokens(key)
        lowered = value.lower()
        if lowered == "yes":
            phrases.append((key_words, False))
        elif lowered == "no":
            phrases.extend(((word, *key_words), False) for word in ("no", "not", "non", "without"))
        elif lowered == "none":
            for head in heads:
                phrases.extend([(("no", *head), False), (("without", *head), False), (head, True)])
        else:
            own = canonical_tokens(value)
            if _bare_allowed(own):
                phrases.append((own, False))
            for form in (own, *synonyms):
                for head in heads:
                    phrases.extend([((*form, *head), False), ((*head, *form), False), ((*form, "of", *head), False)])
        return [(phrase, negated) for phrase, negated in phrases if 0 < len(phrase) <= _MAX_PHRASE_TOKENS]

    def _build_lexicon(self) -> dict[Phrase, _Entry]:
        lexicon: dict[Phrase, _Entry] = {}
        heads_by_key: dict[str, list[Phrase]] = {}
        phrases_by_option: dict[tuple[str, str], list[tuple[Phrase, bool]]] = {}
        for product_type in self._types:
            terms = self._terms.products.get(product_type.name)
            names = [product_type.name, *(terms.aliases if terms else [])]
            for name in names:
                phrase = canonical_tokens(name)
                if phrase:
                    lexicon.setdefault(phrase, _Entry()).types.add(product_type.index)
            for key, values in product_type.options.items():
                heads = heads_by_key.setdefault(key, self._heads(key))
                for value in values:
                    option = (key, value)
                    if option not in phrases_by_option:
                        phrases_by_option[option] = self._value_phrases(key, value, heads)
                    for phrase, negated in phrases_by_option[option]:
                        hit = _Hit(product_type.index, key, value, negated)
                        lexicon.setdefault(phrase, _Entry()).hits.add(hit)
        return lexicon

    # the public API -------------------------------------------------------------------------------------------

    def product_types(self) -> dict[str, list[str]]:
        """Product type name -> its product ids, in catalog order."""
        return {product_type.name: list(product_type.product_ids) for product_type in self._types}

    def parse(self, query: str, *, product: Product | None = None) -> ParsedQuery:
        """Read a query. With ``product``, read it as a description of one of that product's variants: options
        are understood for that product only, and ``product_ids`` is that product."""
        notes: list[str] = []
        cleaned = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFKC", query)).split())
        if len(cleaned) > MAX_QUERY_CHARS:
            cut = cleaned.rfind(" ", 0, MAX_QUERY_CHARS + 1)
            cleaned = cleaned[: cut if cut > 0 else MAX_QUERY_CHARS]
            notes.append(f"the query was too long and was shortened to its first {MAX_QUERY_CHARS} characters")
        filters = extract_filters(cleaned)
        notes.extend(filters.notes)

        words = filters.text.split()
        reading = self._tokenize(words)
        spans = self._segment(reading)
        scope = self._scope(product)
        named, option_spans = self._named_types(reading, spans, scope)
        options = self._constraints(reading, option_spans, scope if scope is not None else named, product)
        if product is not None:
            options.extend(self._unknown_quantities(reading, product))
            product_ids = [product.product_id]
        else:
            types = sorted(self._narrow(named, options))
            product_ids = [product_id for index in types for product_id in self._types[index].product_ids]
        notes.extend(reading.notes)
        removed_any = filters.text != cleaned or bool(reading.consumed)
        return ParsedQuery(
            original=query,
            text=self._leftover(words, reading, strip_edges=removed_any),
            product_ids=product_ids,
            options=options,
            min_price=filters.min_price,
            max_price=filters.max_price,
            sort=filters.sort,
            in_stock_only=filters.in_stock_only,
            notes=notes,
        )

    def option_key(self, product: Product, words: str) -> str | None:
        """The option key of ``product`` that ``words`` name exactly ("size", "switches", "difficulty"), if any."""
        tokens = tuple(self._known_form(token) or token for token in canonical_tokens(words))
        return self._heads_of(product).get(tokens)

    def option_keys(self, product: Product, words: str) -> list[str]:
        """The option keys of ``product`` named anywhere in ``words``, in order ("zoom and storage")."""
        heads = self._heads_of(product)
        tokens = [self._known_form(token) or token for token in canonical_tokens(words)]
        found: list[str] = []
        at = 0
        while at < len(tokens):
            size = next(
                (
                    n
                    for n in range(min(_MAX_PHRASE_TOKENS, len(tokens) - at), 0, -1)
                    if tuple(tokens[at : at + n]) in heads
                ),
                0,
            )
            if size:
                key = heads[tuple(tokens[at : at + size])]
                if key not in found:
                    found.append(key)
            at += size or 1
        return found

    def _heads_of(self, product: Product) -> dict[Phrase, str]:
        index = self._namer.find(type_key(product))
        keys = list(self._types[index].options) if index is not None else list(_options_of(product))
        cache_key = tuple(keys)
        heads = self._head_maps.get(cache_key)
        if heads is None:
            heads = {head: key for key in keys for head in self._heads(key)}
            self._head_maps[cache_key] = heads
        return heads

    # reading a query ------------------------------------------------------------------------------------------

    def _tokenize(self, words: list[str]) -> _Reading:
        tokens: list[str] = []
        token_word: list[int] = []
        for word_index, word in enumerate(words):
            for token in word_tokens(word):
                tokens.append(token)
                token_word.append(word_index)
        convert_volumes(tokens)
        reading = _Reading(words=words, tokens=tokens, token_word=token_word)
        for index, token in enumerate(tokens):
            known = self._known_form(token)
            if known is None:
                known = self._correct(token)
                if known is not None:
                    reading.corrected[index] = known
            if known is not None:
                tokens[index] = known
        return reading

    def _known_form(self, token: str) -> str | None:
        """The token, or its singular or plural, if the vocabulary knows it."""
        vocabulary = self._vocabulary
        if token in vocabulary:
            return token
        candidates = [token + "s"]
        if token.endswith("s"):
            candidates.append(token[:-1])
        if token.endswith("es"):
            candidates.append(token[:-2])
        if token.endswith("ies"):
            candidates.append(token[:-3] + "y")
        return next((candidate for candidate in candidates if candidate in vocabulary), None)

    def _correct(self, token: str) -> str | None:
        """A catalog word one typo away (two for long words), or None. Common words are never corrected."""
        if token in self._corrections:
            return self._corrections[token]
        corrected: str | None = None
        size = len(token)
        if size >= 3 and token.isalpha() and token not in _COMMON_WORDS and token not in _EDGE_WORDS:
            if size == 3:
                completions = [word for word in self._fuzzy_words if len(word) == 4 and word.startswith(token)]
                corrected = completions[0] if len(completions) == 1 else None
            else:
                limit = 2 if size >= 7 else 1
                found = process.extract(token, self._fuzzy_words, scorer=OSA.distance, score_cutoff=limit, limit=None)
                candidates = sorted(
                    (int(distance), abs(len(word) - size), word)
                    for word, distance, _ in found
                    if len(word) >= 4 and word[0] == token[0] and _plausible_typo(token, word, int(distance))
                )
                corrected = candidates[0][2] if candidates else None
        if len(self._corrections) < _CORRECTION_CACHE_SIZE:
            self._corrections[token] = corrected
        return corrected

    def _segment(self, reading: _Reading) -> list[_Span]:
        """The lexicon phrases that cover the most of the query, in the fewest phrases ("drip | coffee maker",
        not "drip coffee | maker")."""
        tokens, lexicon = reading.tokens, self._lexicon
        count = len(tokens)
        best: list[tuple[int, int]] = [(0, 0)] * (count + 1)
        choice = [0] * (count + 1)
        for at in range(count - 1, -1, -1):
            best[at] = best[at + 1]
            for size in range(min(_MAX_PHRASE_TOKENS, count - at), 0, -1):
                if tuple(tokens[at : at + size]) in lexicon:
                    covered, spans = best[at + size]
                    candidate = (covered + size, spans - 1)
                    if candidate > best[at]:
                        best[at], choice[at] = candidate, size
        found: list[_Span] = []
        at = 0
        while at < count:
            size = choice[at]
            if size:
                found.append(_Span(at, at + size, lexicon[tuple(tokens[at : at + size])]))
                at += size
            else:
                at += 1
        return found

    def _scope(self, product: Product | None) -> set[int] | None:
        if product is None:
            return None
        index = self._namer.find(type_key(product))
        return {index} if index is not None else set()

    def _named_types(
        self, reading: _Reading, spans: list[_Span], scope: set[int] | None
    ) -> tuple[set[int], list[_Span]]:
        """Product types named by the query, and the spans to read as options.

        A phrase that is both a product name and an option value ("camera", "fleece") is an option when another
        phrase names a product that has that value ("camera backpack"), and a product name otherwise.
        """
        named: set[int] = set()
        ambiguous: list[_Span] = []
        option_spans: list[_Span] = []
        for span in spans:
            entry = span.entry
            if entry.types and not entry.hits:
                single_word = span.end - span.start == 1
                if single_word and span.start > 0 and reading.tokens[span.start - 1] in _NOT_A_PRODUCT_BEFORE:
                    continue
                named |= entry.types
            elif entry.types:
                ambiguous.append(span)
            else:
                option_spans.append(span)
        context = scope if scope is not None else named
        for span in ambiguous:
            if any(hit.type_index in context for hit in span.entry.hits):
                option_spans.append(span)
            elif scope is None:
                named |= span.entry.types
        for index in reading.corrected.copy():
            if not any(span.start <= index < span.end for span in spans):
                reading.tokens[index] = reading.corrected.pop(index)
        option_spans.sort(key=lambda span: span.start)
        return named, option_spans

    def _constraints(
        self, reading: _Reading, spans: list[_Span], types: set[int], product: Product | None
    ) -> list[OptionConstraint]:
        tokens = reading.tokens
        product_pairs = (
            {(k, v) for variant in product.variants.values() for k, v in variant.options.items()}
            if (product is not None and not types)
            else None
        )
        positive: dict[str, OptionConstraint] = {}
        result: list[OptionConstraint] = []
        for number, span in enumerate(spans):
            hits = [
                hit
                for hit in span.entry.hits
                if (hit.type_index in types if product_pairs is None else (hit.key, hit.value) in product_pairs)
                or (not types and product_pairs is None)
            ]
            if not hits:
                missing = self._missing_value(span, product)
                if missing is not None:
                    # Describing one product's variant: a value it lacks must fail, not vanish ("a green T-shirt").
                    reading.consumed.update(range(span.start, span.end))
                    result.append(missing)
                    continue
                surface = self._surface(reading, span.start, span.end)
                where = product.name if product is not None else self._type_names(types)
                note = f"'{surface}' is not an option for {where}, so it was ignored"
                if note not in reading.notes:
                    reading.notes.append(note)
                continue
            consumed = set(range(span.start, span.end))
            negation_start = self._negation_before(tokens, span.start)
            negated_span = negation_start is not None
            if negation_start is not None:
                consumed.update(range(negation_start, span.start))
            elif self._replaced(tokens, spans, number):
                negated_span = True
                consumed.add(span.start - 1)
            effective = {hit: hit.negated != negated_span for hit in hits}
            if not all(effective.values()):
                hits = [hit for hit in hits if not effective[hit]]
                negated = False
            else:
                negated = True
            keys = {hit.key for hit in hits}
            values = _unique(sorted((hit.value for hit in hits), key=self._value_order.__getitem__))
            if not negated and len(keys) == 1:
                values, extra = self._widen(tokens, span, next(iter(keys)), values, hits)
                consumed.update(extra)
            reading.consumed.update(consumed)
            constraint = OptionConstraint(
                key=next(iter(keys)) if len(keys) == 1 else None, values=values, negated=negated
            )
            if not negated and constraint.key is not None and constraint.key in positive:
                # A variant has one value per key, so "red or blue" and "red ... blue" both mean either.
                merged = positive[constraint.key]
                merged_values = sorted({*merged.values, *constraint.values}, key=self._value_order.__getitem__)
                combined = OptionConstraint(key=constraint.key, values=merged_values)
                result[result.index(merged)] = combined
                positive[constraint.key] = combined
                continue
            if constraint in result:
                continue
            if not negated and constraint.key is not None:
                positive[constraint.key] = constraint
            result.append(constraint)
        return result

    def _unknown_quantities(self, reading: _Reading, product: Product) -> list[OptionConstraint]:
        """For a product's variant, amounts it does not come in: "16-inch" (its screen sizes are "<n> inch"),
        "size 12", "2500 pieces". Each becomes a constraint no variant meets, so resolution can say so."""
        tokens, consumed = reading.tokens, reading.consumed
        heads = self._heads_of(product)
        keys_by_unit: dict[str, set[str]] = {}
        for key, values in _options_of(product).items():
            for value in values:
                shape = canonical_tokens(value)
                if len(shape) == 2 and NUMBER.fullmatch(shape[0]):
                    keys_by_unit.setdefault(shape[1], set()).add(key)
        found: list[OptionConstraint] = []
        for at, token in enumerate(tokens):
            if at in consumed or not NUMBER.fullmatch(token):
                continue
            after = tokens[at + 1] if at + 1 < len(tokens) and at + 1 not in consumed else ""
            before = tokens[at - 1] if at > 0 and at - 1 not in consumed else ""
            unit_keys = keys_by_unit.get(after, set())
            if len(unit_keys) == 1:
                key, start, value = next(iter(unit_keys)), at, self._surface(reading, at, at + 2)
            elif (before,) in heads:
                key, start, value = heads[(before,)], at - 1, token
            elif (after,) in heads:
                key, start, value = heads[(after,)], at, token
            else:
                continue
            consumed.update((start, start + 1))
            found.append(OptionConstraint(key=key, values=[value]))
        return found

    @staticmethod
    def _missing_value(span: _Span, product: Product | None) -> OptionConstraint | None:
        """For a product's variant, a value other products have under one of its keys ("green" for its color)."""
        if product is None:
            return None
        keys = {key for variant in product.variants.values() for key in variant.options}
        hits = [hit for hit in span.entry.hits if hit.key in keys and not hit.negated]
        if len({hit.key for hit in hits}) != 1:
            return None
        return OptionConstraint(key=hits[0].key, values=sorted({hit.value for hit in hits}))

    def _widen(
        self, tokens: list[str], span: _Span, key: str, values: list[str], hits: list[_Hit]
    ) -> tuple[list[str], set[int]]:
        """ "i7 or above", "at least 16GB": every value of the key on that side of the named one(s)."""
        after = _find_phrase(tokens, span.end, _AT_LEAST_AFTER)
        before = _find_phrase_ending(tokens, span.start, _AT_LEAST_BEFORE)
        upward = bool(after or before)
        if not upward:
            after = _find_phrase(tokens, span.end, _AT_MOST_AFTER)
            before = _find_phrase_ending(tokens, span.start, _AT_MOST_BEFORE)
        if not (after or before):
            return values, set()
        widened: list[str] = []
        for type_index in sorted({hit.type_index for hit in hits}):
            scale = ranked_values(self._types[type_index].options.get(key, []))
            if scale is None:
                return values, set()
            positions = [scale.index(value) for value in values if value in scale]
            if not positions:
                continue
            widened.extend(scale[min(positions) :] if upward else scale[: max(positions) + 1])
        consumed = set(range(span.start - before, span.start)) | set(range(span.end, span.end + after))
        return _unique(widened) or values, consumed

    @staticmethod
    def _negation_before(tokens: list[str], start: int) -> int | None:
        """Where a "not", "without", "instead of" governing the phrase at ``start`` begins, if there is one."""
        at = start - 1
        skipped = 0
        while at >= 0 and tokens[at] in _NEGATION_FILLERS and skipped < 2:
            at -= 1
            skipped += 1
        if at >= 0 and tokens[at] in _NEGATION_WORDS:
            return at
        if at >= 1 and (tokens[at - 1], tokens[at]) in _NEGATION_PAIRS:
            return at - 1
        return None

    @staticmethod
    def _replaced(tokens: list[str], spans: list[_Span], number: int) -> bool:
        """ "from blue to red": the first value is the one being replaced."""
        span = spans[number]
        if span.start == 0 or tokens[span.start - 1] != "from" or number + 1 >= len(spans):
            return False
        following = spans[number + 1]
        if following.start != span.end + 1 or tokens[span.end] != "to":
            return False
        keys = {hit.key for hit in span.entry.hits}
        return any(hit.key in keys for hit in following.entry.hits)

    def _narrow(self, named: set[int], options: list[OptionConstraint]) -> set[int]:
        """Keep the named types that can satisfy every option; with none named, a single type all options imply."""
        positive = [constraint for constraint in options if not constraint.negated]
        if named:
            fitting = {index for index in named if all(self._type_allows(index, c) for c in positive)}
            return fitting or named
        if not options:
            return set()
        # A negated option still says the product has that option ("backlit" = a backlight that is not "none").
        keyed = [constraint.key for constraint in options if constraint.negated and constraint.key is not None]
        implied = {
            index
            for index in range(len(self._types))
            if all(self._type_allows(index, c) for c in positive)
            and all(k in self._types[index].options for k in keyed)
        }
        return implied if len(implied) == 1 else set()

    def _type_allows(self, index: int, constraint: OptionConstraint) -> bool:
        options = self._types[index].options
        keys = [constraint.key] if constraint.key is not None else list(options)
        return any(value in constraint.values for key in keys for value in options.get(key, ()))

    def _type_names(self, types: set[int]) -> str:
        names = [self._types[index].name for index in sorted(types)][:3]
        return " or ".join(names) if names else "any product"

    @staticmethod
    def _surface(reading: _Reading, start: int, end: int) -> str:
        """The query's own words for tokens ``start:end``."""
        word_indexes = _unique(str(reading.token_word[index]) for index in range(start, end))
        return " ".join(reading.words[int(index)].strip(_EDGE_PUNCTUATION) for index in word_indexes)

    @staticmethod
    def _leftover(words: list[str], reading: _Reading, *, strip_edges: bool) -> str:
        """The query's words that were not read as filters; typo-corrected words are shown corrected."""
        tokens_of: dict[int, list[int]] = {}
        for index, word_index in enumerate(reading.token_word):
            tokens_of.setdefault(word_index, []).append(index)
        kept: list[tuple[str, bool]] = []
        for word_index, word in enumerate(words):
            indexes = tokens_of.get(word_index)
            if not indexes or all(index in reading.consumed for index in indexes):
                continue
            surface = word.strip(_EDGE_PUNCTUATION)
            if len(indexes) == 1 and indexes[0] in reading.corrected:
                surface = reading.corrected[indexes[0]]
            if surface:
                edge = all(reading.tokens[index] in _EDGE_WORDS for index in indexes)
                kept.append((surface, edge))
        if strip_edges:
            while kept and kept[0][1]:
                kept.pop(0)
            while kept and kept[-1][1]:
                kept.pop()
        return " ".join(surface for surface, _ in kept)


def _plausible_typo(token: str, word: str, distance: int) -> bool:
    """One edit, but no replaced letter in a four-letter word ("home" is not "hose"); two edits only as swapped
    letters ("bycicle") or in words of nine letters or more."""
    swapped = sorted(token) == sorted(word)
    if distance <= 1:
        return len(token) > 4 or len(token) != len(word) or swapped
    return swapped or len(token) >= 9


def _value_sort_key(value: str) -> tuple[float, str]:
    rank = value_rank(value)
    return (rank if rank is not None else float("inf"), value)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _options_of(product: Product) -> dict[str, list[str]]:
    return option_values(variant.options for variant in product.variants.values())
