"""The demo store: load τ²-bench's retail ``db.json`` into any backend, and export a store back to that layout.

Seeding is idempotent: records already in the store are left as they are (``reset=True`` starts over).
``seed_demo`` also gives the store the demo's profile (its name and ``data/policy.md``), which is what a store
without a profile is taken to be. The export writes τ²'s layout (``products``, ``users``, ``orders``) with amounts
as JSON numbers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from shopkeep.domain import Customer, Order, Product
from shopkeep.domain.shop import DEMO_SHOP_NAME, DEMO_SUPPORT_HOURS, ShopProfile
from shopkeep.store import schema as t
from shopkeep.store.payments import seed_promo_codes
from shopkeep.store.shop import shop_records
from shopkeep.store.sql import (
    SqlCommerceStore,
    _address_values,
    _payment_method_values,
    fulfillment_rows,
    order_item_rows,
    payment_rows,
)

OPTIONAL_ORDER_FIELDS = (
    "cancel_reason",
    "exchange_items",
    "exchange_new_items",
    "exchange_payment_method_id",
    "exchange_price_difference",
    "return_items",
    "return_payment_method_id",
)


@dataclass(frozen=True)
class StoreData:
    """A whole store as domain models, in source order."""

    products: list[Product]
    customers: list[Customer]
    orders: list[Order]


def demo_db_path(data_dir: Path) -> Path:
    return data_dir / "tau2_retail" / "db.json"


def demo_profile(data_dir: Path) -> ShopProfile:
    """The demo store's profile: its name, US dollars, and the policy in ``data/policy.md``."""
    policy = (data_dir / "policy.md").read_text(encoding="utf-8").strip()
    return ShopProfile(name=DEMO_SHOP_NAME, support_hours=DEMO_SUPPORT_HOURS, policy=policy, demo=True)


def seed_demo(
    store: SqlCommerceStore, data_dir: Path, *, source: Path | None = None, reset: bool = False
) -> dict[str, int]:
    """Seed the demo store (``source``: another τ² ``db.json``) and give the store the demo's profile."""
    added = seed(store, read_tau2_db(source or demo_db_path(data_dir)), reset=reset)
    with store.session(write=True) as session:
        shop_records(session).save_profile(demo_profile(data_dir))
    return added


def read_tau2_db(path: Path) -> StoreData:
    """Parse a τ² retail ``db.json`` into domain models."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return StoreData(
        products=[Product.model_validate(p) for p in raw["products"].values()],
        customers=[Customer.model_validate(u) for u in raw["users"].values()],
        orders=[Order.model_validate(o) for o in raw["orders"].values()],
    )


def seed(store: SqlCommerceStore, data: StoreData, *, reset: bool = False) -> dict[str, int]:
    """Insert every product, customer and order not already in the store; returns how many of each were added."""
    added = {"products": 0, "customers": 0, "orders": 0}
    with store.session(write=True) as session:
        conn = session.connection
        if reset:
            for table in reversed(t.metadata.sorted_tables):
                if table.name not in ("carts", "escalations", "conversation_events", "shop_changes"):
                    conn.execute(delete(table))
        have_products = set(conn.scalars(select(t.products.c.product_id)))
        have_customers = set(conn.scalars(select(t.customers.c.user_id)))
        have_orders = set(conn.scalars(select(t.orders.c.order_id)))

        products = [p for p in data.products if p.product_id not in have_products]
        _insert(
            conn,
            t.products,
            [
                {"product_id": p.product_id, "name": p.name, "seq": n}
                for n, p in _numbered(products, len(have_products))
            ],
        )
        _insert(
            conn,
            t.variants,
            [
                {
                    "item_id": v.item_id,
                    "product_id": p.product_id,
                    "options_json": v.options,
                    "available": v.available,
                    "price": v.price,
                    "seq": n,
                }
                for p in products
                for n, v in enumerate(p.variants.values())
            ],
        )

        customers = [c for c in data.customers if c.user_id not in have_customers]
        _insert(
            conn,
            t.customers,
            [
                {
                    "user_id": c.user_id,
                    "first_name": c.name.first_name,
                    "last_name": c.name.last_name,
                    "email": c.email,
                    "email_lower": c.email.lower(),
                    **_address_values(c.address),
                    "seq": n,
                }
                for n, c in _numbered(customers, len(have_customers))
            ],
        )
        _insert(
            conn,
            t.payment_methods,
            [
                {**_payment_method_values(c.user_id, m), "seq": n}
                for c in customers
                for n, m in enumerate(c.payment_methods.values())
            ],
        )
        _insert(
            conn,
            t.customer_orders,
            [{"user_id": c.user_id, "order_id": o, "seq": n} for c in customers for n, o in enumerate(c.orders)],
        )

        orders = [o for o in data.orders if o.order_id not in have_orders]
        _insert(
            conn,
            t.orders,
            [
                {
                    "order_id": o.order_id,
                    "user_id": o.user_id,
                    **_address_values(o.address),
                    "status": o.status.value,
                    **{name: getattr(o, name) for name in OPTIONAL_ORDER_FIELDS},
                    "seq": n,
                }
                for n, o in _numbered(orders, len(have_orders))
            ],
        )
        for table, rows_of in (
            (t.order_items, order_item_rows),
            (t.fulfillments, fulfillment_rows),
            (t.order_payments, payment_rows),
        ):
            _insert(conn, table, [row for o in orders for row in rows_of(o)])
        added.update(products=len(products), customers=len(customers), orders=len(orders))
        seed_promo_codes(session)
        shop_records(session).bump("catalog", "customers")
    return added


def export(store: SqlCommerceStore) -> dict[str, Any]:
    """The whole store in τ²'s ``db.json`` layout (optional order fields only where set, as in the source)."""
    with store.session() as session:
        products, customers, orders = session.list_products(), session.list_customers(), session.list_orders()
    return {
        "products": {p.product_id: p.model_dump(mode="json") for p in products},
        "users": {c.user_id: c.model_dump(mode="json") for c in customers},
        "orders": {o.order_id: o.model_dump(mode="json", exclude_none=True) for o in orders},
    }


def tau2_hash(db: dict[str, Any]) -> str:
    """τ²'s DB hash: every order carries all optional fields (null when unset), sha256 of the sorted JSON."""
    orders = {key: {**dict.fromkeys(OPTIONAL_ORDER_FIELDS), **order} for key, order in db["orders"].items()}
    dump = {"products": db["products"], "users": db["users"], "orders": orders}
    return hashlib.sha256(json.dumps(dump, sort_keys=True, default=str).encode()).hexdigest()


def _numbered(records: list[Any], start: int) -> list[tuple[int, Any]]:
    return list(enumerate(records, start=start))


def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), rows)
