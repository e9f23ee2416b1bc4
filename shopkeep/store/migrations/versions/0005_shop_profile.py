"""shop: the shop's profile (name, currency, locale, support hours, policy) and a change counter per kind of shop data

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

A store migrated from an earlier revision has no profile row: it holds the demo store, whose profile is the demo's
name and ``data/policy.md`` until ``shopkeep seed`` or ``shopkeep init`` writes one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopkeep.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shop_profile",
        sa.Column("shop_key", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("support_hours", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("policy", shopkeep.store.types.EmptyableText(), nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shop_key", name=op.f("pk_shop_profile")),
    )
    op.create_table(
        "shop_changes",
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_shop_changes")),
    )


def downgrade() -> None:
    op.drop_table("shop_changes")
    op.drop_table("shop_profile")
