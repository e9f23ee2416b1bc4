"""The ``sandbox`` gateway: a card processor's test mode, embedded, remembering everything in the store.

Test card numbers decide what happens, as in a processor's test mode:

==========================  ==========================================================
``4242424242424242``        succeeds (any other Visa/Mastercard test number too, below)
``5555555555554444``        succeeds (Mastercard)
``4000000000000002``        declined (``card_declined``)
``4000000000009995``        declined (``insufficient_funds``)
``4000002500003155``        ``requires_action``: the issuer wants 3-D Secure
``4000000000000119``        a processing/network error on every authorization: retryable
==========================  ==========================================================

Any other valid number is declined with ``live_card_in_test_mode``: the sandbox never pretends to charge a real
card. Payment methods saved at the processor (the demo customers' ``credit_card_…`` and ``paypal_…`` ids) succeed.

Its memory (tokens, payments, and every idempotency key with the first response) is persisted in the store's
``gateway_records`` table, each call in its own transaction, independent of the caller's: like a real processor,
what it did survives the merchant's rollbacks and restarts. The raw number is redeemed from the card vault inside
``tokenize`` and dropped; only the brand, the last four and the test behaviour are kept.

``SandboxFaults`` injects transport failures for tests: a request that never arrives, or one that is processed but
whose response is lost (the case that double-charges without idempotency keys), or one that answers too slowly.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shopkeep.domain.payments import Allowance, Payment, PaymentStatus, PaymentToken
from shopkeep.errors import (
    AllowanceExceededError,
    GatewayUnavailableError,
    IdempotencyConflictError,
    InvalidStateError,
    NotFoundError,
    RuleViolationError,
    StoreIntegrityError,
)
from shopkeep.payments.vault import CardVault, card_brand, is_vault_token
from shopkeep.store.base import CommerceStore
from shopkeep.store.payments import PaymentRecords, payment_records

SUCCEEDS = "succeeds"
DECLINED = "declined"
INSUFFICIENT_FUNDS = "insufficient_funds"
REQUIRES_ACTION = "requires_action"
PROCESSING_ERROR = "processing_error"
LIVE_CARD = "live_card_in_test_mode"

TEST_CARDS: dict[str, str] = {
    "4242424242424242": SUCCEEDS,
    "4000056655665556": SUCCEEDS,
    "5555555555554444": SUCCEEDS,
    "2223003122003222": SUCCEEDS,
    "378282246310005": SUCCEEDS,
    "6011111111111117": SUCCEEDS,
    "4000000000000002": DECLINED,
    "4000000000009995": INSUFFICIENT_FUNDS,
    "4000002500003155": REQUIRES_ACTION,
    "4000000000000119": PROCESSING_ERROR,
}
SAVED_METHOD_PREFIXES = ("credit_card_", "paypal_")


@dataclass
class SandboxFaults:
    """Transport failures to inject, counted down one call at a time (thread-safe)."""

    fail_requests: int = 0
    """Calls that fail before the sandbox sees them (connection refused)."""
    lose_responses: int = 0
    """Calls that are processed and remembered, but whose answer never comes back (a timeout)."""
    slow_responses: int = 0
    """Calls that are processed, then answer only after ``slow_s`` seconds."""
    slow_s: float = 0.0
    lose_first_response_of: set[str] = field(default_factory=set)
    """Operations (``tokenize``, ``authorize``, ...) whose next answer is lost after processing, once each."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, name: str) -> bool:
        with self._lock:
            left: int = getattr(self, name)
            if left > 0:
                setattr(self, name, left - 1)
                return True
            return False

    def take_first(self, op: str) -> bool:
        with self._lock:
            if op in self.lose_first_response_of:
                self.lose_first_response_of.discard(op)
                return True
            return False


def _hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class SandboxGateway:
    """A ``PaymentGateway`` in test mode, persisted in the commerce store."""

    def __init__(
        self,
        store: CommerceStore,
        vault: CardVault,
        *,
        merchant_id: str = "shopkeep-demo",
        name: str = "sandbox",
        faults: SandboxFaults | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        latency_s: float = 0.0,
    ) -> None:
        self.name = name
        self._store = store
        self._vault = vault
        self._merchant_id = merchant_id
        self.faults = faults or SandboxFaults()
        self._clock = clock
        self._latency_s = latency_s
        """How long every call takes to answer once processed (a slow processor, for demos and fault drills)."""
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()

    # the five calls ---------------------------------------------------------------------------------------------

    def tokenize(self, source: str, *, idempotency_key: str, allowance: Allowance | None = None) -> PaymentToken:
        request = {"source": source, "allowance": None if allowance is None else allowance.model_dump(mode="json")}

        def act(records: PaymentRecords) -> dict[str, Any]:
            if is_vault_token(source):
                digits = self._vault.redeem(source)
                record = {
                    "brand": card_brand(digits),
                    "last_four": digits[-4:],
                    "behaviour": TEST_CARDS.get(digits, LIVE_CARD),
                }
            elif source.startswith(SAVED_METHOD_PREFIXES):
                record = {"brand": "", "last_four": "", "behaviour": SUCCEEDS}
            else:
                token = records.get_gateway_record(self.name, "token", source)
                if token is None:
                    raise NotFoundError("Payment source", source, "Unknown payment method")
                record = {key: token[key] for key in ("brand", "last_four", "behaviour")}
            token_id = "tok_" + secrets.token_hex(12)
            stored = {
                **record,
                "token": token_id,
                "allowance": request["allowance"],
                "authorized": 0,
                "used": False,
            }
            records.insert_gateway_record(self.name, "token", token_id, stored)
            issued = PaymentToken(
                token=token_id, brand=record["brand"], last_four=record["last_four"], allowance=allowance
            )
            return issued.model_dump(mode="json")

        return PaymentToken.model_validate(self._call("tokenize", idempotency_key, request, act))

    def authorize(self, token: str, amount: int, currency: str, *, idempotency_key: str) -> Payment:
        request = {"token": token, "amount": amount, "currency": currency}

        def act(records: PaymentRecords) -> dict[str, Any]:
            if amount <= 0:
                raise RuleViolationError("An authorization must be for a positive amount")
            stored = records.get_gateway_record(self.name, "token", token, for_update=True)
            if stored is None:
                raise NotFoundError("Payment token", token, "Unknown payment token")
            if stored["allowance"] is not None:
                self._check_allowance(Allowance.model_validate(stored["allowance"]), stored, amount, currency)
            behaviour = stored["behaviour"]
            if behaviour == PROCESSING_ERROR:
                raise GatewayUnavailableError("The payment processor had a processing error; nothing was charged")
            payment_id = "pay_" + secrets.token_hex(12)
            if behaviour == SUCCEEDS:
                payment = Payment(
                    payment_id=payment_id, status=PaymentStatus.AUTHORIZED, amount=amount, currency=currency
                )
                records.update_gateway_record(
                    self.name, "token", token, {**stored, "authorized": stored["authorized"] + amount, "used": True}
                )
            elif behaviour == REQUIRES_ACTION:
                payment = Payment(
                    payment_id=payment_id,
                    status=PaymentStatus.REQUIRES_ACTION,
                    amount=amount,
                    currency=currency,
                    next_action="3ds_authentication",
                )
            else:
                code = "card_declined" if behaviour == DECLINED else behaviour
                payment = Payment(
                    payment_id=payment_id,
                    status=PaymentStatus.DECLINED,
                    amount=amount,
                    currency=currency,
                    decline_code=code,
                )
            records.insert_gateway_record(self.name, "payment", payment_id, payment.model_dump(mode="json"))
            return payment.model_dump(mode="json")

        return Payment.model_validate(self._call("authorize", idempotency_key, request, act))

    def capture(self, payment_id: str, amount: int, *, idempotency_key: str) -> Payment:
        def act(records: PaymentRecords) -> dict[str, Any]:
            payment = self._payment(records, payment_id)
            if payment.status is not PaymentStatus.AUTHORIZED:
                raise InvalidStateError(
                    f"Payment {payment_id} cannot be captured", key=payment_id, status=payment.status
                )
            if not 0 < amount <= payment.amount:
                raise RuleViolationError("A capture must be positive and at most the authorized amount")
            return self._save(
                records, payment.model_copy(update={"status": PaymentStatus.CAPTURED, "captured": amount})
            )

        request = {"payment_id": payment_id, "amount": amount}
        return Payment.model_validate(self._call("capture", idempotency_key, request, act))

    def refund(self, payment_id: str, amount: int, *, idempotency_key: str) -> Payment:
        def act(records: PaymentRecords) -> dict[str, Any]:
            payment = self._payment(records, payment_id)
            if payment.status is not PaymentStatus.CAPTURED:
                raise InvalidStateError(f"Payment {payment_id} was not captured", key=payment_id, status=payment.status)
            if not 0 < amount <= payment.captured - payment.refunded:
                raise RuleViolationError("A refund must be positive and at most what is left of the capture")
            return self._save(records, payment.model_copy(update={"refunded": payment.refunded + amount}))

        request = {"payment_id": payment_id, "amount": amount}
        return Payment.model_validate(self._call("refund", idempotency_key, request, act))

    def void(self, payment_id: str, *, idempotency_key: str) -> Payment:
        def act(records: PaymentRecords) -> dict[str, Any]:
            payment = self._payment(records, payment_id)
            if payment.status not in (PaymentStatus.AUTHORIZED, PaymentStatus.REQUIRES_ACTION):
                raise InvalidStateError(f"Payment {payment_id} cannot be voided", key=payment_id, status=payment.status)
            return self._save(records, payment.model_copy(update={"status": PaymentStatus.VOIDED}))

        return Payment.model_validate(self._call("void", idempotency_key, {"payment_id": payment_id}, act))

    # what the processor's dashboard would show (tests and the ledger's reconciliation read it) ------------------

    def payments(self) -> list[Payment]:
        with self._store.session() as session:
            rows = payment_records(session).gateway_records(self.name, "payment")
        return [Payment.model_validate(row) for row in rows]

    def get_payment(self, payment_id: str) -> Payment:
        with self._store.session() as session:
            return self._payment(payment_records(session), payment_id)

    # internals ---------------------------------------------------------------------------------------------------

    def _check_allowance(self, allowance: Allowance, stored: dict[str, Any], amount: int, currency: str) -> None:
        if stored["used"]:
            raise AllowanceExceededError("This payment token was already used; a one-time token pays only once")
        if currency != allowance.currency:
            raise AllowanceExceededError(f"This payment token is only for {allowance.currency} payments")
        if amount > allowance.max_amount:
            raise AllowanceExceededError("The amount is more than the customer approved for this payment token")
        if self._clock() >= allowance.expires_at:
            raise AllowanceExceededError("This payment token has expired")
        if allowance.merchant_id != self._merchant_id:
            raise AllowanceExceededError("This payment token is for another merchant")

    def _payment(self, records: PaymentRecords, payment_id: str) -> Payment:
        stored = records.get_gateway_record(self.name, "payment", payment_id, for_update=True)
        if stored is None:
            raise NotFoundError("Payment", payment_id)
        return Payment.model_validate(stored)

    def _save(self, records: PaymentRecords, payment: Payment) -> dict[str, Any]:
        dumped = payment.model_dump(mode="json")
        records.update_gateway_record(self.name, "payment", payment.payment_id, dumped)
        return dumped

    def _call(
        self,
        op: str,
        key: str,
        request: dict[str, Any],
        act: Callable[[PaymentRecords], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run ``act`` once per idempotency key, in one transaction of its own; replay the first answer after."""
        with self._calls_lock:
            self.calls[op] += 1
        if self.faults.take("fail_requests"):
            raise GatewayUnavailableError("Could not reach the payment processor; nothing was charged")
        request_hash = _hash({"op": op, **request})
        response: dict[str, Any] | None = None
        for attempt in range(3):
            try:
                with self._store.session(write=True) as session:
                    records = payment_records(session)
                    seen = records.get_gateway_record(self.name, "idem", key, for_update=True)
                    if seen is not None:
                        if seen["request_hash"] != request_hash:
                            raise IdempotencyConflictError(key)
                        response = seen["response"]
                    else:
                        response = act(records)
                        records.insert_gateway_record(
                            self.name, "idem", key, {"op": op, "request_hash": request_hash, "response": response}
                        )
                break
            except StoreIntegrityError:
                # Another call with the same key committed first (its insert won); replay its answer.
                if attempt == 2:
                    raise
        assert response is not None
        if self.faults.take("lose_responses") or self.faults.take_first(op):
            raise GatewayUnavailableError("The payment processor did not answer in time")
        if self.faults.take("slow_responses"):
            time.sleep(self.faults.slow_s)
        if self._latency_s:
            time.sleep(self._latency_s)
        return response
