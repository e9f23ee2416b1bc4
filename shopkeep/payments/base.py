"""The ``PaymentGateway`` seam: tokenize, authorize, capture, refund and void, in integer minor units.

Every call carries an idempotency key: a gateway that sees a key again returns the first call's result instead of
acting twice, which is what makes retries (ours, or a customer sending the same checkout twice) safe. A declined
or held payment is a ``Payment`` with that status, not an exception; a gateway that cannot be reached raises
``GatewayUnavailableError`` (retryable); a delegated token asked for more than its allowance raises
``AllowanceExceededError``.
"""

from __future__ import annotations

from typing import Protocol

from shopkeep.domain.payments import Allowance, Payment, PaymentToken


class PaymentGateway(Protocol):
    """A card processor. ``name`` is recorded in the ledger next to every movement it made."""

    name: str

    def tokenize(self, source: str, *, idempotency_key: str, allowance: Allowance | None = None) -> PaymentToken:
        """A token for ``source``: a card vault token (the number is redeemed here, and only here) or a payment
        method saved at the processor. With an ``allowance`` it is a delegated payment token (ACP)."""
        ...

    def authorize(self, token: str, amount: int, currency: str, *, idempotency_key: str) -> Payment:
        """Hold ``amount`` minor units on the token's card."""
        ...

    def capture(self, payment_id: str, amount: int, *, idempotency_key: str) -> Payment:
        """Take (up to) the authorized amount."""
        ...

    def refund(self, payment_id: str, amount: int, *, idempotency_key: str) -> Payment:
        """Give back part or all of what was captured, to the card it came from."""
        ...

    def void(self, payment_id: str, *, idempotency_key: str) -> Payment:
        """Release an authorization that was never captured."""
        ...
