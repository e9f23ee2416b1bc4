"""catalog: what a shop's own catalog says about its products (type, brand, tags, description, image, source id)
and variants (SKU, compare-at price)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Every new column may be empty: the demo's τ² products have none of these. Plain ADD COLUMN and CREATE INDEX, never
a batch copy of the table (variants and order items refer to products).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopkeep.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRODUCT_COLUMNS = ("product_type", "brand", "tags_json", "description", "image_url", "source_id")


def upgrade() -> None:
    op.add_column("products", sa.Column("product_type", sa.String(length=255), nullable=True))
    op.add_column("products", sa.Column("brand", sa.String(length=255), nullable=True))
    op.add_column("products", sa.Column("tags_json", shopkeep.store.types.JSONText(), nullable=True))
    op.add_column("products", sa.Column("description", sa.Text(), nullable=True))
    op.add_column("products", sa.Column("image_url", sa.String(length=2000), nullable=True))
    op.add_column("products", sa.Column("source_id", sa.String(length=255), nullable=True))
    op.create_index("ix_products_source_id", "products", ["source_id"], unique=True)
    op.add_column("variants", sa.Column("sku", sa.String(length=255), nullable=True))
    op.add_column(
        "variants",
        sa.Column("compare_at_price", shopkeep.store.types.MoneyAmount(precision=14, scale=2), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("variants", "compare_at_price")
    op.drop_column("variants", "sku")
    op.drop_index("ix_products_source_id", table_name="products")
    for column in reversed(PRODUCT_COLUMNS):
        op.drop_column("products", column)
