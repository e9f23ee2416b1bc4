"""Signed webhooks on escalations: a new ticket, a claim, a resolution (``SHOPKEEP_ESCALATION__WEBHOOK_URL``).

Each delivery is a JSON ``POST`` of ``{"id", "event", "created_at", "data"}`` with the headers

- ``X-Shopkeep-Event``: the event (``escalation.created``, ``escalation.claimed``, ``escalation.resolved``);
- ``X-Shopkeep-Delivery``: the delivery id (the same on every retry of one delivery: deduplicate by it);
- ``X-Shopkeep-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the exact body bytes, keyed with
  ``SHOPKEEP_ESCALATION__WEBHOOK_SECRET``. Receivers recompute it over the raw body and compare in constant time.

Deliveries run on a small background pool, never in the chat's path. A network error, a timeout, a 429 or a 5xx is
retried with exponential back-off (tenacity) up to ``webhook_attempts`` times; other answers are final.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from shopkeep.metrics import WEBHOOK_DELIVERIES

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Shopkeep-Signature"
EVENT_HEADER = "X-Shopkeep-Event"
DELIVERY_HEADER = "X-Shopkeep-Delivery"


class _RetryableStatusError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def sign(secret: str, body: bytes) -> str:
    """The ``X-Shopkeep-Signature`` value for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    """Sends signed escalation events to one URL in the background, with retries."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        attempts: int = 5,
        wait_s: float = 0.5,
        timeout_s: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        self._url = url
        self._secret = secret
        self._attempts = attempts
        self._wait_s = wait_s
        self._client = client or httpx.Client(timeout=timeout_s)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="shopkeep-webhook")

    def send(self, event: str, data: dict[str, Any]) -> Future[bool]:
        """Queue one delivery; the future tells whether it was accepted (2xx) in the end."""
        delivery = uuid.uuid4().hex
        payload = {"id": delivery, "event": event, "created_at": datetime.now(UTC).isoformat(), "data": data}
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        return self._pool.submit(self._deliver, event, delivery, body)

    def _deliver(self, event: str, delivery: str, body: bytes) -> bool:
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery,
            SIGNATURE_HEADER: sign(self._secret, body),
        }
        retrying = Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._wait_s, max=30),
            retry=retry_if_exception_type((httpx.TransportError, _RetryableStatusError)),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    status = self._client.post(self._url, content=body, headers=headers).status_code
                    if status == 429 or status >= 500:
                        raise _RetryableStatusError(status)
        except (httpx.TransportError, _RetryableStatusError) as exc:
            log.warning("webhook_failed", hook_event=event, delivery=delivery, error=str(exc), attempts=self._attempts)
            WEBHOOK_DELIVERIES.labels(outcome="failed").inc()
            return False
        if status >= 300:
            log.warning("webhook_refused", hook_event=event, delivery=delivery, status=status)
            WEBHOOK_DELIVERIES.labels(outcome="refused").inc()
            return False
        WEBHOOK_DELIVERIES.labels(outcome="delivered").inc()
        return True

    def close(self) -> None:
        """Let queued deliveries finish, then close the client."""
        self._pool.shutdown(wait=True)
        self._client.close()
