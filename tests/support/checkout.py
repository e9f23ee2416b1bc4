"""Checkout test helpers: a sandbox gateway with fault injection, a customer's conversation context, a filled cart."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shopkeep.agents.toolkit import agent_registry
from shopkeep.domain import Variant
from shopkeep.domain.payments import Payment
from shopkeep.payments import (
    GatewayPolicy,
    MemoryCardVault,
    PaymentServices,
    ResilientGateway,
    SandboxFaults,
    SandboxGateway,
)
from shopkeep.store import SqlCommerceStore
from shopkeep.tools import ToolContext, ToolOutcome

REGISTRY = agent_registry()
# emma_smith_8564: NY address, a gift card (balance $62.00) and PayPal; no saved card.
EMMA = "emma_smith_8564"
EMMA_GIFT_CARD = "gift_card_8541487"
EMMA_PAYPAL = "paypal_6228291"
# sophia_thomas_5301 has a saved credit card.
SOPHIA = "sophia_thomas_5301"
VISA_OK = "4242 4242 4242 4242"
DECLINED = "4000000000000002"
NEEDS_3DS = "4000002500003155"
NETWORK_ERROR = "4000000000000119"


@dataclass
class Harness:
    """A store, a sandbox gateway (with faults to inject) behind timeouts and retries, and a card vault."""

    store: SqlCommerceStore
    sandbox: SandboxGateway
    vault: MemoryCardVault
    services: PaymentServices

    def ctx(self, customer_id: str | None = EMMA, cart_id: str | None = None) -> ToolContext:
        return ToolContext(
            store=self.store,
            scope="customer",
            customer_id=customer_id,
            cart_id=cart_id or f"cart-{uuid.uuid4().hex[:8]}",
            payments=self.services,
        )

    def call(self, ctx: ToolContext, name: str, **arguments: Any) -> ToolOutcome:
        return REGISTRY.call(name, arguments, ctx)

    def card(self, number: str = VISA_OK) -> str:
        return self.vault.put(number).token

    def captured_net(self) -> int:
        return sum(p.captured - p.refunded for p in self.sandbox.payments())

    def gateway_view(self) -> dict[str, tuple[int, int]]:
        return {p.payment_id: (p.captured, p.refunded) for p in self.sandbox.payments()}

    def captures(self) -> list[Payment]:
        return [p for p in self.sandbox.payments() if p.captured]


def harness(store: SqlCommerceStore, *, timeout_s: float = 5.0, retries: int = 2) -> Harness:
    vault = MemoryCardVault()
    sandbox = SandboxGateway(store, vault, faults=SandboxFaults())
    policy = GatewayPolicy(timeout_s=timeout_s, max_retries=retries, retry_wait_s=0)
    services = PaymentServices(gateway=ResilientGateway(sandbox, policy), vault=vault)
    return Harness(store=store, sandbox=sandbox, vault=vault, services=services)


def available_items(store: SqlCommerceStore, limit: int = 20) -> list[Variant]:
    with store.session() as session:
        products = session.list_products()
    return [v for p in products for v in p.variants.values() if v.available][:limit]


def item_priced(store: SqlCommerceStore, low: Decimal, high: Decimal) -> Variant:
    """An available variant whose price is in [low, high]."""
    with store.session() as session:
        products = session.list_products()
    for product in products:
        for variant in product.variants.values():
            if variant.available and low <= variant.price <= high:
                return variant
    raise AssertionError(f"no available item priced {low}-{high}")


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at the same moment, each on its own thread (and so its own connection)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
