"""The relational schema of the commerce store (SQLAlchemy Core). Rows never leave ``store/``.

``seq`` columns keep the catalog's and the customers' own order so an export reproduces the source layout.
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
    MetaData,
    String,
    Table,
    Text,
)

from shopkeep.store.types import EmptyableString, JSONText, MoneyAmount

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 64
TEXT = 255


def _address_columns() -> list[Column[str]]:
    return [
        Column(name, EmptyableString(TEXT), nullable=True)
        for name in ("address1", "address2", "city", "country", "state", "zip")
    ]


products = Table(
    "products",
    metadata,
    Column("product_id", String(ID), primary_key=True),
    Column("name", String(TEXT), nullable=False),
    Column("seq", Integer, nullable=False),
)

variants = Table(
    "variants",
    metadata,
    Column("item_id", String(ID), primary_key=True),
    Column("product_id", String(ID), ForeignKey("products.product_id"), nullable=False, index=True),
    Column("options_json", JSONText, nullable=False),
    Column("available", Boolean, nullable=False),
    Column("price", MoneyAmount, nullable=False),
    Column("seq", Integer, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("user_id", String(ID), primary_key=True),
    Column("first_name", EmptyableString(TEXT), nullable=True),
    Column("last_name", EmptyableString(TEXT), nullable=True),
    Column("email", String(TEXT), nullable=False),
    Column("email_lower", String(TEXT), nullable=False, index=True),
    *_address_columns(),
    Column("seq", Integer, nullable=False),
)

payment_methods = Table(
    "payment_methods",
    metadata,
    Column("method_id", String(ID), primary_key=True),
    Column("user_id", String(ID), ForeignKey("customers.user_id"), nullable=False, index=True),
    Column("source", String(32), nullable=False),
    Column("brand", String(64), nullable=True),
    Column("last_four", String(4), nullable=True),
    Column("balance", MoneyAmount, nullable=True),
    Column("seq", Integer, nullable=False),
)

customer_orders = Table(
    "customer_orders",
    metadata,
    Column("user_id", String(ID), ForeignKey("customers.user_id"), primary_key=True),
    Column("order_id", String(ID), primary_key=True),
    Column("seq", Integer, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(ID), primary_key=True),
    Column("user_id", String(ID), ForeignKey("customers.user_id"), nullable=False, index=True),
    *_address_columns(),
    Column("status", String(32), nullable=False),
    Column("cancel_reason", String(TEXT), nullable=True),
    Column("exchange_items", JSONText, nullable=True),
    Column("exchange_new_items", JSONText, nullable=True),
    Column("exchange_payment_method_id", String(ID), nullable=True),
    Column("exchange_price_difference", MoneyAmount, nullable=True),
    Column("return_items", JSONText, nullable=True),
    Column("return_payment_method_id", String(ID), nullable=True),
    Column("seq", Integer, nullable=False),
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", String(ID), ForeignKey("orders.order_id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("item_id", String(ID), nullable=False),
    Column("product_id", String(ID), nullable=False),
    Column("name", String(TEXT), nullable=False),
    Column("price", MoneyAmount, nullable=False),
    Column("options_json", JSONText, nullable=False),
)

fulfillments = Table(
    "fulfillments",
    metadata,
    Column("order_id", String(ID), ForeignKey("orders.order_id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("tracking_ids", JSONText, nullable=False),
    Column("item_ids", JSONText, nullable=False),
)

order_payments = Table(
    "order_payments",
    metadata,
    Column("order_id", String(ID), ForeignKey("orders.order_id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("transaction_type", String(16), nullable=False),
    Column("amount", MoneyAmount, nullable=False),
    Column("payment_method_id", String(ID), nullable=False),
)

carts = Table(
    "carts",
    metadata,
    Column("cart_id", String(ID), primary_key=True),
    Column("customer_id", String(ID), nullable=True, index=True),
    Column("lines_json", JSONText, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

escalations = Table(
    "escalations",
    metadata,
    Column("ticket_id", String(ID), primary_key=True),
    Column("conversation_id", String(ID), nullable=False, index=True),
    Column("customer_id", String(ID), nullable=True),
    Column("reason", String(TEXT), nullable=False),
    Column("summary", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("assignee", String(ID), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

conversation_events = Table(
    "conversation_events",
    metadata,
    Column("event_id", Integer, Identity(), primary_key=True),
    Column("conversation_id", String(ID), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("payload", JSONText, nullable=False),
    Column("variant", String(ID), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_conversation_events_conv", "conversation_id", "event_id"),
)
