"""What the store holds about conversations and customers, found and erased for data retention.

A conversation's data is every row of every table with a ``conversation_id`` column (events, escalation tickets,
and any table added later that records conversations), its cart (a cart's id is its conversation's id), and the
API's stored idempotent responses that quote it. Orders, payments, charges and the ledger are records a shop must
keep: ``anonymise_customer`` keeps them and replaces the customer's personal fields instead (name, email, addresses,
the user id itself, which often spells the name), in the customer's orders and stored checkout results too.

Functions take a write session (``store.session(write=True)``) so each erasure is one transaction.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Text, delete, func, insert, select, type_coerce, update

from shopkeep.store import schema as t
from shopkeep.store.sql import ADDRESS_FIELDS, SqlSession

API_SCOPES = "api:%"
"""Idempotency records of the API's routes (their stored responses quote conversations); checkouts are kept."""
CHECKOUT_SCOPE = "checkout"
"""The checkout tool's idempotency scope (``tools.checkout.CHECKOUT_SCOPE``: ``store/`` does not import ``tools/``)."""
ERASED_DOMAIN = "erased.invalid"
KEPT_ADDRESS_FIELDS = ("state", "country")
"""What an anonymised order keeps of its shipping address: the tax jurisdiction."""
_CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def conversation_tables() -> list[Table]:
    """Every table that records something per conversation."""
    return [table for table in t.metadata.sorted_tables if "conversation_id" in table.c]


def conversations_of(session: SqlSession, customer_ids: Sequence[str], email: str) -> list[str]:
    """The conversations of these customers: events recorded for them, their tickets and carts, and older
    conversations whose tool calls were given their email."""
    conn = session.connection
    events = t.conversation_events.c
    found: set[str] = set()
    if customer_ids:
        found.update(conn.scalars(select(events.conversation_id).where(events.customer_id.in_(customer_ids))))
        found.update(
            conn.scalars(select(t.escalations.c.conversation_id).where(t.escalations.c.customer_id.in_(customer_ids)))
        )
        found.update(conn.scalars(select(t.carts.c.cart_id).where(t.carts.c.customer_id.in_(customer_ids))))
    quoted = json.dumps(email.strip().lower())
    found.update(
        conn.scalars(
            select(events.conversation_id)
            .where(events.kind == "tool")
            .where(func.lower(type_coerce(events.payload, Text)).contains(quoted, autoescape=True))
        )
    )
    return sorted(found)


def conversations_idle_since(session: SqlSession, cutoff: datetime) -> list[str]:
    """Conversations whose last event is older than ``cutoff``."""
    events = t.conversation_events.c
    query = select(events.conversation_id).group_by(events.conversation_id).having(func.max(events.created_at) < cutoff)
    return sorted(session.connection.scalars(query))


def conversation_texts(session: SqlSession, conversation_ids: Sequence[str]) -> list[str]:
    """The customer's messages of these conversations (to find the vault tokens they hold)."""
    events = t.conversation_events.c
    texts: list[str] = []
    for chunk in _chunks(conversation_ids):
        query = select(events.payload).where(events.conversation_id.in_(chunk)).where(events.kind == "user")
        texts.extend(str(payload.get("text", "")) for payload in session.connection.scalars(query))
    return texts


def delete_conversations(
    session: SqlSession, conversation_ids: Sequence[str], *, api_records_before: datetime | None = None
) -> int:
    """Delete every row about these conversations; returns how many rows went. API idempotency records are found
    by the conversation ids they quote, or, with ``api_records_before``, all those older than that."""
    conn = session.connection
    deleted = 0
    for chunk in _chunks(conversation_ids):
        tickets = select(t.escalations.c.ticket_id).where(t.escalations.c.conversation_id.in_(chunk))
        deleted += conn.execute(delete(t.ticket_notes).where(t.ticket_notes.c.ticket_id.in_(tickets))).rowcount
        for table in conversation_tables():
            deleted += conn.execute(delete(table).where(table.c.conversation_id.in_(chunk))).rowcount
        deleted += conn.execute(delete(t.carts).where(t.carts.c.cart_id.in_(chunk))).rowcount
    records = t.idempotency_records.c
    api = delete(t.idempotency_records).where(records.scope.like(API_SCOPES))
    if api_records_before is not None:
        deleted += conn.execute(api.where(records.created_at < api_records_before)).rowcount
    else:
        for conversation_id in conversation_ids:
            quoted = type_coerce(records.response, Text).contains(conversation_id, autoescape=True)
            deleted += conn.execute(api.where(quoted)).rowcount
    return deleted


def anonymise_customer(session: SqlSession, user_id: str) -> tuple[str, int]:
    """Replace the customer's personal fields and user id by a pseudonym, in place: their orders, payment methods
    and charges stay, now under the pseudonym. Returns the pseudonym and how many orders were anonymised."""
    conn = session.connection
    row = conn.execute(select(t.customers).where(t.customers.c.user_id == user_id).with_for_update()).first()
    if row is None:
        return user_id, 0
    pseudonym = f"erased_{secrets.token_hex(6)}"
    email = f"{pseudonym}@{ERASED_DOMAIN}"
    personal = {"first_name": None, "last_name": None, "email": email, "email_lower": email}
    values = {**row._asdict(), **personal, **dict.fromkeys(ADDRESS_FIELDS, None), "user_id": pseudonym}
    conn.execute(insert(t.customers).values(**values))
    for table in (t.payment_methods, t.customer_orders, t.order_charges):
        conn.execute(update(table).where(table.c.user_id == user_id).values(user_id=pseudonym))
    blanked = {name: None for name in ADDRESS_FIELDS if name not in KEPT_ADDRESS_FIELDS}
    orders = conn.execute(update(t.orders).where(t.orders.c.user_id == user_id).values(user_id=pseudonym, **blanked))
    conn.execute(update(t.carts).where(t.carts.c.customer_id == user_id).values(customer_id=None))
    conn.execute(update(t.escalations).where(t.escalations.c.customer_id == user_id).values(customer_id=None))
    conn.execute(delete(t.customers).where(t.customers.c.user_id == user_id))
    _anonymise_checkouts(session, user_id, pseudonym)
    return pseudonym, orders.rowcount


def _anonymise_checkouts(session: SqlSession, user_id: str, pseudonym: str) -> None:
    """The stored results of the customer's checkouts quote the customer and the shipping address: the pseudonym
    and the kept address fields replace them, as in the order (the records themselves stay, so a retried checkout
    still replays instead of charging again)."""
    conn = session.connection
    keys = select(t.order_charges.c.checkout_key).where(t.order_charges.c.user_id == pseudonym)
    records = t.idempotency_records.c
    query = select(records.scope, records.idem_key, records.response).where(
        records.scope == CHECKOUT_SCOPE, records.idem_key.in_(keys)
    )
    for scope, key, response in conn.execute(query).all():
        scrubbed = _without_address(_renamed(response, user_id, pseudonym))
        conn.execute(
            update(t.idempotency_records)
            .where(records.scope == scope, records.idem_key == key)
            .values(response=scrubbed)
        )


def _renamed(value: Any, old: str, new: str) -> Any:
    """``value`` with every string equal to ``old`` replaced by ``new``."""
    if isinstance(value, dict):
        return {k: _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    return new if value == old else value


def _without_address(value: Any) -> Any:
    """``value`` with every address in it reduced to its kept fields."""
    if isinstance(value, dict):
        if {"address1", "zip"} <= value.keys():
            return {k: (v if k in KEPT_ADDRESS_FIELDS or k not in ADDRESS_FIELDS else "") for k, v in value.items()}
        return {k: _without_address(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_address(v) for v in value]
    return value
