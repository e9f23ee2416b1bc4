"""Persistence of payments: idempotency records, the ledger, promo codes, order charges, the sandbox's memory.

These tables live in the commerce store (migration 0003) and are reached through the same transaction as
everything else, so an order, its ledger entries, its gift-card debit and its idempotency record commit together.
They are kept out of the ``StoreSession`` Protocol on purpose: only ``payments/`` and the checkout tools use them,
and the SQL session is the one implementation behind every backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from shopkeep.domain.payments import IdempotencyRecord, LedgerEntry, OrderCharges, PromoCode
from shopkeep.store import schema as t
from shopkeep.store.base import StoreSession
from shopkeep.store.sql import SqlSession


def utc(value: datetime) -> datetime:
    """SQLite gives timestamps back without a zone; every timestamp here is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


class PaymentRecords:
    """The payments tables, inside one store transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # the gateway's own memory (the sandbox's tokens, payments and idempotency keys) -------------------------------

    def get_gateway_record(self, gateway: str, kind: str, key: str, *, for_update: bool = False) -> Any:
        table = t.gateway_records
        query = select(table.c.payload).where(
            table.c.gateway == gateway, table.c.kind == kind, table.c.record_key == key
        )
        if for_update:
            query = query.with_for_update()
        return self._conn.scalar(query)

    def insert_gateway_record(self, gateway: str, kind: str, key: str, payload: Any) -> None:
        moment = now_utc()
        self._conn.execute(
            insert(t.gateway_records).values(
                gateway=gateway, kind=kind, record_key=key, payload=payload, created_at=moment, updated_at=moment
            )
        )

    def update_gateway_record(self, gateway: str, kind: str, key: str, payload: Any) -> None:
        table = t.gateway_records
        self._conn.execute(
            update(table)
            .where(table.c.gateway == gateway, table.c.kind == kind, table.c.record_key == key)
            .values(payload=payload, updated_at=now_utc())
        )

    def gateway_records(self, gateway: str, kind: str) -> list[Any]:
        table = t.gateway_records
        query = select(table.c.payload).where(table.c.gateway == gateway, table.c.kind == kind)
        return list(self._conn.scalars(query.order_by(table.c.created_at, table.c.record_key)))

    # idempotency -------------------------------------------------------------------------------------------------

    def get_idempotency(self, scope: str, key: str, *, for_update: bool = False) -> IdempotencyRecord | None:
        table = t.idempotency_records
        query = select(table).where(table.c.scope == scope, table.c.idem_key == key)
        if for_update:
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        if row is None:
            return None
        return IdempotencyRecord(
            scope=row.scope,
            key=row.idem_key,
            request_hash=row.request_hash,
            status=row.status,
            response=row.response,
            locked_until=None if row.locked_until is None else utc(row.locked_until),
            created_at=utc(row.created_at),
            updated_at=utc(row.updated_at),
        )

    def insert_idempotency(self, record: IdempotencyRecord) -> None:
        self._conn.execute(
            insert(t.idempotency_records).values(
                scope=record.scope,
                idem_key=record.key,
                request_hash=record.request_hash,
                status=record.status,
                response=record.response,
                locked_until=record.locked_until,
                created_at=record.created_at,
                updated_at=record.updated_at,
            )
        )

    def update_idempotency(
        self, scope: str, key: str, *, status: str, response: Any = None, locked_until: datetime | None = None
    ) -> None:
        table = t.idempotency_records
        self._conn.execute(
            update(table)
            .where(table.c.scope == scope, table.c.idem_key == key)
            .values(status=status, response=response, locked_until=locked_until, updated_at=now_utc())
        )

    def delete_idempotency(self, scope: str, key: str) -> None:
        table = t.idempotency_records
        self._conn.execute(delete(table).where(table.c.scope == scope, table.c.idem_key == key))

    # the ledger ----------------------------------------------------------------------------------------------------

    def append_ledger(self, entry: LedgerEntry) -> bool:
        """Record a movement once: an entry whose ``idem_key`` is already there is not recorded again."""
        table = t.payment_ledger
        if self._conn.scalar(select(table.c.entry_id).where(table.c.idem_key == entry.idem_key)) is not None:
            return False
        self._conn.execute(insert(table).values(**entry.model_dump(exclude={"entry_id"})))
        return True

    def ledger(self, *, order_id: str | None = None, checkout_key: str | None = None) -> list[LedgerEntry]:
        table = t.payment_ledger
        query = select(table).order_by(table.c.entry_id)
        if order_id is not None:
            query = query.where(table.c.order_id == order_id)
        if checkout_key is not None:
            query = query.where(table.c.checkout_key == checkout_key)
        return [
            LedgerEntry.model_validate({**row._asdict(), "created_at": utc(row.created_at)})
            for row in self._conn.execute(query)
        ]

    def assign_ledger_order(self, checkout_key: str, order_id: str) -> None:
        table = t.payment_ledger
        self._conn.execute(update(table).where(table.c.checkout_key == checkout_key).values(order_id=order_id))

    def payment_method_exists(self, method_id: str) -> bool:
        """Whether any customer has a payment method with this id (ids are unique across the store)."""
        query = select(t.payment_methods.c.method_id).where(t.payment_methods.c.method_id == method_id)
        return self._conn.scalar(query) is not None

    # promo codes and order charges ----------------------------------------------------------------------------------

    def get_promo(self, code: str) -> PromoCode | None:
        row = self._conn.execute(select(t.promo_codes).where(t.promo_codes.c.code == code)).first()
        if row is None:
            return None
        values = row._asdict()
        return PromoCode.model_validate(
            {**values, "starts_at": utc(values["starts_at"]), "ends_at": utc(values["ends_at"])}
        )

    def save_promo(self, promo: PromoCode) -> None:
        table = t.promo_codes
        values = promo.model_dump(exclude={"code"})
        if not self._conn.execute(update(table).where(table.c.code == promo.code).values(**values)).rowcount:
            self._conn.execute(insert(table).values(code=promo.code, **values))

    def save_order_charges(self, charges: OrderCharges) -> None:
        self._conn.execute(insert(t.order_charges).values(**charges.model_dump()))

    def get_order_charges(self, order_id: str) -> OrderCharges | None:
        row = self._conn.execute(select(t.order_charges).where(t.order_charges.c.order_id == order_id)).first()
        if row is None:
            return None
        return OrderCharges.model_validate({**row._asdict(), "created_at": utc(row.created_at)})

    def charges_by_checkout_key(self, checkout_key: str) -> OrderCharges | None:
        table = t.order_charges
        row = self._conn.execute(select(table).where(table.c.checkout_key == checkout_key)).first()
        if row is None:
            return None
        return OrderCharges.model_validate({**row._asdict(), "created_at": utc(row.created_at)})


def _demo(code: str, kind: str, value: int, minimum: int, start: str, end: str, description: str) -> PromoCode:
    return PromoCode.model_validate(
        {
            "code": code,
            "kind": kind,
            "value": value,
            "min_subtotal_minor": minimum,
            "starts_at": datetime.fromisoformat(start).replace(tzinfo=UTC),
            "ends_at": datetime.fromisoformat(end).replace(tzinfo=UTC),
            "description": description,
        }
    )


DEMO_PROMO_CODES = (
    _demo("WELCOME10", "percent", 10, 0, "2025-01-01", "2031-01-01", "10% off your order"),
    _demo("SAVE20", "fixed", 2000, 15000, "2025-01-01", "2031-01-01", "$20 off orders of $150 or more"),
    _demo("BIG15", "percent", 15, 30000, "2025-01-01", "2031-01-01", "15% off orders of $300 or more"),
    _demo("SPRING24", "percent", 20, 0, "2024-03-01", "2024-06-01", "20% off (spring 2024; expired)"),
)
"""The demo store's promo codes (``shopkeep seed``); SPRING24 is expired on purpose."""


def seed_promo_codes(session: StoreSession) -> int:
    """Add the demo promo codes that are not in the store yet; returns how many were added."""
    records = payment_records(session)
    missing = [promo for promo in DEMO_PROMO_CODES if records.get_promo(promo.code) is None]
    for promo in missing:
        records.save_promo(promo)
    return len(missing)


def payment_records(session: StoreSession) -> PaymentRecords:
    """The payments tables of a store session (every backend's session is a ``SqlSession``)."""
    if not isinstance(session, SqlSession):
        raise TypeError(f"payments need the SQL store session, not {type(session).__name__}")
    return PaymentRecords(session.connection)
