"""retrieval: search documents, option rows, the embedding cache, and the lexical index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

The lexical index is the database's own: an FTS5 table kept in step by triggers on SQLite, a generated tsvector
column with a GIN index on PostgreSQL. Oracle Text needs the CTXAPP role, and vector tables need an extension and
the embedder's dimension, so the ``VectorIndex`` backend creates those on first use instead: a store whose
database lacks them still migrates and serves commerce.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopkeep.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE retrieval_fts USING fts5(title, body, content='retrieval_documents', "
    "content_rowid='doc_id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER retrieval_documents_ai AFTER INSERT ON retrieval_documents BEGIN "
    "INSERT INTO retrieval_fts(rowid, title, body) VALUES (new.doc_id, new.title, new.body); END",
    "CREATE TRIGGER retrieval_documents_ad AFTER DELETE ON retrieval_documents BEGIN "
    "INSERT INTO retrieval_fts(retrieval_fts, rowid, title, body) VALUES ('delete', old.doc_id, old.title, old.body);"
    " END",
    "CREATE TRIGGER retrieval_documents_au AFTER UPDATE OF title, body ON retrieval_documents BEGIN "
    "INSERT INTO retrieval_fts(retrieval_fts, rowid, title, body) VALUES ('delete', old.doc_id, old.title, old.body);"
    " INSERT INTO retrieval_fts(rowid, title, body) VALUES (new.doc_id, new.title, new.body); END",
]
POSTGRES_TSV = [
    "ALTER TABLE retrieval_documents ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS "
    "(setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')) STORED",
    "CREATE INDEX ix_retrieval_documents_search_tsv ON retrieval_documents USING gin (search_tsv)",
]


def upgrade() -> None:
    op.create_table(
        "retrieval_documents",
        sa.Column("doc_id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("doc_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=True),
        sa.Column("item_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("section", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=128), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("price", shopkeep.store.types.MoneyAmount(precision=14, scale=2), nullable=True),
        sa.Column("price_max", shopkeep.store.types.MoneyAmount(precision=14, scale=2), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("options_json", shopkeep.store.types.JSONText(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("vector_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("doc_id", name=op.f("pk_retrieval_documents")),
        sa.UniqueConstraint("doc_key", name=op.f("uq_retrieval_documents_doc_key")),
    )
    with op.batch_alter_table("retrieval_documents", schema=None) as batch_op:
        batch_op.create_index("ix_retrieval_documents_kind_price", ["kind", "price"], unique=False)
        batch_op.create_index("ix_retrieval_documents_kind_product", ["kind", "product_id"], unique=False)

    op.create_table(
        "retrieval_embeddings",
        sa.Column("vector_key", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vector_key", name=op.f("pk_retrieval_embeddings")),
    )
    op.create_table(
        "retrieval_meta",
        sa.Column("meta_key", sa.String(length=64), nullable=False),
        sa.Column("meta_value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("meta_key", name=op.f("pk_retrieval_meta")),
    )
    op.create_table(
        "retrieval_doc_options",
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.Column("option_key", sa.String(length=64), nullable=False),
        sa.Column("option_value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["doc_id"],
            ["retrieval_documents.doc_id"],
            name=op.f("fk_retrieval_doc_options_doc_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("doc_id", "option_key", "option_value", name=op.f("pk_retrieval_doc_options")),
    )
    with op.batch_alter_table("retrieval_doc_options", schema=None) as batch_op:
        batch_op.create_index("ix_retrieval_doc_options_key_value", ["option_key", "option_value"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else POSTGRES_TSV if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("retrieval_documents_ai", "retrieval_documents_ad", "retrieval_documents_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS retrieval_fts")
    with op.batch_alter_table("retrieval_doc_options", schema=None) as batch_op:
        batch_op.drop_index("ix_retrieval_doc_options_key_value")
    op.drop_table("retrieval_doc_options")
    op.drop_table("retrieval_meta")
    op.drop_table("retrieval_embeddings")
    with op.batch_alter_table("retrieval_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_retrieval_documents_kind_product")
        batch_op.drop_index("ix_retrieval_documents_kind_price")
    op.drop_table("retrieval_documents")
