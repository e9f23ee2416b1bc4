"""shop: the shop's own help pages (Markdown, one row per page)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

A store without pages of its own answers from the demo's ``data/kb`` only while it holds the demo.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_pages",
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_kb_pages")),
    )


def downgrade() -> None:
    op.drop_table("kb_pages")
