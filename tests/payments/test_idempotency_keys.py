"""ACP idempotency: same key + same payload -> the stored result; same key + another payload -> a conflict."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shopkeep.errors import IdempotencyConflictError, IdempotencyInProgressError, RuleViolationError
from shopkeep.payments.idempotency import Claimed, IdempotencyKeys, Replay
from shopkeep.store import SqlCommerceStore
from shopkeep.store.base import StoreSession
from tests.support.checkout import run_together


class Counter:
    def __init__(self) -> None:
        self.runs = 0
        self._lock = threading.Lock()

    def __call__(self, session: StoreSession) -> dict[str, Any]:
        with self._lock:
            self.runs += 1
            return {"run": self.runs}


def test_the_same_key_and_payload_returns_the_stored_result(sqlite_store: SqlCommerceStore) -> None:
    keys, work = IdempotencyKeys(sqlite_store), Counter()
    first = keys.run("test", "k1", {"amount": 100}, work)
    again = keys.run("test", "k1", {"amount": 100}, work)
    assert first == again == {"run": 1} and work.runs == 1


def test_the_same_key_with_another_payload_is_a_typed_conflict(sqlite_store: SqlCommerceStore) -> None:
    keys, work = IdempotencyKeys(sqlite_store), Counter()
    keys.run("test", "k1", {"amount": 100}, work)
    with pytest.raises(IdempotencyConflictError) as conflict:
        keys.run("test", "k1", {"amount": 101}, work)
    assert conflict.value.key == "k1" and work.runs == 1
    # scopes are separate namespaces
    assert keys.run("other", "k1", {"amount": 101}, work) == {"run": 2}


def test_a_failed_write_releases_its_key(sqlite_store: SqlCommerceStore) -> None:
    keys = IdempotencyKeys(sqlite_store)

    def refuse(session: StoreSession) -> dict[str, Any]:
        raise RuleViolationError("no")

    with pytest.raises(RuleViolationError):
        keys.run("test", "k1", {"a": 1}, refuse)
    assert keys.run("test", "k1", {"a": 1}, Counter()) == {"run": 1}


def test_a_running_request_makes_the_duplicate_wait_then_retry(sqlite_store: SqlCommerceStore) -> None:
    keys = IdempotencyKeys(sqlite_store, wait_s=0.2, poll_s=0.01)
    assert isinstance(keys.claim("test", "k1", {"a": 1}), Claimed)
    with pytest.raises(IdempotencyInProgressError):
        keys.claim("test", "k1", {"a": 1})
    with pytest.raises(IdempotencyConflictError):
        keys.claim("test", "k1", {"a": 2})


def test_a_suspended_or_dead_claim_is_taken_over_with_the_same_start(sqlite_store: SqlCommerceStore) -> None:
    keys = IdempotencyKeys(sqlite_store, wait_s=0.1, poll_s=0.01)
    first = keys.claim("test", "k1", {"a": 1})
    assert isinstance(first, Claimed)
    keys.suspend("test", "k1")
    second = keys.claim("test", "k1", {"a": 1})
    assert isinstance(second, Claimed) and second.since == first.since
    dead = IdempotencyKeys(sqlite_store, lease_s=0)
    assert isinstance(dead.claim("test", "k2", {}), Claimed)
    assert isinstance(dead.claim("test", "k2", {}), Claimed)


def test_concurrent_requests_with_one_key_run_once(store: SqlCommerceStore) -> None:
    keys, work = IdempotencyKeys(store, poll_s=0.01), Counter()
    results = run_together([lambda: keys.run("test", "k1", {"amount": 5}, work)] * 4)
    assert results == [{"run": 1}] * 4 and work.runs == 1
    assert isinstance(keys.claim("test", "k1", {"amount": 5}), Replay)
