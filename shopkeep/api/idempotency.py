"""The ``Idempotency-Key`` header on the API's writes (ACP semantics), stored with ``payments.IdempotencyKeys``.

- same key + same payload: the first response again (``Idempotent-Replayed: true``); nothing runs a second time;
- same key + another payload: 409 ``idempotency_conflict``; the first request's result stands;
- same key while the first request still runs: the duplicate waits for it (up to ``wait_s``) and returns its
  response, else 409 ``idempotency_in_progress`` with ``Retry-After``;
- a request that failed releases its key, so a retry with it runs again.

A key belongs to one route (its scope); the payload is the route's arguments and body. Card numbers in a message
are masked before the payload is hashed: a hash of a card number could be brute-forced back from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopkeep.guardrails.cards import mask_card_numbers
from shopkeep.payments.idempotency import IdempotencyKeys, Replay
from shopkeep.store.base import CommerceStore

REPLAYED_HEADER = "Idempotent-Replayed"
HEADER_DESCRIPTION = (
    "Optional, at most 255 characters. Resending a request with the same key returns the first response and runs "
    "nothing again; the same key with a different body is a 409."
)


@dataclass(frozen=True)
class Started:
    """This request owns the key: store its response with ``complete``, or ``release`` the key if it failed."""

    keys: IdempotencyKeys
    store: CommerceStore
    scope: str
    key: str

    def complete(self, response: dict[str, Any]) -> None:
        with self.store.session(write=True) as session:
            IdempotencyKeys.complete(session, self.scope, self.key, response)

    def release(self) -> None:
        self.keys.release(self.scope, self.key)


def begin(store: CommerceStore, scope: str, key: str, payload: dict[str, Any], *, wait_s: float) -> Started | Replay:
    """Claim ``key`` for this request (blocking: call it from the thread pool)."""
    keys = IdempotencyKeys(store, wait_s=wait_s)
    claim = keys.claim(scope, key, payload)
    if isinstance(claim, Replay):
        return claim
    return Started(keys, store, scope, key)


def message_payload(conversation_id: str, text: str, confirm: str | None) -> dict[str, Any]:
    """What identifies a message request (card numbers masked: see the module docstring)."""
    return {"conversation_id": conversation_id, "text": mask_card_numbers(text)[0], "confirm": confirm}
