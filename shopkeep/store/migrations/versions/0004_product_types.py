"""retrieval: each catalog document's product type, so a type filter is one indexed value, not a list of ids

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

A type of a 100,000-product catalog holds thousands of products: filtering by their ids bound thousands of
parameters per statement. Existing rows get their type at the next ``shopkeep index``; until then search filters
by product ids, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, never a batch copy: on SQLite the full-text triggers and content table hang on this table.
    op.add_column("retrieval_documents", sa.Column("product_type", sa.String(length=255), nullable=True))
    op.create_index("ix_retrieval_documents_kind_type", "retrieval_documents", ["kind", "product_type"])


def downgrade() -> None:
    op.drop_index("ix_retrieval_documents_kind_type", table_name="retrieval_documents")
    op.drop_column("retrieval_documents", "product_type")
