"""Errors that are both domain errors and retryable map by what a client should do: retry (503 or 409 with
``Retry-After``), not give up (422)."""

from __future__ import annotations

from shopkeep.api.errors import api_error
from shopkeep.errors import (
    GatewayUnavailableError,
    IdempotencyConflictError,
    IdempotencyInProgressError,
    PaymentDeclinedError,
    RetryableError,
)


def test_a_gateway_outage_is_a_503_with_retry_after() -> None:
    error = api_error(GatewayUnavailableError("The payment service did not answer"))
    assert error.status == 503 and error.headers["Retry-After"] == "5"
    assert error.body.code == "service_unavailable"


def test_a_key_still_in_progress_is_a_retryable_409_and_a_reused_key_a_final_409() -> None:
    busy = IdempotencyInProgressError("k")
    assert isinstance(busy, RetryableError) and isinstance(busy, IdempotencyConflictError)
    in_progress = api_error(busy)
    assert (in_progress.status, in_progress.body.code, in_progress.headers) == (
        409,
        "idempotency_in_progress",
        {"Retry-After": "1"},
    )
    conflict = api_error(IdempotencyConflictError("k"))
    assert (conflict.status, conflict.body.code, conflict.headers) == (409, "idempotency_conflict", {})


def test_a_terminal_payment_error_stays_a_422() -> None:
    declined = api_error(PaymentDeclinedError("The card was declined"))
    assert declined.status == 422 and declined.body.code == "rule_violation" and declined.body.message
