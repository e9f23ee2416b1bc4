"""The sandbox gateway behaves like a card processor's test mode, and never acts twice for one idempotency key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shopkeep.domain.payments import Allowance, PaymentStatus
from shopkeep.errors import (
    AllowanceExceededError,
    GatewayUnavailableError,
    IdempotencyConflictError,
    InvalidStateError,
    RuleViolationError,
)
from shopkeep.payments import GatewayPolicy, MemoryCardVault, ResilientGateway, SandboxFaults, SandboxGateway
from shopkeep.store import SqlCommerceStore, open_store
from tests.support.checkout import DECLINED, NEEDS_3DS, NETWORK_ERROR, VISA_OK, run_together

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
def vault() -> MemoryCardVault:
    return MemoryCardVault()


@pytest.fixture
def sandbox(sqlite_store: SqlCommerceStore, vault: MemoryCardVault) -> SandboxGateway:
    return SandboxGateway(sqlite_store, vault, clock=lambda: NOW)


def retrying(sandbox: SandboxGateway, timeout_s: float = 5.0) -> ResilientGateway:
    return ResilientGateway(sandbox, GatewayPolicy(timeout_s=timeout_s, max_retries=2, retry_wait_s=0))


def token_for(sandbox: SandboxGateway, vault: MemoryCardVault, number: str, key: str = "t1", **kw: object) -> str:
    return sandbox.tokenize(vault.put(number).token, idempotency_key=key, **kw).token  # type: ignore[arg-type]


def test_a_good_card_is_authorized_captured_and_refunded(sandbox: SandboxGateway, vault: MemoryCardVault) -> None:
    issued = sandbox.tokenize(vault.put(VISA_OK).token, idempotency_key="t1")
    assert (issued.brand, issued.last_four) == ("visa", "4242")
    held = sandbox.authorize(issued.token, 5000, "USD", idempotency_key="a1")
    assert held.status is PaymentStatus.AUTHORIZED and held.captured == 0
    taken = sandbox.capture(held.payment_id, 5000, idempotency_key="c1")
    assert taken.status is PaymentStatus.CAPTURED and taken.captured == 5000
    assert sandbox.refund(held.payment_id, 2000, idempotency_key="r1").refunded == 2000
    with pytest.raises(RuleViolationError):
        sandbox.refund(held.payment_id, 3001, idempotency_key="r2")
    with pytest.raises(InvalidStateError):
        sandbox.void(held.payment_id, idempotency_key="v1")
    with pytest.raises(InvalidStateError):
        sandbox.capture(held.payment_id, 5000, idempotency_key="c2")


@pytest.mark.parametrize(
    ("number", "status", "code"),
    [
        (DECLINED, PaymentStatus.DECLINED, "card_declined"),
        ("4000000000009995", PaymentStatus.DECLINED, "insufficient_funds"),
        ("4111111111111111", PaymentStatus.DECLINED, "live_card_in_test_mode"),
        (NEEDS_3DS, PaymentStatus.REQUIRES_ACTION, None),
        ("5555555555554444", PaymentStatus.AUTHORIZED, None),
    ],
)
def test_test_card_numbers_decide_the_outcome(
    sandbox: SandboxGateway, vault: MemoryCardVault, number: str, status: PaymentStatus, code: str | None
) -> None:
    held = sandbox.authorize(token_for(sandbox, vault, number), 1000, "USD", idempotency_key="a1")
    assert (held.status, held.decline_code) == (status, code)
    if status is PaymentStatus.REQUIRES_ACTION:
        assert held.next_action == "3ds_authentication"
        assert sandbox.void(held.payment_id, idempotency_key="v1").status is PaymentStatus.VOIDED


def test_the_network_error_card_is_retryable_and_retried_then_reported(
    sandbox: SandboxGateway, vault: MemoryCardVault
) -> None:
    token = token_for(sandbox, vault, NETWORK_ERROR)
    with pytest.raises(GatewayUnavailableError) as raised:
        retrying(sandbox).authorize(token, 1000, "USD", idempotency_key="a1")
    assert raised.value.message.endswith("nothing was charged")
    assert sandbox.calls["authorize"] == 3
    assert sandbox.payments() == []


def test_a_saved_method_at_the_processor_succeeds(sandbox: SandboxGateway) -> None:
    token = sandbox.tokenize("paypal_6228291", idempotency_key="t1").token
    assert sandbox.authorize(token, 100, "USD", idempotency_key="a1").status is PaymentStatus.AUTHORIZED


def test_the_same_key_returns_the_first_result(sandbox: SandboxGateway, vault: MemoryCardVault) -> None:
    token = token_for(sandbox, vault, VISA_OK)
    first = sandbox.authorize(token, 1000, "USD", idempotency_key="a1")
    again = sandbox.authorize(token, 1000, "USD", idempotency_key="a1")
    assert first == again and len(sandbox.payments()) == 1
    sandbox.capture(first.payment_id, 1000, idempotency_key="c1")
    assert sandbox.capture(first.payment_id, 1000, idempotency_key="c1").captured == 1000


def test_the_same_key_with_another_payload_is_a_conflict(sandbox: SandboxGateway, vault: MemoryCardVault) -> None:
    token = token_for(sandbox, vault, VISA_OK)
    sandbox.authorize(token, 1000, "USD", idempotency_key="a1")
    with pytest.raises(IdempotencyConflictError):
        sandbox.authorize(token, 1001, "USD", idempotency_key="a1")


def test_a_lost_response_is_retried_and_charges_once(sandbox: SandboxGateway, vault: MemoryCardVault) -> None:
    token = token_for(sandbox, vault, "5555555555554444")
    sandbox.faults.lose_responses = 2
    gateway = retrying(sandbox)
    held = gateway.authorize(token, 1000, "USD", idempotency_key="a1")
    sandbox.faults.lose_responses = 1
    taken = gateway.capture(held.payment_id, 1000, idempotency_key="c1")
    assert taken.captured == 1000
    assert sandbox.calls["authorize"] == 3 and sandbox.calls["capture"] == 2
    assert [p.captured for p in sandbox.payments()] == [1000]


def test_a_request_that_never_arrived_is_simply_sent_again(sandbox: SandboxGateway, vault: MemoryCardVault) -> None:
    token = token_for(sandbox, vault, VISA_OK)
    sandbox.faults.fail_requests = 2
    assert retrying(sandbox).authorize(token, 1000, "USD", idempotency_key="a1").status is PaymentStatus.AUTHORIZED
    assert len(sandbox.payments()) == 1


def test_a_slow_answer_times_out_and_the_retry_gets_the_first_result(
    sandbox: SandboxGateway, vault: MemoryCardVault
) -> None:
    token = token_for(sandbox, vault, VISA_OK)
    sandbox.faults.slow_responses, sandbox.faults.slow_s = 1, 0.5
    held = retrying(sandbox, timeout_s=0.1).authorize(token, 1000, "USD", idempotency_key="a1")
    assert held.status is PaymentStatus.AUTHORIZED
    assert sandbox.calls["authorize"] == 2 and len(sandbox.payments()) == 1


def test_the_sandbox_remembers_keys_across_restarts(tmp_path: Path, sqlite_store: SqlCommerceStore) -> None:
    vault = MemoryCardVault()
    url = sqlite_store.url
    first = SandboxGateway(sqlite_store, vault)
    token = first.tokenize(vault.put(VISA_OK).token, idempotency_key="t1").token
    held = first.authorize(token, 1000, "USD", idempotency_key="a1")
    sqlite_store.close()
    reopened = open_store(url)
    try:
        restarted = SandboxGateway(reopened, MemoryCardVault(), faults=SandboxFaults())
        assert restarted.authorize(token, 1000, "USD", idempotency_key="a1") == held
        assert len(restarted.payments()) == 1
    finally:
        reopened.close()


def allowance(**overrides: object) -> Allowance:
    values: dict[str, object] = {
        "max_amount": 5000,
        "currency": "USD",
        "expires_at": NOW + timedelta(minutes=15),
        "merchant_id": "shopkeep-demo",
        "checkout_session_id": "co_1",
    }
    return Allowance.model_validate({**values, **overrides})


@pytest.mark.parametrize(
    ("scope", "amount", "currency", "message"),
    [
        ({}, 5001, "USD", "more than the customer approved"),
        ({}, 100, "EUR", "only for USD payments"),
        ({"expires_at": NOW - timedelta(seconds=1)}, 100, "USD", "expired"),
        ({"merchant_id": "someone-else"}, 100, "USD", "another merchant"),
    ],
)
def test_a_delegated_token_never_pays_outside_its_allowance(
    sandbox: SandboxGateway, vault: MemoryCardVault, scope: dict[str, object], amount: int, currency: str, message: str
) -> None:
    token = sandbox.tokenize(vault.put(VISA_OK).token, idempotency_key="t1", allowance=allowance(**scope)).token
    with pytest.raises(AllowanceExceededError) as refused:
        sandbox.authorize(token, amount, currency, idempotency_key="a1")
    assert message in refused.value.message
    assert sandbox.payments() == []


def test_a_delegated_token_pays_up_to_its_allowance_once(sandbox: SandboxGateway, vault: MemoryCardVault) -> None:
    token = sandbox.tokenize(vault.put(VISA_OK).token, idempotency_key="t1", allowance=allowance()).token
    assert sandbox.authorize(token, 5000, "USD", idempotency_key="a1").status is PaymentStatus.AUTHORIZED
    # the same request again is a replay, not a second use...
    assert len({sandbox.authorize(token, 5000, "USD", idempotency_key="a1").payment_id}) == 1
    # ...but a new one is refused: the token is one-time
    with pytest.raises(AllowanceExceededError, match="already used"):
        sandbox.authorize(token, 1, "USD", idempotency_key="a2")


def test_concurrent_calls_with_one_key_act_once(store: SqlCommerceStore) -> None:
    vault = MemoryCardVault()
    sandbox = SandboxGateway(store, vault)
    token = sandbox.tokenize(vault.put(VISA_OK).token, idempotency_key="t1").token
    results = run_together([lambda: sandbox.authorize(token, 1000, "USD", idempotency_key="a1")] * 4)
    assert len({r.payment_id for r in results}) == 1
    assert len(sandbox.payments()) == 1
