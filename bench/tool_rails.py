"""Tool-call rail cost per call (p50/p95, ms): every rail the tools node runs before a tool, on the SQLite demo store,
with in-process rate limits and with Redis ones (``SHOPKEEP_BENCH_REDIS_URL``; skipped when Redis is absent).

The calls are the ones that reach the store: ownership reads the named order, user or payment method; limits read
the cart or the order being refunded; a catalog read passes the rate limit only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench._util import percentiles, time_ms
from shopkeep.agents.toolkit import agent_registry
from shopkeep.guardrails.ratelimit import MemoryRateLimiter, RateLimiter
from shopkeep.guardrails.tool_rails import ToolCallCheck, ToolRails
from shopkeep.settings import LimitSettings, get_settings
from shopkeep.store import open_store
from shopkeep.store.seed import demo_db_path, read_tau2_db, seed
from shopkeep.tools import ToolContext

REPEAT = 2000
EMMA = "emma_smith_8564"
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("list_all_product_types", {}),
    ("get_order_details", {"order_id": "#W2417020"}),
    ("cancel_pending_order", {"order_id": "#W2417020", "reason": "no longer needed"}),
    ("modify_pending_order_payment", {"order_id": "#W2417020", "payment_method_id": "paypal_6228291"}),
    ("add_to_cart", {"item_id": "9612497925", "quantity": 2}),
    ("propose_checkout", {"shipping_method": "standard", "payment_method_id": "gift_card_8541487"}),
]


def _limiters(redis_url: str) -> list[tuple[str, RateLimiter]]:
    limiters: list[tuple[str, RateLimiter]] = [("in-process", MemoryRateLimiter())]
    try:
        import redis

        client = redis.Redis.from_url(redis_url, socket_timeout=1)
        client.ping()
    except Exception:
        return limiters
    from shopkeep.guardrails.ratelimit.redis import RedisRateLimiter

    limiters.append(("redis", RedisRateLimiter(client, namespace="shopkeep:bench:")))
    return limiters


def run(console: Console, redis_url: str) -> None:
    registry = agent_registry()
    unlimited = LimitSettings(tool_calls_per_conversation=10**9, tool_calls_per_customer=10**9)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        seed(store, read_tau2_db(demo_db_path(get_settings().data_dir)))
        ctx = ToolContext(store=store, scope="customer", customer_id=EMMA, conversation_id="bench", cart_id="bench")
        registry.call("add_to_cart", {"item_id": "9612497925", "quantity": 1}, ctx)
        table = Table(title=f"Tool-call rails per call, ms ({REPEAT} calls each)")
        for column in ("tool", "rate limits", "p50", "p95"):
            table.add_column(column, justify="left" if column in ("tool", "rate limits") else "right")
        for label, limiter in _limiters(redis_url):
            rails = ToolRails.build(unlimited, limiter)
            for name, arguments in CALLS:
                call = ToolCallCheck(registry.get(name), arguments, ctx)
                assert rails.check(call) is None, name
                p50, p95 = percentiles(time_ms(lambda c=call, r=rails: r.check(c), REPEAT))
                table.add_row(name, label, f"{p50:.3f}", f"{p95:.3f}")
        store.close()
    console.print(table)


if __name__ == "__main__":
    import os

    run(Console(width=120), os.environ.get("SHOPKEEP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
