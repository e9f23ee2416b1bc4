"""The retrieval tables, in the commerce store's own database (migrations ``0002`` and ``0004``). Rows never leave
``retrieval/``.

- ``retrieval_documents``: one searchable document per product, per variant and per knowledge-base section, with
  the structured fields that filters run on (price, availability, product id, product type). ``content_hash``
  detects a changed document; ``vector_key`` names the embedding its vector was built from, so re-indexing
  re-embeds nothing that did not change. The lexical index over ``title`` and ``body`` is the database's own (FTS5,
  tsvector + GIN, Oracle Text), created by the migration.
- ``retrieval_doc_options``: a variant's options as normalized (doc_id, key, value) rows: option filters are plain
  portable SQL (``EXISTS`` or ``IN``) on every database.
- ``retrieval_embeddings``: the embedding cache, keyed by sha256(model name + text).
- ``retrieval_meta``: which embedder the vectors were built with.

The vector tables themselves depend on the embedder's dimension and on a database extension, so the
``VectorIndex`` backend creates them on first use (``shopkeep/retrieval/indexes/``).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from shopkeep.store.schema import ID, TEXT
from shopkeep.store.types import JSONText, MoneyAmount

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

HASH = 64

documents = Table(
    "retrieval_documents",
    metadata,
    Column("doc_id", Integer, Identity(), primary_key=True),
    Column("doc_key", String(160), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("product_id", String(ID), nullable=True),
    Column("product_type", String(TEXT), nullable=True),
    Column("item_id", String(ID), nullable=True),
    Column("title", String(TEXT), nullable=False),
    Column("section", String(TEXT), nullable=True),
    Column("source", String(128), nullable=True),
    Column("body", Text, nullable=False),
    Column("price", MoneyAmount, nullable=True),
    Column("price_max", MoneyAmount, nullable=True),
    Column("available", Boolean, nullable=False),
    Column("options_json", JSONText, nullable=True),
    Column("seq", Integer, nullable=False),
    Column("content_hash", String(HASH), nullable=False),
    Column("vector_key", String(HASH), nullable=True),
    Index("ix_retrieval_documents_kind_product", "kind", "product_id"),
    Index("ix_retrieval_documents_kind_price", "kind", "price"),
    Index("ix_retrieval_documents_kind_type", "kind", "product_type"),
)

doc_options = Table(
    "retrieval_doc_options",
    metadata,
    Column("doc_id", Integer, ForeignKey("retrieval_documents.doc_id", ondelete="CASCADE"), primary_key=True),
    Column("option_key", String(ID), primary_key=True),
    Column("option_value", String(TEXT), primary_key=True),
    Index("ix_retrieval_doc_options_key_value", "option_key", "option_value"),
)

embeddings = Table(
    "retrieval_embeddings",
    metadata,
    Column("vector_key", String(HASH), primary_key=True),
    Column("model", String(128), nullable=False),
    Column("dimensions", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

meta = Table(
    "retrieval_meta",
    metadata,
    Column("meta_key", String(ID), primary_key=True),
    Column("meta_value", String(TEXT), nullable=False),
)
