"""Data retention across everything that holds a conversation: the store, the checkpointer and the card vault.

- ``forget_customer``: a customer's right to erasure. Their conversations go everywhere (events, tickets, carts,
  stored API responses, checkpoints, vaulted cards typed in them); their orders stay, as the law requires, under a
  pseudonym with the personal fields blanked (``store.retention``).
- ``expire_conversations``: conversations idle for longer than the retention period
  (``SHOPKEEP_RETENTION__CONVERSATION_DAYS``) are deleted the same way; the service sweeps them periodically.

Checkpoints and vault entries go first, the store last in one transaction: a run that fails half-way is run again
and finds the same conversations (the store still links them to the customer).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from shopkeep.payments.vault import CardVault, default_vault
from shopkeep.settings import Settings
from shopkeep.store import retention
from shopkeep.store.base import CommerceStore
from shopkeep.store.sql import SqlCommerceStore

log = structlog.get_logger(__name__)

_VAULT_TOKEN = re.compile(r"\bvt_[0-9a-f]{24}\b")


@dataclass(frozen=True)
class Erasure:
    """What ``forget_customer`` or ``expire_conversations`` removed (or would, on a dry run)."""

    customers: list[str]
    """The pseudonyms the forgotten customers' orders now carry."""
    conversations: int
    rows: int
    checkpoints: int
    vault_entries: int
    orders_anonymised: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "conversations": self.conversations,
            "rows": self.rows,
            "checkpoints": self.checkpoints,
            "vault_entries": self.vault_entries,
            "orders_anonymised": self.orders_anonymised,
        }


def _delete_checkpoints(checkpointer: Any, conversation_ids: list[str]) -> int:
    for conversation_id in conversation_ids:
        checkpointer.delete_thread(conversation_id)
    return len(conversation_ids)


def _forget_cards(vault: CardVault | None, texts: list[str]) -> int:
    tokens = {token for text in texts for token in _VAULT_TOKEN.findall(text)}
    if vault is not None:
        for token in tokens:
            vault.forget(token)
    return len(tokens)


def forget_customer(
    store: SqlCommerceStore, checkpointer: Any, vault: CardVault | None, email: str, *, dry_run: bool = False
) -> Erasure:
    """Erase the customer(s) with this email (see the module docstring)."""
    with store.session() as session:
        customer_ids = session.find_customer_ids_by_email(email)
        conversations = retention.conversations_of(session, customer_ids, email)
        texts = retention.conversation_texts(session, conversations)
    if dry_run:
        return Erasure(customer_ids, len(conversations), 0, len(conversations), _forget_cards(None, texts), 0)
    checkpoints = _delete_checkpoints(checkpointer, conversations)
    cards = _forget_cards(vault, texts)
    pseudonyms: list[str] = []
    orders = 0
    with store.session(write=True) as session:
        rows = retention.delete_conversations(session, conversations)
        for customer_id in customer_ids:
            pseudonym, anonymised = retention.anonymise_customer(session, customer_id)
            pseudonyms.append(pseudonym)
            orders += anonymised
    erasure = Erasure(pseudonyms, len(conversations), rows, checkpoints, cards, orders)
    log.info("customer_forgotten", **erasure.as_dict())
    return erasure


def expire_conversations(
    store: SqlCommerceStore,
    checkpointer: Any,
    vault: CardVault | None,
    days: int,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> Erasure:
    """Delete the conversations whose last event is more than ``days`` days old."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    with store.session() as session:
        conversations = retention.conversations_idle_since(session, cutoff)
        texts = retention.conversation_texts(session, conversations)
    if dry_run or not conversations:
        return Erasure([], len(conversations), 0, 0, _forget_cards(None, texts), 0)
    checkpoints = _delete_checkpoints(checkpointer, conversations)
    cards = _forget_cards(vault, texts)
    with store.session(write=True) as session:
        rows = retention.delete_conversations(session, conversations, api_records_before=cutoff)
    erasure = Erasure([], len(conversations), rows, checkpoints, cards, 0)
    log.info("conversations_expired", days=days, **erasure.as_dict())
    return erasure


async def _sweep(store: SqlCommerceStore, checkpointer: Any, vault: CardVault, days: int, interval_s: float) -> None:
    while True:
        try:
            await asyncio.to_thread(expire_conversations, store, checkpointer, vault, days)
        except Exception:
            log.exception("retention_sweep_failed")
        await asyncio.sleep(interval_s)


def start_sweeper(settings: Settings, store: CommerceStore, checkpointer: Any) -> asyncio.Task[None] | None:
    """With ``SHOPKEEP_RETENTION__CONVERSATION_DAYS`` set, a background task of the running service that expires
    old conversations every ``SHOPKEEP_RETENTION__SWEEP_INTERVAL_S`` (each worker sweeps; deleting twice is harmless).
    """
    days = settings.retention.conversation_days
    if not days or not isinstance(store, SqlCommerceStore):
        return None
    vault = default_vault(settings.payments)
    return asyncio.create_task(_sweep(store, checkpointer, vault, days, settings.retention.sweep_interval_s))
