"""payments: idempotency records, the payment ledger, promo codes, order charges and the sandbox gateway's memory

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Money is integer minor units with a currency code; no table has a column that could hold a card number.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopkeep.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_records",
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("record_key", sa.String(length=160), nullable=False),
        sa.Column("payload", shopkeep.store.types.JSONText(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("gateway", "kind", "record_key", name=op.f("pk_gateway_records")),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("idem_key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response", shopkeep.store.types.JSONText(), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "idem_key", name=op.f("pk_idempotency_records")),
    )
    op.create_table(
        "order_charges",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("checkout_key", sa.String(length=128), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("shipping_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("promo_code", sa.String(length=64), nullable=True),
        sa.Column("shipping_method", sa.String(length=16), nullable=False),
        sa.Column("payment_method_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_charges")),
        sa.UniqueConstraint("checkout_key", name="uq_order_charges_checkout_key"),
    )
    with op.batch_alter_table("order_charges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_charges_user_id"), ["user_id"], unique=False)

    op.create_table(
        "payment_ledger",
        sa.Column("entry_id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("checkout_key", sa.String(length=128), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_method_id", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=32), nullable=False),
        sa.Column("gateway_ref", sa.String(length=64), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("idem_key", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_payment_ledger")),
        sa.UniqueConstraint("idem_key", name="uq_payment_ledger_idem_key"),
    )
    with op.batch_alter_table("payment_ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_ledger_checkout_key"), ["checkout_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_ledger_order_id"), ["order_id"], unique=False)

    op.create_table(
        "promo_codes",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("min_subtotal_minor", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_promo_codes")),
    )


def downgrade() -> None:
    op.drop_table("promo_codes")
    with op.batch_alter_table("payment_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_ledger_order_id"))
        batch_op.drop_index(batch_op.f("ix_payment_ledger_checkout_key"))

    op.drop_table("payment_ledger")
    with op.batch_alter_table("order_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_charges_user_id"))

    op.drop_table("order_charges")
    op.drop_table("idempotency_records")
    op.drop_table("gateway_records")
