"""The card vault: a card number typed in chat becomes a short-lived vault token before anything else sees it.

The raw number lives only in process memory (``MemoryCardVault``, the default) or in Redis (``RedisCardVault``,
shared by every worker), always with a TTL; never in the database, a log or a checkpoint. Anyone may ``put`` a
number and ``describe`` a token (brand and last four, for summaries); only a gateway adapter calls ``redeem``
(a test checks that no other module does).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from shopkeep.domain._base import Frozen
from shopkeep.errors import CardTokenExpiredError, RuleViolationError, VaultUnavailableError
from shopkeep.guardrails.cards import luhn_valid
from shopkeep.metrics import REDIS_ERRORS

if TYPE_CHECKING:
    from shopkeep.settings import PaymentsSettings

log = structlog.get_logger(__name__)

VAULT_PREFIX = "vt_"
_TOKEN = re.compile(r"^vt_[0-9a-f]{24}$")


class VaultedCard(Frozen):
    """What anyone may know about a vaulted card: its token, brand and last four digits."""

    token: str
    brand: str
    last_four: str


def card_brand(digits: str) -> str:
    """The card network from the number's prefix (IIN ranges)."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in ("34", "37"):
        return "amex"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649:
        return "discover"
    return "card"


def normalize_card_number(number: str) -> str:
    """Digits only; spaces and dashes allowed in between. Raises when it is not a plausible card number."""
    digits = re.sub(r"[ -]", "", number)
    if not digits.isdigit() or not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        raise RuleViolationError("That is not a valid card number")
    return digits


def is_vault_token(value: str) -> bool:
    return bool(_TOKEN.match(value))


class CardVault(Protocol):
    """Where typed card numbers wait, briefly, to be exchanged for a gateway token."""

    def put(self, number: str) -> VaultedCard: ...
    def describe(self, token: str) -> VaultedCard:
        """Brand and last four of a live token; ``CardTokenExpiredError`` when unknown or expired."""
        ...

    def redeem(self, token: str) -> str:
        """The raw number. Gateway adapters only."""
        ...

    def forget(self, token: str) -> None: ...


def _new_card(number: str) -> tuple[str, VaultedCard]:
    digits = normalize_card_number(number)
    card = VaultedCard(token=VAULT_PREFIX + secrets.token_hex(12), brand=card_brand(digits), last_four=digits[-4:])
    return digits, card


def _expired(token: str) -> CardTokenExpiredError:
    return CardTokenExpiredError(
        "That card is no longer available (card details are kept only for a few minutes); please enter it again "
        "or choose a saved payment method"
    )


class MemoryCardVault:
    """The embedded default: a dict in this process, entries expiring after ``ttl_s`` seconds."""

    def __init__(self, ttl_s: float = 900, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cards: dict[str, tuple[float, str, VaultedCard]] = {}

    def put(self, number: str) -> VaultedCard:
        digits, card = _new_card(number)
        with self._lock:
            self._sweep()
            self._cards[card.token] = (self._clock() + self._ttl_s, digits, card)
        return card

    def _live(self, token: str) -> tuple[str, VaultedCard]:
        with self._lock:
            self._sweep()
            found = self._cards.get(token)
        if found is None:
            raise _expired(token)
        return found[1], found[2]

    def describe(self, token: str) -> VaultedCard:
        return self._live(token)[1]

    def redeem(self, token: str) -> str:
        return self._live(token)[0]

    def forget(self, token: str) -> None:
        with self._lock:
            self._cards.pop(token, None)

    def _sweep(self) -> None:
        now = self._clock()
        for token in [t for t, (expires, _, _) in self._cards.items() if expires <= now]:
            del self._cards[token]


class RedisCardVault:
    """Vaulted cards in Redis (``SET ... EX``), so any worker can redeem a token another worker issued."""

    def __init__(self, client: Any, ttl_s: int = 900, *, namespace: str = "shopkeep:vault:") -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._namespace = namespace

    @classmethod
    def from_url(cls, url: str, ttl_s: int = 900) -> RedisCardVault:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ImportError("The Redis card vault needs the 'redis' extra: pip install 'shopkeep[redis]'") from exc
        return cls(redis.Redis.from_url(url, socket_timeout=5), ttl_s)

    def _redis(self, command: str, *args: Any, **kwargs: Any) -> Any:
        """One Redis command; a failure is counted (``shopkeep_redis_errors_total``) and raised as a retryable
        ``VaultUnavailableError`` (the API's 503 with ``Retry-After``)."""
        from redis.exceptions import RedisError

        try:
            return getattr(self._client, command)(*args, **kwargs)
        except (RedisError, OSError) as exc:
            REDIS_ERRORS.labels(component="vault").inc()
            log.warning("vault_unavailable", command=command, error=type(exc).__name__)
            raise VaultUnavailableError("The card vault is unavailable; the card was not kept.") from exc

    def put(self, number: str) -> VaultedCard:
        digits, card = _new_card(number)
        value = json.dumps({"number": digits, "brand": card.brand, "last_four": card.last_four})
        self._redis("set", self._namespace + card.token, value, ex=self._ttl_s)
        return card

    def _live(self, token: str) -> dict[str, str]:
        raw = self._redis("get", self._namespace + token) if is_vault_token(token) else None
        if raw is None:
            raise _expired(token)
        loaded: dict[str, str] = json.loads(raw)
        return loaded

    def describe(self, token: str) -> VaultedCard:
        found = self._live(token)
        return VaultedCard(token=token, brand=found["brand"], last_four=found["last_four"])

    def redeem(self, token: str) -> str:
        return self._live(token)["number"]

    def forget(self, token: str) -> None:
        self._redis("delete", self._namespace + token)


_default_lock = threading.Lock()
_default: CardVault | None = None


def default_vault(settings: PaymentsSettings | None = None) -> CardVault:
    """The process's vault, built once from settings: the input guard puts numbers in, the gateway takes them out."""
    global _default
    with _default_lock:
        if _default is None:
            if settings is None:
                from shopkeep.settings import get_settings

                settings = get_settings().payments
            if settings.vault == "redis":
                if settings.redis_url is None:
                    raise ValueError("SHOPKEEP_PAYMENTS__VAULT=redis needs SHOPKEEP_PAYMENTS__REDIS_URL")
                _default = RedisCardVault.from_url(settings.redis_url.get_secret_value(), settings.vault_ttl_s)
            else:
                _default = MemoryCardVault(settings.vault_ttl_s)
        return _default
