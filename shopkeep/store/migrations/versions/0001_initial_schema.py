"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopkeep.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("lines_json", shopkeep.store.types.JSONText(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cart_id", name=op.f("pk_carts")),
    )
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carts_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "conversation_events",
        sa.Column("event_id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", shopkeep.store.types.JSONText(), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_conversation_events")),
    )
    with op.batch_alter_table("conversation_events", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_events_conv", ["conversation_id", "event_id"], unique=False)

    op.create_table(
        "customers",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("first_name", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("last_name", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("email_lower", sa.String(length=255), nullable=False),
        sa.Column("address1", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("address2", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("city", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("country", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("state", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("zip", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_email_lower"), ["email_lower"], unique=False)

    op.create_table(
        "escalations",
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_escalations")),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalations_conversation_id"), ["conversation_id"], unique=False)

    op.create_table(
        "products",
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_products")),
    )
    op.create_table(
        "customer_orders",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["customers.user_id"], name=op.f("fk_customer_orders_user_id")),
        sa.PrimaryKeyConstraint("user_id", "order_id", name=op.f("pk_customer_orders")),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("address1", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("address2", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("city", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("country", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("state", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("zip", shopkeep.store.types.EmptyableString(length=255), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("cancel_reason", sa.String(length=255), nullable=True),
        sa.Column("exchange_items", shopkeep.store.types.JSONText(), nullable=True),
        sa.Column("exchange_new_items", shopkeep.store.types.JSONText(), nullable=True),
        sa.Column("exchange_payment_method_id", sa.String(length=64), nullable=True),
        sa.Column(
            "exchange_price_difference",
            shopkeep.store.types.MoneyAmount(precision=14, scale=2),
            nullable=True,
        ),
        sa.Column("return_items", shopkeep.store.types.JSONText(), nullable=True),
        sa.Column("return_payment_method_id", sa.String(length=64), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["customers.user_id"], name=op.f("fk_orders_user_id")),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_user_id"), ["user_id"], unique=False)

    op.create_table(
        "payment_methods",
        sa.Column("method_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=True),
        sa.Column("last_four", sa.String(length=4), nullable=True),
        sa.Column("balance", shopkeep.store.types.MoneyAmount(precision=14, scale=2), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["customers.user_id"], name=op.f("fk_payment_methods_user_id")),
        sa.PrimaryKeyConstraint("method_id", name=op.f("pk_payment_methods")),
    )
    with op.batch_alter_table("payment_methods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_methods_user_id"), ["user_id"], unique=False)

    op.create_table(
        "variants",
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("options_json", shopkeep.store.types.JSONText(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("price", shopkeep.store.types.MoneyAmount(precision=14, scale=2), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.product_id"], name=op.f("fk_variants_product_id")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_variants")),
    )
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_variants_product_id"), ["product_id"], unique=False)

    op.create_table(
        "fulfillments",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("tracking_ids", shopkeep.store.types.JSONText(), nullable=False),
        sa.Column("item_ids", shopkeep.store.types.JSONText(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.order_id"], name=op.f("fk_fulfillments_order_id")),
        sa.PrimaryKeyConstraint("order_id", "line_no", name=op.f("pk_fulfillments")),
    )
    op.create_table(
        "order_items",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("price", shopkeep.store.types.MoneyAmount(precision=14, scale=2), nullable=False),
        sa.Column("options_json", shopkeep.store.types.JSONText(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.order_id"], name=op.f("fk_order_items_order_id")),
        sa.PrimaryKeyConstraint("order_id", "line_no", name=op.f("pk_order_items")),
    )
    op.create_table(
        "order_payments",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("transaction_type", sa.String(length=16), nullable=False),
        sa.Column("amount", shopkeep.store.types.MoneyAmount(precision=14, scale=2), nullable=False),
        sa.Column("payment_method_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.order_id"], name=op.f("fk_order_payments_order_id")),
        sa.PrimaryKeyConstraint("order_id", "line_no", name=op.f("pk_order_payments")),
    )


def downgrade() -> None:
    op.drop_table("order_payments")
    op.drop_table("order_items")
    op.drop_table("fulfillments")
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_variants_product_id"))

    op.drop_table("variants")
    with op.batch_alter_table("payment_methods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_methods_user_id"))

    op.drop_table("payment_methods")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_user_id"))

    op.drop_table("orders")
    op.drop_table("customer_orders")
    op.drop_table("products")
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalations_conversation_id"))

    op.drop_table("escalations")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_email_lower"))

    op.drop_table("customers")
    with op.batch_alter_table("conversation_events", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_events_conv")

    op.drop_table("conversation_events")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carts_customer_id"))

    op.drop_table("carts")
