"""The typed error tree. Every error Shopkeep raises on purpose is one of these::

    ShopkeepError
    ├── DomainError                 a business rule said no; ``message`` is safe to show the customer
    │   ├── NotFoundError           unknown order, user, product, item, payment method (``kind``, ``key``)
    │   │   └── NotOwnedError       belongs to another customer: told apart in logs, never to the customer
    │   ├── AuthenticationRequiredError  a customer tool ran before the customer was identified
    │   ├── InvalidStateError       the record's status forbids the action (``status``)
    │   ├── RuleViolationError      arguments break a rule: wrong reason, count mismatch, same item, ...
    │   ├── InsufficientFundsError  a gift card cannot cover the amount
    │   ├── IdempotencyConflictError  an Idempotency-Key was reused with a different payload (``key``)
    │   │   └── IdempotencyInProgressError  the first request with that key is still running: retryable
    │   ├── CheckoutChangedError    prices, stock or totals changed since the customer confirmed (``quote_id``)
    │   └── PaymentError            the payment was not taken: no order, no charge
    │       ├── PaymentDeclinedError        the issuer declined the card (``decline_code``)
    │       ├── PaymentActionRequiredError  the issuer wants extra authentication (3-D Secure)
    │       ├── AllowanceExceededError      a delegated token's allowance does not cover the charge
    │       ├── CardTokenExpiredError       a vault token is unknown or past its TTL: the card must be typed again
    │       └── GatewayUnavailableError     network error or timeout after every retry: retryable
    ├── ToolCallError               the call itself is malformed
    │   ├── UnknownToolError        no tool of that name (``available`` lists the tools)
    │   └── ToolArgumentsError      missing, unexpected or mistyped arguments (``field``)
    ├── StoreError                  the database failed; nothing was written
    │   ├── StoreUnavailableError   down, unreachable or locked: retryable
    │   └── StoreIntegrityError     the database refused the write (constraint): terminal
    ├── VaultUnavailableError       the card vault (Redis) cannot be reached; no card was kept: retryable
    ├── RetrievalError              catalog or knowledge search cannot run; ``install`` says what would fix it
    │   ├── EmbedderUnavailableError    the embedding model is not installed, or its service refused the call
    │   │   └── EmbedderRetryableError  the embedding service is down or rate-limited: retryable
    │   ├── VectorExtensionMissingError the database has no vector search (pgvector, sqlite-vec)
    │   └── IndexNotReadyError          the store has not been indexed yet (``shopkeep index``)
    ├── ShopDataError               a shop's own data (profile, import files) was refused; nothing was written
    │   ├── ShopExistsError         ``shopkeep init`` on a store that already holds a shop (without ``--force``)
    │   ├── UnknownFormatError      an import file in no supported format (``supported``)
    │   └── ImportRowError          one row of an import file is invalid (``path``, ``line``, ``column``)
    └── AccessError                 a human agent's call the escalation API refuses
        ├── NotAuthenticatedError   no valid agent token (401)
        └── PermissionDeniedError   the agent's role or the ticket's assignment forbids the action (403)

``RetryableError`` marks the errors worth retrying; retryable vs terminal is a type, never a string.
The API maps these to status codes in one place; tool errors become structured tool messages.
"""

from __future__ import annotations


class ShopkeepError(Exception):
    """Base of every error Shopkeep raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryableError(ShopkeepError):
    """Marker: the same call may succeed later."""


class DomainError(ShopkeepError):
    """A business rule refused the action. ``message`` is customer-safe and τ²-compatible."""


class NotFoundError(DomainError):
    """An id that names nothing (or nothing the caller may see)."""

    def __init__(self, kind: str, key: str, message: str | None = None) -> None:
        super().__init__(message or f"{kind} not found")
        self.kind = kind
        self.key = key


class NotOwnedError(NotFoundError):
    """The record exists but belongs to another customer; shown to the customer exactly like a missing one."""


class AuthenticationRequiredError(DomainError):
    """The conversation has not identified its customer yet."""

    def __init__(self) -> None:
        super().__init__("Authentication required: identify the customer by email, or by name and zip code, first")


class InvalidStateError(DomainError):
    """The record's current status does not allow the action."""

    def __init__(self, message: str, *, key: str = "", status: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.status = status


class RuleViolationError(DomainError):
    """The arguments break a business rule."""


class InsufficientFundsError(DomainError):
    """A gift card balance cannot cover an amount."""


class IdempotencyConflictError(DomainError):
    """The same Idempotency-Key came with a different payload (ACP): the first request's result stands."""

    def __init__(self, key: str) -> None:
        super().__init__("This request reuses an idempotency key with different details; nothing was changed")
        self.key = key


class IdempotencyInProgressError(IdempotencyConflictError, RetryableError):
    """A request with the same Idempotency-Key is still being processed; retry shortly for its result."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.message = "The same request is still being processed; please try again in a moment"
        self.args = (self.message,)


class CheckoutChangedError(DomainError):
    """What the customer confirmed no longer matches the cart, prices, stock or totals; ``quote_id`` is the new one."""

    def __init__(self, message: str, *, quote_id: str = "") -> None:
        super().__init__(message)
        self.quote_id = quote_id


class PaymentError(DomainError):
    """The payment was not taken; no order was placed and nothing was charged."""


class PaymentDeclinedError(PaymentError):
    """The card issuer declined the charge; only the bank can say why."""

    def __init__(self, message: str, *, decline_code: str = "card_declined") -> None:
        super().__init__(message)
        self.decline_code = decline_code


class PaymentActionRequiredError(PaymentError):
    """The issuer requires extra authentication (3-D Secure), which cannot happen inside a chat."""


class AllowanceExceededError(PaymentError):
    """A delegated payment token was asked for more than (or other than) the customer allowed."""


class CardTokenExpiredError(PaymentError):
    """A card vault token is unknown or expired; the raw number is gone, so the card must be entered again."""


class GatewayUnavailableError(PaymentError, RetryableError):
    """The payment gateway did not answer in time after every retry; the same checkout may be retried safely."""


class ToolCallError(ShopkeepError):
    """The tool call itself is malformed."""


class UnknownToolError(ToolCallError):
    """No tool has that name."""

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__(f"Tool '{name}' not found.")
        self.name = name
        self.available = available


class ToolArgumentsError(ToolCallError):
    """Arguments are missing, unexpected or of the wrong type."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class StoreError(ShopkeepError):
    """The database failed; the transaction was rolled back."""


class StoreUnavailableError(StoreError, RetryableError):
    """The database is down, unreachable or locked."""


class StoreIntegrityError(StoreError):
    """The database refused the write."""


class VaultUnavailableError(RetryableError):
    """The card vault's server (Redis) did not answer: the card was neither kept nor charged; the message may be
    sent again once the vault is back."""


class RetrievalError(ShopkeepError):
    """Search cannot run. ``install`` names what to install or run to fix it (empty when nothing applies)."""

    def __init__(self, message: str, *, install: str = "") -> None:
        super().__init__(message)
        self.install = install


class EmbedderUnavailableError(RetrievalError):
    """The embedding model is missing, misconfigured, or its service refused the request."""


class EmbedderRetryableError(EmbedderUnavailableError, RetryableError):
    """The embedding service is unreachable, overloaded or rate-limiting: the same call may succeed later."""


class VectorExtensionMissingError(RetrievalError):
    """The store's database has no vector search extension."""


class IndexNotReadyError(RetrievalError):
    """The catalog or knowledge base has not been indexed in this store."""


class ShopDataError(ShopkeepError):
    """A shop's own data (its profile, an import file) was refused; nothing was written."""


class ShopExistsError(ShopDataError):
    """``shopkeep init`` found a shop already in the store (and was not told to replace it)."""


class UnknownFormatError(ShopDataError):
    """An import file is in none of the supported formats; ``supported`` names them."""

    def __init__(self, message: str, *, supported: tuple[str, ...]) -> None:
        super().__init__(message)
        self.supported = supported


class ImportRowError(ShopDataError):
    """One row of an import file is invalid: ``"broken.csv line 3: Variant Price 'twelve' is not a number"``."""

    def __init__(self, path: str, line: int, column: str, problem: str) -> None:
        super().__init__(f"{path} line {line}: {column} {problem}")
        self.path = path
        self.line = line
        self.column = column


class AccessError(ShopkeepError):
    """A human agent's call to the escalation API was refused."""


class NotAuthenticatedError(AccessError):
    """No agent token, or one that names no agent (a conversation id is never a token)."""

    def __init__(self, message: str = "A valid agent token is required: Authorization: Bearer TOKEN") -> None:
        super().__init__(message)


class PermissionDeniedError(AccessError):
    """The agent is known, but their role or the ticket's assignment does not allow the action."""
