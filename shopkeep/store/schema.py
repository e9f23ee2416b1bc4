"""The relational schema of the commerce store (SQLAlchemy Core). Rows never leave ``store/``.

``seq`` columns keep the catalog's and the customers' own order so an export reproduces the source layout.
A product's ``source_id`` (its id in the shop's own system) is unique: catalog imports update by it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
    UniqueConstraint,
)

from shopkeep.store.types import EmptyableString, EmptyableText, JSONText, MoneyAmount

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


URL = 2000

products = Table(
    "products",
    metadata,
    Column("product_id", String(ID), primary_key=True),
    Column("name", String(TEXT), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("product_type", String(TEXT), nullable=True),
    Column("brand", String(TEXT), nullable=True),
    Column("tags_json", JSONText, nullable=True),
    Column("description", Text, nullable=True),
    Column("image_url", String(URL), nullable=True),
    Column("source_id", String(TEXT), nullable=True),
    Index("ix_products_source_id", "source_id", unique=True),
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
    Column("sku", String(TEXT), nullable=True),
    Column("compare_at_price", MoneyAmount, nullable=True),
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
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("resolution_note", Text, nullable=True),
    Column("handed_back", Boolean, nullable=True),
)

# Human agents: their accounts (a token is stored only as an Argon2 hash, found by its public id) and the internal
# notes on tickets. Their messages to customers are conversation events of kind ``agent``.
human_agents = Table(
    "human_agents",
    metadata,
    Column("name", String(ID), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("token_id", String(32), nullable=False, unique=True),
    Column("token_hash", String(TEXT), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

ticket_notes = Table(
    "ticket_notes",
    metadata,
    Column("note_id", Integer, Identity(), primary_key=True),
    Column("ticket_id", String(ID), nullable=False, index=True),
    Column("author", String(ID), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
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
    Column("customer_id", String(ID), nullable=True, index=True),
    Index("ix_conversation_events_conv", "conversation_id", "event_id"),
)


# payments: idempotency, ledger, promo codes, checkout charges, and the sandbox gateway's own memory ---------------
# Money here is integer minor units with a currency code (ACP); card numbers never appear in any of these tables.

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("scope", String(ID), primary_key=True),
    Column("idem_key", String(128), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("response", JSONText, nullable=True),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

payment_ledger = Table(
    "payment_ledger",
    metadata,
    Column("entry_id", Integer, Identity(), primary_key=True),
    Column("order_id", String(ID), nullable=True, index=True),
    Column("checkout_key", String(128), nullable=True, index=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("payment_method_id", String(ID), nullable=False),
    Column("gateway", String(32), nullable=False),
    Column("gateway_ref", String(ID), nullable=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("idem_key", String(160), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("idem_key", name="uq_payment_ledger_idem_key"),
)

promo_codes = Table(
    "promo_codes",
    metadata,
    Column("code", String(ID), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("min_subtotal_minor", BigInteger, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("description", String(TEXT), nullable=False),
)

order_charges = Table(
    "order_charges",
    metadata,
    Column("order_id", String(ID), primary_key=True),
    Column("user_id", String(ID), nullable=False, index=True),
    Column("checkout_key", String(128), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal_minor", BigInteger, nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("shipping_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("promo_code", String(ID), nullable=True),
    Column("shipping_method", String(16), nullable=False),
    Column("payment_method_id", String(ID), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("checkout_key", name="uq_order_charges_checkout_key"),
)

gateway_records = Table(
    "gateway_records",
    metadata,
    Column("gateway", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("record_key", String(160), primary_key=True),
    Column("payload", JSONText, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


# the shop itself: its profile, its help pages (Markdown, one row per page; ``source`` is the page's id, as a file
# stem in data/kb), and a counter per kind of shop data so every process notices another's change -----------------

shop_profile = Table(
    "shop_profile",
    metadata,
    Column("shop_key", String(16), primary_key=True),
    Column("name", String(TEXT), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("locale", String(35), nullable=False),
    Column("support_hours", EmptyableString(TEXT), nullable=True),
    Column("policy", EmptyableText, nullable=True),
    Column("demo", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

shop_changes = Table(
    "shop_changes",
    metadata,
    Column("topic", String(32), primary_key=True),
    Column("revision", BigInteger, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

kb_pages = Table(
    "kb_pages",
    metadata,
    Column("source", String(128), primary_key=True),
    Column("markdown", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
