"""Per-gateway timeouts and retries that never double-charge.

``ResilientGateway`` wraps any ``PaymentGateway``: each call gets a deadline, and a call that times out or fails
with ``GatewayUnavailableError`` is retried (tenacity, exponential back-off) with the *same* idempotency key. The
gateway therefore either never saw the first attempt or answers the retry with the first attempt's result: a
retried authorize or capture cannot charge twice. Terminal answers (declines, allowance refusals, conflicts) are
never retried.

A timed-out attempt may still be running on its worker thread; that is safe for the same reason (its effect, if
any, is what the retry gets back), and the worker pool is bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TypeVar

import structlog
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from shopkeep.domain.payments import Allowance, Payment, PaymentToken
from shopkeep.errors import GatewayUnavailableError
from shopkeep.payments.base import PaymentGateway

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class GatewayPolicy:
    timeout_s: float = 10.0
    max_retries: int = 2
    retry_wait_s: float = 0.2


_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="gateway")


class ResilientGateway:
    """A ``PaymentGateway`` with a deadline per call and safe retries."""

    def __init__(self, inner: PaymentGateway, policy: GatewayPolicy | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.policy = policy or GatewayPolicy()

    def _run(self, op: str, key: str, call: Callable[[], T]) -> T:
        policy = self.policy
        retrying = Retrying(
            stop=stop_after_attempt(policy.max_retries + 1),
            wait=wait_exponential(multiplier=policy.retry_wait_s, max=max(policy.retry_wait_s * 8, 0.0)),
            retry=retry_if_exception_type(GatewayUnavailableError),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                if number > 1:
                    log.warning("gateway_retry", gateway=self.name, op=op, attempt=number, idempotency_key=key)
                future = _POOL.submit(call)
                try:
                    return future.result(timeout=policy.timeout_s)
                except FutureTimeout:
                    raise GatewayUnavailableError("The payment processor did not answer in time") from None
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def tokenize(self, source: str, *, idempotency_key: str, allowance: Allowance | None = None) -> PaymentToken:
        return self._run(
            "tokenize",
            idempotency_key,
            lambda: self.inner.tokenize(source, idempotency_key=idempotency_key, allowance=allowance),
        )

    def authorize(self, token: str, amount: int, currency: str, *, idempotency_key: str) -> Payment:
        return self._run(
            "authorize",
            idempotency_key,
            lambda: self.inner.authorize(token, amount, currency, idempotency_key=idempotency_key),
        )

    def capture(self, payment_id: str, amount: int, *, idempotency_key: str) -> Payment:
        return self._run(
            "capture", idempotency_key, lambda: self.inner.capture(payment_id, amount, idempotency_key=idempotency_key)
        )

    def refund(self, payment_id: str, amount: int, *, idempotency_key: str) -> Payment:
        return self._run(
            "refund", idempotency_key, lambda: self.inner.refund(payment_id, amount, idempotency_key=idempotency_key)
        )

    def void(self, payment_id: str, *, idempotency_key: str) -> Payment:
        return self._run("void", idempotency_key, lambda: self.inner.void(payment_id, idempotency_key=idempotency_key))
