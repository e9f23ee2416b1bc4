"""Payments: the gateway seam and its sandbox, the card vault, delegated-payment allowances, idempotency, ledger.

``payment_services(store)`` builds what checkout needs from settings: the configured gateway (``sandbox`` by
default) behind per-call timeouts and safe retries, and the process's card vault.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopkeep.payments.base import PaymentGateway
from shopkeep.payments.resilience import GatewayPolicy, ResilientGateway
from shopkeep.payments.sandbox import SandboxFaults, SandboxGateway
from shopkeep.payments.vault import CardVault, MemoryCardVault, RedisCardVault, VaultedCard, default_vault
from shopkeep.settings import PaymentsSettings, get_settings
from shopkeep.store.base import CommerceStore


@dataclass(frozen=True)
class PaymentServices:
    """The gateway and vault a checkout uses, and the money rules it follows (the currency is the shop's)."""

    gateway: PaymentGateway
    vault: CardVault
    merchant_id: str = "shopkeep-demo"
    allowance_ttl_s: int = 900


def payment_services(store: CommerceStore, settings: PaymentsSettings | None = None) -> PaymentServices:
    """The configured gateway (persisting in ``store``) and vault."""
    config = settings or get_settings().payments
    vault = default_vault(config)
    sandbox = SandboxGateway(store, vault, merchant_id=config.merchant_id, latency_s=config.sandbox_latency_s)
    policy = GatewayPolicy(timeout_s=config.timeout_s, max_retries=config.max_retries, retry_wait_s=config.retry_wait_s)
    return PaymentServices(
        gateway=ResilientGateway(sandbox, policy),
        vault=vault,
        merchant_id=config.merchant_id,
        allowance_ttl_s=config.allowance_ttl_s,
    )


__all__ = [
    "CardVault",
    "GatewayPolicy",
    "MemoryCardVault",
    "PaymentGateway",
    "PaymentServices",
    "RedisCardVault",
    "ResilientGateway",
    "SandboxFaults",
    "SandboxGateway",
    "VaultedCard",
    "default_vault",
    "payment_services",
]
