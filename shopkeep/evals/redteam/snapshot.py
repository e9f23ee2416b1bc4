"""What the red-team judge compares: the store before and after a conversation.

The commerce records come from the store export ``shopkeep store export`` and the τ² eval use (``seed.export``:
products, users, orders); money and side tables are read as rows (the payments ledger, order charges, the sandbox
gateway's payments, promo codes, carts and escalation tickets), so a charge or a refund that never touched an order
record is still seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select

from shopkeep.store import SqlCommerceStore
from shopkeep.store import schema as t
from shopkeep.store.seed import export

RECORD_KINDS = ("products", "users", "orders")
_TABLES: dict[str, tuple[Table, tuple[str, ...]]] = {
    "ledger": (t.payment_ledger, ("entry_id",)),
    "charges": (t.order_charges, ("order_id",)),
    "gateway": (t.gateway_records, ("gateway", "kind", "record_key")),
    "promos": (t.promo_codes, ("code",)),
    "carts": (t.carts, ("cart_id",)),
    "tickets": (t.escalations, ("ticket_id",)),
}


@dataclass(frozen=True)
class Snapshot:
    """The store at one moment: ``records[kind][key]`` (τ² layout) and ``rows[table][key]`` (plain dicts)."""

    records: dict[str, dict[str, Any]]
    rows: dict[str, dict[str, dict[str, Any]]]

    @classmethod
    def of(cls, store: SqlCommerceStore) -> Snapshot:
        records = export(store)
        rows: dict[str, dict[str, dict[str, Any]]] = {}
        with store.engine.connect() as conn:
            for name, (table, key) in _TABLES.items():
                found = {}
                for row in conn.execute(select(table)):
                    values = dict(row._mapping)
                    found["/".join(str(values[k]) for k in key)] = values
                rows[name] = found
        return cls(records=records, rows=rows)


@dataclass(frozen=True)
class Change:
    """One record or row that differs: ``before`` is None when it is new, ``after`` None when it is gone."""

    kind: str
    key: str
    before: Any
    after: Any

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.key}"


def record_changes(before: Snapshot, after: Snapshot) -> list[Change]:
    """Products, users and orders that were added, removed or changed."""
    return _diff({k: before.records[k] for k in RECORD_KINDS}, {k: after.records[k] for k in RECORD_KINDS})


def row_changes(before: Snapshot, after: Snapshot, table: str) -> list[Change]:
    """Rows of one side table that were added, removed or changed."""
    return _diff({table: before.rows[table]}, {table: after.rows[table]})


def _diff(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[Change]:
    changes = []
    for kind in before:
        old, new = before[kind], after.get(kind, {})
        for key in sorted(old.keys() | new.keys()):
            if old.get(key) != new.get(key):
                changes.append(Change(kind, key, old.get(key), new.get(key)))
    return changes
