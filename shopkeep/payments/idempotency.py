"""Idempotency keys for writes (ACP ``Idempotency-Key``): same key + same payload -> the same stored result.

A write first *claims* its key (a short transaction that inserts an ``in_progress`` record with a lease), does its
work, and *completes* the record with its result inside the transaction that commits that work, so the result is
stored if and only if the work happened. Later requests with the key:

- same payload, completed  -> the stored result, replayed; nothing runs again;
- same payload, running    -> wait for the first one (bounded), then its result; ``IdempotencyInProgressError``
  (retryable) if it is still running after ``wait_s``;
- same payload, lease over -> the first request died mid-way: this one takes over (safe because every gateway call
  below it reuses its own idempotency key, so it gets the dead request's charges back instead of charging again);
- different payload        -> ``IdempotencyConflictError``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shopkeep.domain.payments import IdempotencyRecord
from shopkeep.errors import IdempotencyConflictError, IdempotencyInProgressError, StoreIntegrityError
from shopkeep.store.base import CommerceStore, StoreSession
from shopkeep.store.payments import now_utc, payment_records


def request_hash(payload: Any) -> str:
    """The payload's fingerprint: canonical JSON (sorted keys), sha256."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Claimed:
    """This request owns the key; ``since`` is when the key was first claimed (stable across takeovers)."""

    since: datetime


@dataclass(frozen=True)
class Replay:
    """The key's first request completed; this is its result."""

    response: dict[str, Any]


class IdempotencyKeys:
    """Claims, completions and replays of idempotency keys, stored in the commerce store."""

    def __init__(
        self, store: CommerceStore, *, lease_s: float = 120.0, wait_s: float = 30.0, poll_s: float = 0.05
    ) -> None:
        self._store = store
        self._lease = timedelta(seconds=lease_s)
        self._wait_s = wait_s
        self._poll_s = poll_s

    def claim(self, scope: str, key: str, payload: Any) -> Claimed | Replay:
        wanted = request_hash(payload)
        deadline = time.monotonic() + self._wait_s
        while True:
            try:
                outcome = self._try_claim(scope, key, wanted)
            except StoreIntegrityError:
                outcome = None  # a concurrent first request inserted the key: look again
            if outcome is not None:
                return outcome
            if time.monotonic() >= deadline:
                raise IdempotencyInProgressError(key)
            time.sleep(self._poll_s)

    def _try_claim(self, scope: str, key: str, wanted: str) -> Claimed | Replay | None:
        with self._store.session(write=True) as session:
            records = payment_records(session)
            now = now_utc()
            found = records.get_idempotency(scope, key, for_update=True)
            if found is None:
                records.insert_idempotency(
                    IdempotencyRecord(
                        scope=scope,
                        key=key,
                        request_hash=wanted,
                        status="in_progress",
                        locked_until=now + self._lease,
                        created_at=now,
                        updated_at=now,
                    )
                )
                return Claimed(since=now)
            if found.request_hash != wanted:
                raise IdempotencyConflictError(key)
            if found.status == "completed":
                return Replay(found.response or {})
            if found.locked_until is not None and found.locked_until <= now:
                records.update_idempotency(scope, key, status="in_progress", locked_until=now + self._lease)
                return Claimed(since=found.created_at)
            return None

    @staticmethod
    def complete(session: StoreSession, scope: str, key: str, response: dict[str, Any]) -> None:
        """Store the result, in the caller's transaction (the one that commits the work)."""
        payment_records(session).update_idempotency(scope, key, status="completed", response=response)

    @staticmethod
    def completed(session: StoreSession, scope: str, key: str) -> dict[str, Any] | None:
        """The stored result if the key has completed (read under a row lock in a write session)."""
        found = payment_records(session).get_idempotency(scope, key, for_update=True)
        return found.response if found is not None and found.status == "completed" else None

    def release(self, scope: str, key: str) -> None:
        """Give up an unfinished claim (the work failed and changed nothing): the key may be used again."""
        with self._store.session(write=True) as session:
            records = payment_records(session)
            found = records.get_idempotency(scope, key, for_update=True)
            if found is not None and found.status == "in_progress":
                records.delete_idempotency(scope, key)

    def suspend(self, scope: str, key: str) -> None:
        """End an unfinished claim's lease but keep it: the next request with the key takes over where this one
        stopped, with the same ``since`` (and so the same gateway keys: whatever the gateway did is replayed)."""
        with self._store.session(write=True) as session:
            records = payment_records(session)
            found = records.get_idempotency(scope, key, for_update=True)
            if found is not None and found.status == "in_progress":
                records.update_idempotency(scope, key, status="in_progress", locked_until=now_utc())

    def run(self, scope: str, key: str, payload: Any, work: Callable[[StoreSession], dict[str, Any]]) -> dict[str, Any]:
        """Do a store write once per key: ``work`` runs in a write transaction that also stores its result."""
        claim = self.claim(scope, key, payload)
        if isinstance(claim, Replay):
            return claim.response
        try:
            with self._store.session(write=True) as session:
                replayed = self.completed(session, scope, key)
                if replayed is not None:
                    return replayed
                response = work(session)
                self.complete(session, scope, key, response)
        except BaseException:
            self.release(scope, key)
            raise
        return response
