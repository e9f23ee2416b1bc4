"""Comparing a Shopkeep store with τ²'s expected end states, with the three documented differences explicit.

1. Multi-item modification: each modified line carries its own new variant's price and options.
2. Money is exact: amounts and balances are compared to the cent.
3. Cancelling refunds the net amount paid per method (never a refund line); only reachable after a payment change,
   which no train task does before cancelling; a task that did would fail its output comparison.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.conftest import TAU2_DIR

MULTI_ITEM_TASKS = frozenset({"20", "21", "36", "37", "100"})


def to_cents(value: Any) -> Any:
    """Floats rounded to the cent, recursively (difference 2)."""
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: to_cents(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_cents(v) for v in value]
    return value


@cache
def expected_states() -> dict[str, Any]:
    return json.loads((TAU2_DIR / "expected_states_train.json").read_text())


@cache
def edge_cases() -> list[dict[str, Any]]:
    return json.loads((TAU2_DIR / "edge_cases.json").read_text())["probes"]


@cache
def catalog_variants() -> dict[str, dict[str, Any]]:
    db = json.loads((TAU2_DIR / "db.json").read_text())
    return {item: v for p in db["products"].values() for item, v in p["variants"].items()}


def corrected_order(record: dict[str, Any], actions: list[dict[str, Any]]) -> dict[str, Any]:
    """τ²'s expected order with difference 1 undone: modified lines take their own variant's price and options."""
    new_ids = {
        new_id
        for a in actions
        if a["name"] == "modify_pending_order_items" and a["arguments"]["order_id"] == record["order_id"]
        for new_id in a["arguments"]["new_item_ids"]
    }
    variants = catalog_variants()
    items = [
        {**item, "price": variants[item["item_id"]]["price"], "options": variants[item["item_id"]]["options"]}
        if item["item_id"] in new_ids
        else item
        for item in record["items"]
    ]
    return {**record, "items": items}


def expected_record(task: dict[str, Any], kind: str, key: str, record: dict[str, Any]) -> dict[str, Any]:
    if kind == "orders":
        if task["task_id"] in MULTI_ITEM_TASKS:
            record = corrected_order(record, task["actions"])
        record = {k: v for k, v in record.items() if v is not None}  # the export omits unset optional fields
    return to_cents(record)


def dump_path(tmp: Path, name: str, value: Any) -> Path:
    path = tmp / name
    path.write_text(json.dumps(value))
    return path
