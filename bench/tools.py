"""Tool latency on the demo store: p50/p95 per τ² retail tool on SQLite and PostgreSQL, and the time to seed.

Write tools are measured on orders and users in the state they need (each call on a fresh record, so every
sample does the real work); reads repeat on one record.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench._util import percentiles
from shopkeep.domain import OrderStatus
from shopkeep.settings import get_settings
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.postgres import scratch_database
from shopkeep.store.seed import StoreData, demo_db_path, read_tau2_db, seed
from shopkeep.tools import ToolContext, retail_registry

SAMPLES = 40


def _calls(data: StoreData) -> dict[str, list[dict[str, Any]]]:
    """SAMPLES argument sets per tool, each write on a record no earlier sample touched."""
    pending = [o for o in data.orders if o.status == OrderStatus.PENDING]
    delivered = [o for o in data.orders if o.status == OrderStatus.DELIVERED]
    customers = {c.user_id: c for c in data.customers}
    products = {p.product_id: p for p in data.products}
    user, order, product = data.customers[0], data.orders[0], data.products[0]
    item_id = next(iter(product.variants))
    address = {
        "address1": "1 Main St",
        "address2": "",
        "city": "Austin",
        "state": "TX",
        "country": "USA",
        "zip": "73301",
    }

    def first(o: Any) -> str:
        return str(o.payment_history[0].payment_method_id)

    def other_variant(o: Any) -> tuple[str, str]:
        for line in o.items:
            for variant in products[line.product_id].variants.values():
                if variant.available and variant.item_id != line.item_id:
                    return line.item_id, variant.item_id
        raise LookupError(o.order_id)

    def other_method(o: Any) -> str:
        paid = o.payment_history[0].payment_method_id
        return next(
            (m for m, pm in customers[o.user_id].payment_methods.items() if m != paid and pm.source != "gift_card"),
            paid,
        )

    def swaps(orders: list[Any]) -> Iterator[tuple[Any, str, str]]:
        for o in orders:
            if first(o).startswith("gift_card"):
                continue
            try:
                yield (o, *other_variant(o))
            except LookupError:
                continue

    return {
        "find_user_id_by_email": [{"email": user.email}] * SAMPLES,
        "find_user_id_by_name_zip": [
            {"first_name": user.name.first_name, "last_name": user.name.last_name, "zip": user.address.zip}
        ]
        * SAMPLES,
        "get_user_details": [{"user_id": user.user_id}] * SAMPLES,
        "get_order_details": [{"order_id": order.order_id}] * SAMPLES,
        "get_product_details": [{"product_id": product.product_id}] * SAMPLES,
        "get_item_details": [{"item_id": item_id}] * SAMPLES,
        "list_all_product_types": [{}] * SAMPLES,
        "calculate": [{"expression": "(120.5 - 99.99) * 2"}] * SAMPLES,
        "transfer_to_human_agents": [{"summary": "customer asks for a human"}] * SAMPLES,
        "cancel_pending_order": [{"order_id": o.order_id, "reason": "no longer needed"} for o in pending[:SAMPLES]],
        "modify_pending_order_address": [{"order_id": o.order_id, **address} for o in pending[SAMPLES : 2 * SAMPLES]],
        "modify_pending_order_items": [
            {"order_id": o.order_id, "item_ids": [old], "new_item_ids": [new], "payment_method_id": first(o)}
            for o, old, new in list(swaps(pending[2 * SAMPLES :]))[:SAMPLES]
        ],
        "modify_pending_order_payment": [
            {"order_id": o.order_id, "payment_method_id": other_method(o)}
            for o in pending[4 * SAMPLES :]
            if other_method(o) != first(o)
        ][:SAMPLES],
        "modify_user_address": [{"user_id": c.user_id, **address} for c in data.customers[:SAMPLES]],
        "return_delivered_order_items": [
            {"order_id": o.order_id, "item_ids": [o.items[0].item_id], "payment_method_id": first(o)}
            for o in delivered[:SAMPLES]
        ],
        "exchange_delivered_order_items": [
            {"order_id": o.order_id, "item_ids": [old], "new_item_ids": [new], "payment_method_id": first(o)}
            for o, old, new in list(swaps(delivered[SAMPLES:]))[:SAMPLES]
        ],
    }


def measure(store: SqlCommerceStore, data: StoreData) -> dict[str, tuple[float, float, int]]:
    registry = retail_registry()
    ctx = ToolContext(store=store)
    results = {}
    for name, arg_sets in _calls(data).items():
        samples = []
        for arguments in arg_sets:
            started = time.perf_counter()
            outcome = registry.call(name, arguments, ctx)
            samples.append((time.perf_counter() - started) * 1000)
            if not outcome.ok:
                raise RuntimeError(f"{name} failed while benchmarking: {outcome.error}")
        p50, p95 = percentiles(samples)
        results[name] = (p50, p95, len(samples))
    return results


@contextmanager
def _backend(name: str, postgres_url: str) -> Iterator[str]:
    if name == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
    else:
        with scratch_database(postgres_url, "shopkeep_bench") as url:
            yield url


def run(console: Console, postgres_url: str) -> None:
    data = read_tau2_db(demo_db_path(get_settings().data_dir))
    table = Table(title="τ² retail tools on the demo store (ms)")
    table.add_column("tool")
    backends = ["sqlite", "postgres"]
    columns: dict[str, dict[str, tuple[float, float, int]]] = {}
    seeds: dict[str, float] = {}
    for backend in backends:
        table.add_column(f"{backend} p50", justify="right")
        table.add_column(f"{backend} p95", justify="right")
        try:
            with _backend(backend, postgres_url) as url:
                store = open_store(url)
                started = time.perf_counter()
                seed(store, data)
                seeds[backend] = time.perf_counter() - started
                columns[backend] = measure(store, data)
                store.close()
        except Exception as exc:
            console.print(f"[yellow]{backend} skipped:[/yellow] {exc}")
    for tool in retail_registry().names():
        row = [tool]
        for backend in backends:
            p50, p95, _ = columns.get(backend, {}).get(tool, (float("nan"), float("nan"), 0))
            row += [f"{p50:.2f}", f"{p95:.2f}"]
        table.add_row(*row)
    console.print(table)
    for backend, seconds in seeds.items():
        console.print(f"seed the demo store on {backend}: {seconds:.2f} s (50 products, 500 customers, 1000 orders)")
