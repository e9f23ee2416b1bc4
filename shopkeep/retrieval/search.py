"""Hybrid catalog and knowledge search: ``CatalogSearch`` is the one object the tools, the CLI and the API use.

A catalog query goes through four steps:

1. **Understand.** ``QueryParser`` reads the product types, option constraints, price range, sort order and stock
   flag out of the words; typed ``SearchFilters`` from a tool call are merged on top (they win).
2. **Filter in the database.** The constraints become one SQL ``WHERE`` over ``retrieval_documents``: product type
   (or product ids), price range and availability are columns, options are ``EXISTS`` or ``IN`` over the normalized
   (doc, key, value) rows. Option, price, stock or price-sort constraints make the search *variant-level* (each hit
   is one item); without them it is *product-level* (each hit is a product, with its price range).
3. **Rank.** Within the filter, full-text search (FTS5 / tsvector / Oracle Text) over the query's remaining words
   (less those naming the filtered type, which every document there has) and nearest-neighbour search over its
   embedding each return their best ``CANDIDATES`` (twice that for items of several products), fused by weighted
   reciprocal-rank fusion (score = Σ w / (``RRF_K`` + rank), w = 1 for vectors and ``LEXICAL_WEIGHT`` for full
   text). "Cheapest ..." orders by price instead.
4. **Present.** Hits that satisfy everything come first; when the query named a product type and fewer than
   ``limit`` of its items fit, related products that satisfy the other constraints follow (a tea kettle search
   also shows the electric kettle). A product contributes at most three items unless it is the one product the
   query asked for, so one product cannot flood the list. Every hit says why it matched.

Knowledge questions run the same hybrid ranking over the knowledge-base sections.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import structlog
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Connection, and_, false, or_, select, true

from shopkeep.domain import Amount, Product
from shopkeep.domain.money import format_money
from shopkeep.errors import IndexNotReadyError, NotFoundError, RuleViolationError
from shopkeep.retrieval import schema as rs
from shopkeep.retrieval.embedders.base import Embedder
from shopkeep.retrieval.embedders.cache import to_vector
from shopkeep.retrieval.indexer import Indexer, IndexReport, ProgressFn, read_version
from shopkeep.retrieval.indexes import Vector, VectorIndex, vector_index_for
from shopkeep.retrieval.knowledge import section_key
from shopkeep.retrieval.query import MAX_QUERY_CHARS, OptionConstraint, ParsedQuery, QueryParser
from shopkeep.retrieval.variants import VariantResolution, resolve_variant
from shopkeep.settings import Settings
from shopkeep.store.shop import shop_records
from shopkeep.store.sql import SqlCommerceStore

RRF_K = 10
LEXICAL_WEIGHT = 0.35
CANDIDATES = 30
MAX_LIMIT = 50
PER_PRODUCT = 3
DRILL_DOWN = 1
MAX_TERMS = 32
IN_CHUNK = 1000  # Oracle allows at most 1000 items in one IN list
REFRESH_IN_BACKGROUND_FROM = 20_000  # products; see CatalogSearch._catalog_for

Sort = Literal["relevance", "price_asc", "price_desc"]
log = structlog.get_logger(__name__)

_STOPWORDS = frozenset(
    word
    for line in """
    a about an and any are as at be but by can could do does for from get have how i i'm im in is it its me my
    need of on or our please show some something that the their them there these this those to up want was we
    what when where which who why will with would you your looking find buy anything thing things one ones
    """.strip().splitlines()
    for word in line.split()
)
_WORD = re.compile(r"[0-9a-z]+")
_CONTRACTION = re.compile(r"(?<=[a-z])['’](?:s|t|re|ve|ll|d|m)\b")


class SearchFilters(BaseModel):
    """Structured filters a caller may add to the query's own words (they win over what the words say)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_type: str | None = Field(
        default=None, description="A product type name (see list_all_product_types) or product id"
    )
    options: dict[str, str | list[str]] = Field(
        default_factory=dict, description='Option key -> wanted value(s), e.g. {"color": ["blue", "black"]}'
    )
    min_price: Decimal | None = Field(default=None, ge=0, description="Lowest price, inclusive")
    max_price: Decimal | None = Field(default=None, ge=0, description="Highest price, inclusive")
    in_stock_only: bool = False
    sort: Sort | None = None

    def is_empty(self) -> bool:
        return self == SearchFilters()


class SearchHit(BaseModel):
    """One result: a product (``item_id`` None, price = lowest of its variants) or one variant of it."""

    model_config = ConfigDict(frozen=True)

    product_id: str
    item_id: str | None
    name: str
    options: dict[str, str]
    price: Amount | None
    price_max: Amount | None = None
    available: bool
    score: float
    reason: str
    similarity: float | None = None
    """Cosine similarity of the query and the document's embedding (None when only full text found it): unlike the
    rank-fused ``score``, comparable across queries, so callers can tell a close match from the nearest of nothing."""
    image_url: str | None = None
    """The product's picture, when the shop's catalog has one (product cards show it)."""


class SearchResults(BaseModel):
    """Ranked hits, how the query was understood, and notes for anything ignored or invalid."""

    model_config = ConfigDict(frozen=True)

    query: str
    understood: str
    level: Literal["product", "variant"]
    hits: list[SearchHit]
    notes: list[str] = Field(default_factory=list)


class Passage(BaseModel):
    """A knowledge-base passage to quote, with its source id (the page) and section, for citations."""

    model_config = ConfigDict(frozen=True)

    source: str
    title: str
    section: str | None
    text: str
    score: float
    similarity: float | None = None
    """Cosine similarity of the question and the passage (None when only full text found it); see ``SearchHit``."""


@dataclass
class _Constraints:
    product_ids: list[str] = field(default_factory=list)
    options: list[OptionConstraint] = field(default_factory=list)
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock_only: bool = False
    sort: Sort = "relevance"
    type_names: list[str] = field(default_factory=list)
    explicit_type: bool = False
    """The caller's filters named the product type: show nothing else."""
    whole_types: bool = False
    """``product_ids`` are every product of ``type_names``: the database filters on the type, not on the ids."""
    currency: str = "USD"

    @property
    def variant_level(self) -> bool:
        return bool(
            self.options
            or self.min_price is not None
            or self.max_price is not None
            or self.in_stock_only
            or self.sort != "relevance"
        )


@dataclass(frozen=True)
class _Catalog:
    parser: QueryParser
    products: dict[str, Product]
    types: dict[str, list[str]]
    type_of: dict[str, str]
    typed: bool
    """Every indexed document carries its product type (a store indexed before types were stored does not)."""
    currency: str
    """The shop's currency, which explanations write prices in."""


@dataclass
class _Candidate:
    doc_id: int
    fused: float = 0.0
    text_rank: int | None = None
    vector_rank: int | None = None
    distance: float | None = None
    relaxed: bool = False


class CatalogSearch:
    """Catalog and knowledge search over one store: its embedder, its vector index, its indexer."""

    def __init__(
        self,
        store: SqlCommerceStore,
        embedder: Embedder,
        index: VectorIndex | None = None,
        *,
        kb_dir: Path | None = None,
        batch_size: int = 64,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.index = index or vector_index_for(store.engine)
        self.indexer = Indexer(store, embedder, self.index, kb_dir=kb_dir, batch_size=batch_size)
        self._catalog: tuple[str, _Catalog] | None = None
        self.refresh_in_background_from = REFRESH_IN_BACKGROUND_FROM
        self._refreshing: threading.Thread | None = None
        self._sections: tuple[str, dict[int, int]] | None = None
        self._in_limit = IN_CHUNK if store.engine.dialect.name == "oracle" else None
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="shopkeep-embed")
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, store: SqlCommerceStore, settings: Settings) -> CatalogSearch:
        """The configured embedder (``settings.retrieval``), the store's own vector index, the data dir's KB."""
        from shopkeep.retrieval.embedders import get_embedder

        return cls(
            store,
            get_embedder(settings),
            kb_dir=settings.data_dir / "kb",
            batch_size=settings.retrieval.batch_size,
        )

    # indexing ---------------------------------------------------------------------------------------------------

    def index_documents(self, *, rebuild: bool = False, progress: ProgressFn | None = None) -> IndexReport:
        """Bring documents, full text and vectors up to date (incremental; see ``Indexer``)."""
        report = self.indexer.sync(rebuild=rebuild, progress=progress)
        with self._lock:
            self._catalog = None
        return report

    def check(self) -> None:
        """Fail now, with what to install or run, if search cannot work: model, extension, or no index yet."""
        self.embedder.embed_query("ready")
        with self.store.session(write=True) as session:
            self.index.ensure(session.connection, self.embedder.dimensions)
        with self.store.engine.connect() as conn:
            self._version(conn)

    # catalog search ---------------------------------------------------------------------------------------------

    def search(self, query: str, *, filters: SearchFilters | None = None, limit: int = 10) -> SearchResults:
        """Ranked products or items for a customer's words plus optional structured filters."""
        filters = filters or SearchFilters()
        text, notes = _clean(query)
        if not _words(text) and filters.is_empty():
            raise RuleViolationError(
                "The search is empty: say what you are looking for (a product, what it is for, options or a price)."
            )
        limit = max(1, min(limit, MAX_LIMIT))
        with self.store.engine.connect() as conn:
            catalog = self._catalog_for(self._version(conn))
            parsed = catalog.parser.parse(text) if text else ParsedQuery(original="", text="")
            notes += parsed.notes
            constraints = self._merge(parsed, filters, catalog)
            level: Literal["product", "variant"] = "variant" if constraints.variant_level else "product"
            # What is left once the filters are read out is what to rank by; a query that was all filters ("under
            # $50", "in stock") is ranked by the option values it named, or listed in catalog order.
            terms = _terms(parsed.text)
            semantic = " ".join([parsed.text, *(_describe_constraint(c) for c in constraints.options)]).strip()
            vector = self._embed_soon(semantic) if _words(semantic) else None
            candidates, rows = self._rank(conn, level, constraints, terms, vector, limit)
            hits = _with_images(self._hits(conn, candidates, rows, constraints, terms, level, limit), catalog)
        if not hits:
            notes.append("Nothing in the catalog matches all of that; try fewer or different filters.")
        return SearchResults(
            query=query, understood=_understood(constraints), level=level, hits=hits, notes=_unique(notes)
        )

    def _merge(self, parsed: ParsedQuery, filters: SearchFilters, catalog: _Catalog) -> _Constraints:
        c = _Constraints(
            product_ids=list(parsed.product_ids),
            options=list(parsed.options),
            min_price=parsed.min_price,
            max_price=parsed.max_price,
            in_stock_only=parsed.in_stock_only,
            sort=parsed.sort,
            currency=catalog.currency,
        )
        types, products = catalog.types, catalog.products
        if filters.product_type is not None:
            wanted = filters.product_type.strip()
            by_name = {name.lower(): ids for name, ids in types.items()}
            c.explicit_type = True
            if wanted in products:
                c.product_ids = [wanted]
            elif wanted.lower() in by_name:
                c.product_ids = list(by_name[wanted.lower()])
            else:
                raise RuleViolationError(f"Unknown product type '{wanted}'. Known types: {', '.join(sorted(types))}.")
        if filters.options:
            scope = [products[pid] for pid in c.product_ids] if c.product_ids else list(products.values())
            known: dict[str, set[str]] = {}
            for product in scope:
                for variant in product.variants.values():
                    for key, value in variant.options.items():
                        known.setdefault(key, set()).add(value)
            for key, raw in filters.options.items():
                values = [raw] if isinstance(raw, str) else list(raw)
                matched_key = next((k for k in known if k.lower() == key.strip().lower()), None)
                if matched_key is None:
                    raise RuleViolationError(
                        f"Unknown option '{key}'"
                        + (
                            f" for {', '.join(sorted({products[p].name for p in c.product_ids}))}"
                            if c.product_ids
                            else ""
                        )
                        + f". Known options: {', '.join(sorted(known)) or 'none'}."
                    )
                lowered = {v.lower(): v for v in known[matched_key]}
                unknown = [v for v in values if v.strip().lower() not in lowered]
                if unknown or not values:
                    raise RuleViolationError(
                        f"Unknown value {', '.join(repr(v) for v in unknown) or '(none given)'} for option "
                        f"'{matched_key}'. Known values: {', '.join(sorted(known[matched_key]))}."
                    )
                c.options = [o for o in c.options if o.key != matched_key]
                c.options.append(OptionConstraint(key=matched_key, values=[lowered[v.strip().lower()] for v in values]))
        if filters.min_price is not None:
            c.min_price = filters.min_price
        if filters.max_price is not None:
            c.max_price = filters.max_price
        if c.min_price is not None and c.max_price is not None and c.min_price > c.max_price:
            raise RuleViolationError(
                f"The lowest price ({format_money(c.min_price, c.currency)}) is above the highest price "
                f"({format_money(c.max_price, c.currency)})."
            )
        c.in_stock_only = c.in_stock_only or filters.in_stock_only
        if filters.sort is not None:
            c.sort = filters.sort
        c.type_names = _unique(catalog.type_of[pid] for pid in c.product_ids if pid in catalog.type_of)
        c.whole_types = (
            catalog.typed
            and bool(c.product_ids)
            and len(c.product_ids) == sum(len(types[name]) for name in c.type_names)
            and set(c.product_ids) == {pid for name in c.type_names for pid in types[name]}
        )
        return c

    def _rank(
        self,
        conn: Connection,
        level: str,
        c: _Constraints,
        terms: list[str],
        vector: Future[Vector] | None,
        limit: int,
    ) -> tuple[list[_Candidate], dict[int, Any]]:
        strict = _where(c, level, in_limit=self._in_limit)
        # Items of many products are diversified (a few per product), so they need a deeper candidate list.
        depth = CANDIDATES if level == "product" or len(c.product_ids) == 1 else 2 * CANDIDATES
        if c.sort != "relevance" and c.product_ids:
            ranked = self._by_price(conn, strict, c.sort, depth)
        else:
            # Within the named types every document's title has the type's words: they rank nothing there, but at
            # 100k products each matches thousands of documents that full text would score ("camera": 13,000).
            within = [t for t in terms if not _names_all(c.type_names, t)] if c.product_ids else terms
            ranked = self._hybrid(conn, level, strict, within, vector, k=depth)
            if c.sort != "relevance":
                head = sorted(ranked[:limit], key=lambda cand: cand.doc_id)
                prices = _prices(conn, [cand.doc_id for cand in head])
                ranked = sorted(head, key=lambda cand: _price_key(prices[cand.doc_id], c.sort))
        rows = _documents(conn, [cand.doc_id for cand in ranked])
        shown = len(ranked) if len(c.product_ids) == 1 else len(_diversified(ranked, rows, PER_PRODUCT))
        if c.product_ids and not c.explicit_type and shown < limit and (terms or vector is not None):
            # Only the slots the strict hits leave are ever shown: fetch just that many.
            extra = self._hybrid(
                conn, level, _where(c, level, relax_products=True, in_limit=self._in_limit), terms, vector, k=limit
            )
            for cand in extra:
                cand.relaxed = True
            rows.update(_documents(conn, [cand.doc_id for cand in extra]))
            ranked += extra
        return ranked, rows

    def _hybrid(
        self,
        conn: Connection,
        kind: str,
        where: ColumnElement[bool],
        terms: list[str],
        vector: Future[Vector] | None,
        *,
        k: int = CANDIDATES,
    ) -> list[_Candidate]:
        by_id: dict[int, _Candidate] = {}
        if terms:
            for rank, hit in enumerate(self.index.text_search(conn, terms, where=where & _kind(kind), k=k)):
                cand = by_id.setdefault(hit.doc_id, _Candidate(hit.doc_id))
                cand.text_rank = rank
                cand.fused += LEXICAL_WEIGHT / (RRF_K + rank + 1)
        if vector is not None:
            # The query's embedding was started before the full-text search ran: by now it is usually done.
            for rank, hit in enumerate(self.index.search(conn, vector.result(), kind=kind, where=where, k=k)):
                cand = by_id.setdefault(hit.doc_id, _Candidate(hit.doc_id))
                cand.vector_rank, cand.distance = rank, hit.score
                cand.fused += 1.0 / (RRF_K + rank + 1)
        if not by_id:
            # Nothing to rank by (only filters were given): list what the filters allow, in catalog order.
            d = rs.documents
            query = select(d.c.doc_id).where(where, _kind(kind)).order_by(d.c.seq).limit(k)
            return [_Candidate(int(doc_id)) for doc_id in conn.scalars(query)]
        return sorted(by_id.values(), key=lambda cand: -cand.fused)

    def _by_price(self, conn: Connection, where: ColumnElement[bool], sort: Sort, k: int) -> list[_Candidate]:
        d = rs.documents
        # "+ 0" keeps planners from walking the whole price index for the few items of the named types (PostgreSQL
        # at 100k: 160 ms through 85,000 cheaper items of other types, against 1 ms to sort the type's 2,000).
        price = d.c.price + 0
        order = price.asc() if sort == "price_asc" else price.desc()
        query = select(d.c.doc_id).where(where).order_by(order, d.c.seq).limit(k)
        return [
            _Candidate(int(doc_id), fused=1.0 / (RRF_K + rank + 1)) for rank, doc_id in enumerate(conn.scalars(query))
        ]

    def _hits(
        self,
        conn: Connection,
        ranked: list[_Candidate],
        rows: dict[int, Any],
        c: _Constraints,
        terms: list[str],
        level: str,
        limit: int,
    ) -> list[SearchHit]:
        strict = [cand for cand in ranked if not cand.relaxed]
        if len(c.product_ids) != 1:
            strict = _diversified(strict, rows, PER_PRODUCT)
        shown = {rows[cand.doc_id].product_id for cand in strict}
        relaxed = _diversified(
            [cand for cand in ranked if cand.relaxed and rows[cand.doc_id].product_id not in shown], rows, 1
        )
        chosen = [*strict, *relaxed][:limit]
        if level == "variant" or not terms:
            return [_hit(rows[cand.doc_id], cand, c, terms, level) for cand in chosen]
        return [
            _hit(row, cand, c, terms, "variant" if row.item_id else level, only=only)
            for row, cand, only in self._drill_down(conn, chosen, rows, terms)
        ][:limit]

    def _drill_down(
        self, conn: Connection, chosen: list[_Candidate], rows: dict[int, Any], terms: list[str]
    ) -> list[tuple[Any, _Candidate, list[str]]]:
        """Product hits whose variants differ on the query's words become those variants.

        "Sunglasses to cut the glare on the water": only the polarized variants' documents mention glare, so those
        variants are shown instead of the product. Words of the product's name never count.
        """
        d = rs.documents
        product_ids = [rows[cand.doc_id].product_id for cand in chosen]
        variants: dict[str, list[Any]] = {}
        columns = select(d.c.doc_id, d.c.product_id, d.c.body, d.c.available, d.c.seq)
        for row in conn.execute(columns.where(_kind("variant"), _in(d.c.product_id, product_ids)).order_by(d.c.seq)):
            variants.setdefault(row.product_id, []).append(row)
        picks: list[tuple[int | None, _Candidate, list[str]]] = []
        for cand in chosen:
            row = rows[cand.doc_id]
            name = _vocabulary(row.title)
            wanted = [t for t in terms if not name.mentions(t)]
            mine = variants.get(row.product_id, [])
            matched = {v.doc_id: [t for t in wanted if _vocabulary(v.body).mentions(t)] for v in mine}
            counts = [len(found) for found in matched.values()]
            if len(mine) > 1 and max(counts) > min(counts):
                best = [v for v in mine if len(matched[v.doc_id]) == max(counts)]
                best.sort(key=lambda v: (not v.available, v.seq))
                picks += [(int(v.doc_id), cand, matched[v.doc_id]) for v in best[:DRILL_DOWN]]
            else:
                picks.append((None, cand, []))
        full = _documents(conn, [doc_id for doc_id, _, _ in picks if doc_id is not None])
        return [(rows[cand.doc_id] if doc_id is None else full[doc_id], cand, only) for doc_id, cand, only in picks]

    # knowledge, similar items, variants ---------------------------------------------------------------------------

    def search_knowledge(self, question: str, *, limit: int = 3) -> list[Passage]:
        """The knowledge-base sections that best answer a question, best first, with their source ids."""
        text, _ = _clean(question)
        if not _words(text):
            raise RuleViolationError("The question is empty: ask about shipping, returns, payments, accounts...")
        limit = max(1, min(limit, MAX_LIMIT))
        with self.store.engine.connect() as conn:
            sections = self._kb_sections(conn, self._version(conn))
            ranked = self._rank_sections(conn, sections, _terms(text), self._embed_soon(text))[:limit]
            rows = _documents(conn, [cand.doc_id for cand in ranked])
        passages = []
        for cand in ranked:
            row = rows[cand.doc_id]
            body = row.body.split("\n\n", 1)[1] if "\n\n" in row.body else row.body
            text_out = f"{row.section}\n\n{body}" if row.section else body
            passages.append(
                Passage(
                    source=row.source,
                    title=row.title,
                    section=row.section,
                    text=text_out,
                    score=round(cand.fused, 6),
                    similarity=_similarity(cand),
                )
            )
        return passages

    def _rank_sections(
        self, conn: Connection, sections: dict[int, int], terms: list[str], vector: Future[Vector]
    ) -> list[_Candidate]:
        """Knowledge sections by hybrid rank. Full text ranks a section by its best document (itself or one of its
        ways of asking); the vector side by its own similarity plus that of its closest way of asking (its own twice
        when it has none), so a section must both say the right thing and be asked for that way. On the labelled
        questions (SQLite): nDCG@10 0.923, against 0.858 for the section text alone and 0.917 with the ways of asking
        merged into the section's text, which also let "is there an expiry date on gift cards?" find the newsletter
        codes' expiry instead."""
        by_section: dict[int, _Candidate] = {}
        for rank, hit in enumerate(self.index.text_search(conn, terms, where=_kind("kb"), k=len(sections))):
            cand = by_section.setdefault(sections[hit.doc_id], _Candidate(sections[hit.doc_id]))
            if cand.text_rank is None:
                cand.text_rank = rank
        own: dict[int, float] = {}
        asked: dict[int, float] = {}
        for hit in self.index.search(conn, vector.result(), kind="kb", where=true(), k=len(sections), exact=True):
            section, similarity = sections[hit.doc_id], 1.0 - hit.score
            if section == hit.doc_id:
                own[section] = similarity
            else:
                asked[section] = max(asked.get(section, -1.0), similarity)
        combined = {section: sim + asked.get(section, sim) for section, sim in own.items()}
        for rank, section in enumerate(sorted(combined, key=lambda section: -combined[section])):
            cand = by_section.setdefault(section, _Candidate(section))
            cand.vector_rank, cand.distance = rank, 1.0 - own[section]
        for cand in by_section.values():
            if cand.vector_rank is not None:
                cand.fused += 1.0 / (RRF_K + cand.vector_rank + 1)
            if cand.text_rank is not None:
                cand.fused += LEXICAL_WEIGHT / (RRF_K + cand.text_rank + 1)
        return sorted(by_section.values(), key=lambda cand: -cand.fused)

    def _kb_sections(self, conn: Connection, version: str) -> dict[int, int]:
        """Knowledge document id -> the id of its section's document (kept until the index version moves)."""
        with self._lock:
            if self._sections is None or self._sections[0] != version:
                d = rs.documents
                rows = conn.execute(select(d.c.doc_id, d.c.doc_key).where(_kind("kb"))).all()
                by_key = {row.doc_key: int(row.doc_id) for row in rows}
                self._sections = (version, {int(row.doc_id): by_key[section_key(row.doc_key)] for row in rows})
            return self._sections[1]

    def similar(self, item_id: str, *, limit: int = 5) -> list[SearchHit]:
        """Other products closest in meaning to an item (a variant id) or a product (a product id)."""
        d = rs.documents
        with self.store.engine.connect() as conn:
            self._version(conn)
            row = conn.execute(
                select(d).where(or_(d.c.doc_key == f"variant:{item_id}", d.c.doc_key == f"product:{item_id}"))
            ).first()
            if row is None:
                raise NotFoundError("Item", item_id, f"Item {item_id} not found")
            vector = self._stored_vector(conn, row)
            where = (d.c.product_id != row.product_id) & (d.c.available == true())
            found = self.index.search(conn, vector, kind="product", where=where, k=limit)
            rows = _documents(conn, [hit.doc_id for hit in found])
            catalog = self._catalog_for(self._version(conn))
        hits = [
            SearchHit(
                product_id=rows[hit.doc_id].product_id,
                item_id=None,
                name=rows[hit.doc_id].title,
                options={},
                price=rows[hit.doc_id].price,
                price_max=rows[hit.doc_id].price_max,
                available=bool(rows[hit.doc_id].available),
                score=round(1.0 - hit.score, 6),
                reason=f"similar to {row.title} (similarity {1.0 - hit.score:.2f})",
                similarity=round(1.0 - hit.score, 4),
            )
            for hit in found
        ]
        return _with_images(hits, catalog)

    def resolve_variant(self, product_id: str, description: str, base_item_id: str | None = None) -> VariantResolution:
        """Which variant of a product a description means (relative to ``base_item_id``, e.g. an order line)."""
        with self.store.engine.connect() as conn:
            catalog = self._catalog_for(self._version(conn))
        product = catalog.products.get(product_id)
        if product is None:
            raise NotFoundError("Product", product_id)
        base = None
        if base_item_id is not None:
            base = product.variants.get(base_item_id)
            if base is None:
                raise NotFoundError("Item", base_item_id, f"Item {base_item_id} is not a variant of {product.name}")
        text, _ = _clean(description)
        return resolve_variant(product, text, catalog.parser, base=base, currency=catalog.currency)

    # helpers ----------------------------------------------------------------------------------------------------

    def _version(self, conn: Connection) -> str:
        version = read_version(conn)
        if version is None:
            raise IndexNotReadyError(
                "the catalog and knowledge base of this store have not been indexed yet",
                install="run `shopkeep index` (or `shopkeep seed`, which indexes too)",
            )
        return version

    def _catalog_for(self, version: str) -> _Catalog:
        """The query parser and product lookups for the indexed catalog, rebuilt when the index version moves.

        A catalog of at least ``refresh_in_background_from`` products takes seconds to load (about 4 s at 100k), so
        when another process re-indexed it, searches keep its previous vocabulary while the new one loads on a
        background thread; a smaller catalog, or the first load, is loaded at once."""
        with self._lock:
            current = self._catalog
            if current is not None and current[0] == version:
                return current[1]
            if current is not None and len(current[1].products) >= self.refresh_in_background_from:
                if self._refreshing is None or not self._refreshing.is_alive():
                    self._refreshing = threading.Thread(
                        target=self._refresh_catalog, args=(version,), name="shopkeep-catalog", daemon=True
                    )
                    self._refreshing.start()
                return current[1]
            catalog = self._load_catalog()
            self._catalog = (version, catalog)
            return catalog

    def _refresh_catalog(self, version: str) -> None:
        try:
            catalog = self._load_catalog()
        except Exception:  # the next search tries again; until then the previous vocabulary serves
            log.exception("catalog_refresh_failed", version=version)
            return
        with self._lock:
            self._catalog = (version, catalog)
        log.info("catalog_refreshed", version=version, products=len(catalog.products))

    def _load_catalog(self) -> _Catalog:
        with self.store.session() as session:
            products = session.list_products()
            profile = shop_records(session).profile()
        parser = QueryParser(products)
        types = parser.product_types()
        type_of = {pid: name for name, ids in types.items() for pid in ids}
        d = rs.documents
        with self.store.engine.connect() as conn:
            typed = conn.scalar(select(d.c.doc_id).where(_kind("product"), d.c.product_type.is_(None)).limit(1)) is None
        currency = profile.currency if profile is not None else "USD"
        return _Catalog(parser, {p.product_id: p for p in products}, types, type_of, typed, currency)

    def _embed_soon(self, text: str) -> Future[Vector]:
        """Embed the query on the worker thread while the full-text search runs (both release the GIL)."""
        return self._pool.submit(self._embed, text)

    def _embed(self, text: str) -> Vector:
        return to_vector(self.embedder.embed_query(text))

    def _stored_vector(self, conn: Connection, row: Any) -> Vector:
        blob = conn.scalar(select(rs.embeddings.c.vector).where(rs.embeddings.c.vector_key == row.vector_key))
        if blob is None:
            return self._embed(row.body)
        return np.frombuffer(blob, dtype=np.float32)


# query text -------------------------------------------------------------------------------------------------------


def _clean(text: str) -> tuple[str, list[str]]:
    cleaned = " ".join(text.split())
    if len(cleaned) <= MAX_QUERY_CHARS:
        return cleaned, []
    cut = cleaned.rfind(" ", 0, MAX_QUERY_CHARS + 1)
    note = f"the query was too long and was shortened to its first {MAX_QUERY_CHARS} characters"
    return cleaned[: cut if cut > 0 else MAX_QUERY_CHARS], [note]


def _words(text: str) -> list[str]:
    """Lowercase words; a contraction or possessive ("he's", "dad's", "don't") is one word, not a word and a letter
    (the "s" of "he's" is no size S)."""
    return _WORD.findall(_CONTRACTION.sub("", text.lower()))


def _terms(text: str) -> list[str]:
    """Words worth searching for: lowercase, no stop words, each once, at most ``MAX_TERMS``."""
    return _unique(word for word in _words(text) if word not in _STOPWORDS)[:MAX_TERMS]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _names_all(names: Sequence[str], term: str) -> bool:
    """Whether every one of these (product type) names has the term ("kettles" in "Electric Kettle")."""
    return bool(names) and all(_vocabulary(name).mentions(term) for name in names)


def _describe_constraint(constraint: OptionConstraint) -> str:
    return "" if constraint.negated else " ".join(constraint.values)


# SQL --------------------------------------------------------------------------------------------------------------


def _kind(kind: str) -> ColumnElement[bool]:
    return rs.documents.c.kind == kind


def _in(column: ColumnElement[Any], values: Sequence[str], *, chunk: int | None = None) -> ColumnElement[bool]:
    """``column IN (values)``: one list, which planners can seek an index with (split into an OR of lists, SQLite
    scans instead: 25 ms instead of 8 ms at 100k), unless the database limits a list to ``chunk`` items."""
    if not values:
        return false()
    if chunk is None or len(values) <= chunk:
        return column.in_(list(values))
    return or_(*(column.in_(list(values[i : i + chunk])) for i in range(0, len(values), chunk)))


def _where(
    c: _Constraints, level: str, *, relax_products: bool = False, in_limit: int | None = None
) -> ColumnElement[bool]:
    """The constraints as SQL over ``retrieval_documents`` (and its option rows); ``in_limit``: the database's
    largest IN list."""
    d = rs.documents
    clauses: list[ColumnElement[bool]] = [_kind(level)]
    if c.product_ids:
        if c.whole_types:
            ids = _in(d.c.product_type, c.type_names)
        else:
            ids = _in(d.c.product_id, c.product_ids, chunk=in_limit)
        clauses.append(~ids if relax_products else ids)
    if level == "variant":
        if c.min_price is not None:
            clauses.append(d.c.price >= c.min_price)
        if c.max_price is not None:
            clauses.append(d.c.price <= c.max_price)
        if c.in_stock_only:
            clauses.append(d.c.available == true())
        for constraint in c.options:
            clauses.append(_option_clause(constraint, probe=bool(c.product_ids) and not relax_products))
    return and_(*clauses)


def _option_clause(constraint: OptionConstraint, *, probe: bool) -> ColumnElement[bool]:
    """Documents with (or, negated, without) one of the constraint's option values.

    Two shapes, because planners take each literally: when the product ids already pick out a few documents
    (``probe``), a correlated EXISTS checks each of them; otherwise an uncorrelated IN (subquery) reads the option
    index once instead of probing it for every document of the kind (100k variants on SQLite: 6 ms, not 80 ms).
    """
    d, o = rs.documents, rs.doc_options
    found = select(o.c.doc_id).where(_in(o.c.option_value, constraint.values))
    if constraint.key is not None:
        found = found.where(o.c.option_key == constraint.key)
    if probe:
        clause: ColumnElement[bool] = found.where(o.c.doc_id == d.c.doc_id).exists()
        return ~clause if constraint.negated else clause
    return d.c.doc_id.not_in(found) if constraint.negated else d.c.doc_id.in_(found)


def _documents(conn: Connection, doc_ids: list[int]) -> dict[int, Any]:
    d = rs.documents
    rows: dict[int, Any] = {}
    for start in range(0, len(doc_ids), IN_CHUNK):
        chunk = doc_ids[start : start + IN_CHUNK]
        for row in conn.execute(select(d).where(d.c.doc_id.in_(chunk))):
            rows[int(row.doc_id)] = row
    return rows


def _prices(conn: Connection, doc_ids: list[int]) -> dict[int, Decimal | None]:
    d = rs.documents
    query = select(d.c.doc_id, d.c.price).where(d.c.doc_id.in_(doc_ids))
    return {int(row.doc_id): row.price for row in conn.execute(query)}


def _price_key(price: Decimal | None, sort: Sort) -> Decimal:
    if price is None:
        return Decimal("Infinity")
    return price if sort == "price_asc" else -price


def _diversified(ranked: list[_Candidate], rows: dict[int, Any], cap: int) -> list[_Candidate]:
    """Each product's best hit first, in rank order; then its next ones, up to ``cap`` per product."""
    first: list[_Candidate] = []
    more: list[_Candidate] = []
    seen: dict[str, int] = {}
    for cand in ranked:
        product_id = rows[cand.doc_id].product_id
        count = seen.get(product_id, 0)
        if count < cap:
            (more if count else first).append(cand)
            seen[product_id] = count + 1
    return first + more


def _hit(
    row: Any, cand: _Candidate, c: _Constraints, terms: list[str], level: str, *, only: Sequence[str] = ()
) -> SearchHit:
    return SearchHit(
        product_id=row.product_id,
        item_id=row.item_id,
        name=row.title,
        options=dict(row.options_json or {}),
        price=row.price,
        price_max=None if level == "variant" else row.price_max,
        available=bool(row.available),
        score=round(cand.fused, 6),
        reason=_reason(row, cand, c, terms, only),
        similarity=_similarity(cand),
    )


def _with_images(hits: list[SearchHit], catalog: _Catalog) -> list[SearchHit]:
    """Each hit with its product's image (from the loaded catalog: the documents do not carry it)."""
    shown = []
    for hit in hits:
        product = catalog.products.get(hit.product_id)
        image = product.image_url if product is not None else None
        shown.append(hit.model_copy(update={"image_url": image}) if image else hit)
    return shown


def _similarity(cand: _Candidate) -> float | None:
    return None if cand.distance is None else round(1.0 - cand.distance, 4)


# explanations -------------------------------------------------------------------------------------------------------


def _price_range(c: _Constraints) -> str | None:
    if c.min_price is not None and c.max_price is not None:
        return f"{format_money(c.min_price, c.currency)}-{format_money(c.max_price, c.currency)}"
    if c.max_price is not None:
        return f"at most {format_money(c.max_price, c.currency)}"
    if c.min_price is not None:
        return f"at least {format_money(c.min_price, c.currency)}"
    return None


def _understood(c: _Constraints) -> str:
    parts = [" or ".join(c.type_names) if c.type_names else "any product"]
    parts += [f"{o.key or 'option'}: {o.describe()}" for o in c.options]
    price = _price_range(c)
    if price:
        parts.append(price)
    if c.in_stock_only:
        parts.append("in stock")
    if c.sort != "relevance":
        parts.append("lowest price first" if c.sort == "price_asc" else "highest price first")
    return "; ".join(parts)


def _reason(row: Any, cand: _Candidate, c: _Constraints, terms: list[str], only: Sequence[str] = ()) -> str:
    reasons: list[str] = []
    if cand.relaxed:
        reasons.append(f"related: not a {' or '.join(c.type_names)}" if c.type_names else "related")
    elif c.type_names:
        reasons.append(f"type: {row.title}")
    title_words, body_words = _vocabulary(row.title), _vocabulary(row.body)
    in_title = [t for t in terms if title_words.mentions(t)]
    in_body = [t for t in terms if t not in in_title and body_words.mentions(t)]
    if in_title:
        reasons.append("name matches " + ", ".join(f"'{t}'" for t in in_title))
    if in_body:
        reasons.append("description mentions " + ", ".join(f"'{t}'" for t in in_body))
    if only:
        reasons.append("of its variants, this kind mentions " + ", ".join(f"'{t}'" for t in only))
    if cand.distance is not None:
        reasons.append(f"close in meaning (similarity {1.0 - cand.distance:.2f})")
    reasons += [f"{o.key or 'option'}={o.describe()}" for o in c.options]
    price = _price_range(c)
    if price:
        reasons.append(price)
    if c.in_stock_only:
        reasons.append("in stock")
    elif not row.available:
        reasons.append("out of stock")
    if c.sort != "relevance":
        reasons.append("sorted by price")
    return "; ".join(reasons) or "matches the filters"


class _Vocabulary:
    """The words of a text, for telling which query terms it mentions (an inflection counts: "kettles" ~ "kettle")."""

    __slots__ = ("by_prefix", "words")

    def __init__(self, text: str) -> None:
        self.words = frozenset(_words(text))
        self.by_prefix: dict[str, list[str]] = {}
        for word in self.words:
            self.by_prefix.setdefault(word[:4], []).append(word)

    def mentions(self, term: str) -> bool:
        stem = term[:-1] if term.endswith("s") and len(term) > 3 else term
        if term in self.words or stem in self.words:
            return True
        if len(stem) < 4:
            return False
        return any(w.startswith(stem) and len(w) - len(stem) <= 3 for w in self.by_prefix.get(stem[:4], ()))


@lru_cache(maxsize=20_000)
def _vocabulary(text: str) -> _Vocabulary:
    return _Vocabulary(text)
