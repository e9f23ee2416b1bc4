"""Indexing: turn the catalog and the knowledge base into search documents, vectors and full text, incrementally.

``Indexer.sync`` compares the documents the store *should* have (one per product, per variant and per knowledge
base section) with the ones it has, by content hash, and writes only the difference: new documents are added,
changed ones updated, vanished ones removed. A document gets a new vector only when its text changed, and the
vector comes from the embedding cache when that text was embedded before, so re-indexing an unchanged store embeds
nothing. Switching the embedder (another model or dimension) rebuilds every vector, from the cache when it can.

Embedding happens first, outside any transaction (it is the slow part, and each batch is cached as it finishes);
the documents, options and vectors are then written in one transaction that recomputes the difference under a
lock, so two processes indexing at once (two workers starting) cannot insert a document twice. Last, the
database's planner statistics are refreshed, so filtered searches get plans that fit the catalog's size.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from shopkeep.domain import Product
from shopkeep.retrieval import schema as rs
from shopkeep.retrieval._terms import load_catalog_terms
from shopkeep.retrieval.documents import product_document, variant_document
from shopkeep.retrieval.embedders.base import Embedder
from shopkeep.retrieval.embedders.cache import EmbeddingCache
from shopkeep.retrieval.indexes.base import Vector, VectorIndex
from shopkeep.retrieval.knowledge import KnowledgeChunk, asked_key, load_knowledge_base, parse_page
from shopkeep.retrieval.query import product_type_names
from shopkeep.store.shop import shop_records
from shopkeep.store.sql import SqlCommerceStore

ProgressFn = Callable[[int, int], None]
"""``progress(done, total)``: documents whose vectors are ready, out of those that need one."""

WRITE_CHUNK = 1000


@dataclass(frozen=True)
class SearchDocument:
    """The desired state of one search document."""

    key: str
    kind: str
    title: str
    body: str
    seq: int
    product_id: str | None = None
    product_type: str | None = None
    item_id: str | None = None
    section: str | None = None
    source: str | None = None
    price: Decimal | None = None
    price_max: Decimal | None = None
    available: bool = True
    options: dict[str, str] | None = None

    def content_hash(self) -> str:
        fields = [
            self.key,
            self.kind,
            self.title,
            self.body,
            self.product_id,
            self.product_type,
            self.item_id,
            self.section,
            self.source,
            None if self.price is None else str(self.price),
            None if self.price_max is None else str(self.price_max),
            self.available,
            sorted((self.options or {}).items()),
        ]
        return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()

    def row(self) -> dict[str, Any]:
        return {
            "doc_key": self.key,
            "kind": self.kind,
            "product_id": self.product_id,
            "product_type": self.product_type,
            "item_id": self.item_id,
            "title": self.title,
            "section": self.section,
            "source": self.source,
            "body": self.body,
            "price": self.price,
            "price_max": self.price_max,
            "available": self.available,
            "options_json": self.options,
            "seq": self.seq,
            "content_hash": self.content_hash(),
        }


def catalog_documents(products: Sequence[Product]) -> list[SearchDocument]:
    """One document per product (price range, any variant in stock) and one per variant, in catalog order."""
    terms = load_catalog_terms()
    types = product_type_names(products, terms=terms)
    docs: list[SearchDocument] = []
    for product in products:
        variants = list(product.variants.values())
        prices = [v.price for v in variants]
        docs.append(
            SearchDocument(
                key=f"product:{product.product_id}",
                kind="product",
                title=product.name,
                body=product_document(product, terms=terms),
                seq=len(docs),
                product_id=product.product_id,
                product_type=types[product.product_id],
                price=min(prices) if prices else None,
                price_max=max(prices) if prices else None,
                available=any(v.available for v in variants),
            )
        )
        for variant in variants:
            docs.append(
                SearchDocument(
                    key=f"variant:{variant.item_id}",
                    kind="variant",
                    title=product.name,
                    body=variant_document(product, variant, terms=terms),
                    seq=len(docs),
                    product_id=product.product_id,
                    product_type=types[product.product_id],
                    item_id=variant.item_id,
                    price=variant.price,
                    price_max=variant.price,
                    available=variant.available,
                    options=dict(variant.options),
                )
            )
    return docs


def knowledge_documents(chunks: Sequence[KnowledgeChunk]) -> list[SearchDocument]:
    """One document per section, and one per way customers ask for it (``asked_key``: its body is the question)."""
    docs: list[SearchDocument] = []
    for chunk in chunks:
        for key, body in [
            (chunk.key, chunk.document),
            *((asked_key(chunk.key, n), q) for n, q in enumerate(chunk.asked)),
        ]:
            docs.append(
                SearchDocument(
                    key=key,
                    kind="kb",
                    title=chunk.title,
                    body=body,
                    seq=len(docs),
                    section=chunk.section,
                    source=chunk.source,
                )
            )
    return docs


@dataclass
class IndexReport:
    """What one ``sync`` did."""

    documents: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    vectors: int = 0
    embedded: int = 0
    cached: int = 0
    seconds: float = 0.0
    embedder: str = ""
    index: str = ""
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.vectors)


class Indexer:
    """Keeps a store's search documents, lexical index and vectors in step with its catalog and knowledge base."""

    def __init__(
        self,
        store: SqlCommerceStore,
        embedder: Embedder,
        index: VectorIndex,
        *,
        kb_dir: Path | None = None,
        batch_size: int = 64,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.index = index
        self.kb_dir = kb_dir
        self.batch_size = batch_size
        self.cache = EmbeddingCache(embedder, store.engine)

    def desired(self) -> list[SearchDocument]:
        """The documents the store should have: its catalog, and its help pages: the shop's own (``shopkeep kb
        import``), else, for the demo shop only, those of ``kb_dir`` (a shop of its own never gets the demo's)."""
        with self.store.session() as session:
            products = session.list_products()
            records = shop_records(session)
            pages, profile = records.help_pages(), records.profile()
        if pages:
            chunks = [chunk for page in pages for chunk in parse_page(page.source, page.markdown)]
        elif self.kb_dir is not None and (profile is None or profile.demo):
            chunks = load_knowledge_base(self.kb_dir)
        else:
            chunks = []
        return catalog_documents(products) + knowledge_documents(chunks)

    def sync(
        self,
        *,
        rebuild: bool = False,
        progress: ProgressFn | None = None,
        documents: Sequence[SearchDocument] | None = None,
    ) -> IndexReport:
        """Bring the index up to date (``rebuild`` re-creates it, vectors from the cache); see the module doc."""
        started = time.perf_counter()
        docs = list(self.desired() if documents is None else documents)
        report = IndexReport(documents=len(docs), embedder=self.embedder.name, index=self.index.name)
        for doc in docs:
            report.kinds[doc.kind] = report.kinds.get(doc.kind, 0) + 1
        model, dimensions = self.embedder.name, self.embedder.dimensions

        # Fail before the slow part if the database cannot hold vectors (no pgvector, no sqlite-vec). Committed, not
        # rolled back: ensure is idempotent, and undoing CREATE EXTENSION would change the vector type's id.
        with self.store.session(write=True) as session:
            self.index.ensure(session.connection, dimensions)
        with self.store.engine.connect() as conn:
            stored_vectors = {} if rebuild else dict(_stored(conn, rs.documents.c.vector_key))
            reset = rebuild or _meta(conn) != {"model": model, "dimensions": str(dimensions)}
        wanted = [doc for doc in docs if reset or stored_vectors.get(doc.key) != self.cache.key(doc.body)]
        hits_before, misses_before = self.cache.hits, self.cache.misses
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(done, len(wanted))

        if progress is not None:
            progress(0, len(wanted))
        vectors = dict(
            zip(
                (doc.key for doc in wanted),
                self.cache.vectors([doc.body for doc in wanted], batch_size=self.batch_size, progress=advance),
                strict=True,
            )
        )
        with self.store.session(write=True) as session:
            conn = session.connection
            _lock(conn)
            reset = rebuild or _meta(conn) != {"model": model, "dimensions": str(dimensions)}
            self.index.ensure(conn, dimensions, reset=reset)
            if rebuild:
                self._remove(conn, list(conn.scalars(select(rs.documents.c.doc_id))))
            self._write(conn, docs, vectors, reset=reset, report=report)
            _set_meta(conn, {"model": model, "dimensions": str(dimensions), "version": _version(docs)})
        # Always, not only after a change: it is cheap (0.2 s at 200,000 documents on SQLite), and running
        # `shopkeep index` then also repairs a store whose statistics are missing or stale.
        with self.store.session(write=True) as session:
            self.index.analyze(session.connection)
        report.embedded = self.cache.misses - misses_before
        report.cached = self.cache.hits - hits_before
        report.seconds = time.perf_counter() - started
        return report

    def _write(
        self,
        conn: Connection,
        docs: list[SearchDocument],
        vectors: dict[str, Vector],
        *,
        reset: bool,
        report: IndexReport,
    ) -> None:
        d = rs.documents
        stored = {
            row.doc_key: row for row in conn.execute(select(d.c.doc_key, d.c.doc_id, d.c.content_hash, d.c.vector_key))
        }
        by_key = {doc.key: doc for doc in docs}
        removed = [row.doc_id for key, row in stored.items() if key not in by_key]
        self._remove(conn, removed)
        report.removed = len(removed)

        fresh = [doc for doc in docs if doc.key not in stored]
        changed = [doc for doc in docs if doc.key in stored and stored[doc.key].content_hash != doc.content_hash()]
        for start in range(0, len(fresh), WRITE_CHUNK):
            conn.execute(insert(d), [doc.row() for doc in fresh[start : start + WRITE_CHUNK]])
        for doc in changed:
            values = doc.row()
            conn.execute(update(d).where(d.c.doc_id == stored[doc.key].doc_id).values(**values))
        report.added, report.updated = len(fresh), len(changed)

        ids = {key: row.doc_id for key, row in stored.items() if key in by_key}
        if fresh:
            ids.update(_ids(conn, [doc.key for doc in fresh]))
        option_docs = [doc for doc in [*fresh, *changed] if doc.kind == "variant"]
        if changed:
            changed_ids = [ids[doc.key] for doc in changed]
            for start in range(0, len(changed_ids), WRITE_CHUNK):
                chunk = changed_ids[start : start + WRITE_CHUNK]
                conn.execute(delete(rs.doc_options).where(rs.doc_options.c.doc_id.in_(chunk)))
        option_rows = [
            {"doc_id": ids[doc.key], "option_key": key, "option_value": value}
            for doc in option_docs
            for key, value in (doc.options or {}).items()
        ]
        for start in range(0, len(option_rows), WRITE_CHUNK * 5):
            conn.execute(insert(rs.doc_options), option_rows[start : start + WRITE_CHUNK * 5])

        keys = {doc.key: self.cache.key(doc.body) for doc in docs}
        stale = [doc for doc in docs if reset or doc.key not in stored or stored[doc.key].vector_key != keys[doc.key]]
        missing = [doc for doc in stale if doc.key not in vectors]
        if missing:
            # Text changed between embedding and this transaction (another indexer ran): embed the few left.
            fresh_vectors = self.cache.vectors([doc.body for doc in missing])
            vectors.update(zip((doc.key for doc in missing), fresh_vectors, strict=True))
        for start in range(0, len(stale), WRITE_CHUNK * 10):
            chunk = stale[start : start + WRITE_CHUNK * 10]
            self.index.upsert(conn, [(ids[doc.key], doc.kind, vectors[doc.key]) for doc in chunk])
        updates = [{"b_id": ids[doc.key], "b_key": keys[doc.key]} for doc in stale]
        if updates:
            conn.execute(
                update(d).where(d.c.doc_id == bindparam("b_id")).values(vector_key=bindparam("b_key")), updates
            )
        report.vectors = len(stale)

    def _remove(self, conn: Connection, doc_ids: list[int]) -> None:
        if not doc_ids:
            return
        self.index.delete(conn, doc_ids)
        for start in range(0, len(doc_ids), WRITE_CHUNK):
            chunk = doc_ids[start : start + WRITE_CHUNK]
            conn.execute(delete(rs.doc_options).where(rs.doc_options.c.doc_id.in_(chunk)))
            conn.execute(delete(rs.documents).where(rs.documents.c.doc_id.in_(chunk)))


def _stored(conn: Connection, column: Any) -> list[tuple[str, Any]]:
    return [(row[0], row[1]) for row in conn.execute(select(rs.documents.c.doc_key, column))]


def _ids(conn: Connection, keys: list[str]) -> dict[str, int]:
    d = rs.documents
    if len(keys) > WRITE_CHUNK:
        wanted = set(keys)
        return {
            row.doc_key: row.doc_id for row in conn.execute(select(d.c.doc_key, d.c.doc_id)) if row.doc_key in wanted
        }
    return {
        row.doc_key: row.doc_id for row in conn.execute(select(d.c.doc_key, d.c.doc_id).where(d.c.doc_key.in_(keys)))
    }


def _lock(conn: Connection) -> None:
    """Serialize indexers: SQLite's write transaction already holds the database lock; others lock the meta table."""
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql("LOCK TABLE retrieval_meta IN EXCLUSIVE MODE")


def _meta(conn: Connection) -> dict[str, str]:
    rows = conn.execute(select(rs.meta.c.meta_key, rs.meta.c.meta_value).where(rs.meta.c.meta_key != "version"))
    return {row.meta_key: row.meta_value for row in rows}


def read_version(conn: Connection) -> str | None:
    """The catalog version the index was last built for (changes whenever any document does)."""
    return conn.scalar(select(rs.meta.c.meta_value).where(rs.meta.c.meta_key == "version"))


def _set_meta(conn: Connection, values: dict[str, str]) -> None:
    conn.execute(delete(rs.meta).where(rs.meta.c.meta_key.in_(list(values))))
    conn.execute(insert(rs.meta), [{"meta_key": k, "meta_value": v} for k, v in values.items()])


def _version(docs: Sequence[SearchDocument]) -> str:
    digest = hashlib.sha256()
    for doc in docs:
        digest.update(doc.content_hash().encode())
    return digest.hexdigest()[:32]
