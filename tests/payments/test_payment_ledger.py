"""The ledger: every movement recorded; per order, captured minus refunded equals what the customer owes; refunds
only to the original method or a gift card; settlement after the order tools keeps the books and the gateway in step."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopkeep.domain import GiftCard
from shopkeep.domain.payments import LedgerKind
from shopkeep.errors import RuleViolationError
from shopkeep.payments.ledger import GIFT_CARD_LEDGER, entry, reconcile, record, refund_order, settle_order
from shopkeep.store import SqlCommerceStore
from shopkeep.store.payments import payment_records
from shopkeep.tools import ToolContext, retail_registry
from tests.support.checkout import SOPHIA, Harness, harness, item_priced

SOPHIA_VISA = "credit_card_7326294"
SOPHIA_MASTERCARD = "credit_card_1034663"
SOPHIA_GIFT_CARD = "gift_card_9178183"


@pytest.fixture
def h(sqlite_store: SqlCommerceStore) -> Harness:
    return harness(sqlite_store)


def place(h: Harness, method: str = SOPHIA_VISA) -> tuple[str, int]:
    ctx = h.ctx(SOPHIA)
    item = item_priced(h.store, Decimal("45"), Decimal("50"))
    assert h.call(ctx, "add_to_cart", item_id=item.item_id).ok
    quote = h.call(ctx, "propose_checkout", shipping_method="standard", payment_method_id=method)
    assert quote.ok, quote.error
    placed = h.call(
        ctx, "place_order", quote_id=quote.output["quote_id"], shipping_method="standard", payment_method_id=method
    )
    assert placed.ok, placed.error
    return placed.output["order_id"], quote.output["total_minor"]


def gift_balance(store: SqlCommerceStore) -> Decimal:
    with store.session() as s:
        customer = s.get_customer(SOPHIA)
    assert customer is not None
    card = customer.payment_methods[SOPHIA_GIFT_CARD]
    assert isinstance(card, GiftCard)
    return card.balance


def test_a_refund_to_the_original_card_goes_through_the_gateway_once(h: Harness) -> None:
    order_id, _ = place(h)
    refund_order(h.store, h.services.gateway, order_id, Decimal("10.00"), SOPHIA_VISA, idempotency_key="r1")
    refund_order(h.store, h.services.gateway, order_id, Decimal("10.00"), SOPHIA_VISA, idempotency_key="r1")
    [payment] = h.sandbox.payments()
    assert payment.refunded == 1000
    with h.store.session() as s:
        order = s.get_order(order_id)
    assert order is not None and [p.transaction_type for p in order.payment_history] == ["payment", "refund"]
    assert reconcile(h.store, h.gateway_view()) == []


def test_a_refund_to_a_gift_card_credits_it_and_keeps_the_capture(h: Harness) -> None:
    order_id, _ = place(h)
    before = gift_balance(h.store)
    refund_order(h.store, h.services.gateway, order_id, Decimal("7.50"), SOPHIA_GIFT_CARD, idempotency_key="r1")
    assert gift_balance(h.store) == before + Decimal("7.50")
    assert h.sandbox.payments()[0].refunded == 0
    assert reconcile(h.store, h.gateway_view()) == []


def test_refunds_go_nowhere_else_and_never_exceed_what_was_paid(h: Harness) -> None:
    order_id, total = place(h)
    with pytest.raises(RuleViolationError, match="original payment method or to a gift card"):
        refund_order(h.store, h.services.gateway, order_id, Decimal("1"), SOPHIA_MASTERCARD, idempotency_key="r1")
    with pytest.raises(RuleViolationError, match="more than what was paid"):
        refund_order(h.store, h.services.gateway, order_id, Decimal(total + 1) / 100, SOPHIA_VISA, idempotency_key="r2")
    assert h.sandbox.payments()[0].refunded == 0
    assert reconcile(h.store, h.gateway_view()) == []


def test_settling_a_cancelled_order_refunds_the_card_exactly_once(h: Harness) -> None:
    order_id, total = place(h)
    cancelled = retail_registry().call(
        "cancel_pending_order", {"order_id": order_id, "reason": "no longer needed"}, ToolContext(store=h.store)
    )
    assert cancelled.ok, cancelled.error
    assert reconcile(h.store) != []  # the order tools changed what is owed; the ledger is behind until settled
    assert settle_order(h.store, h.services.gateway, order_id) == 1
    assert settle_order(h.store, h.services.gateway, order_id) == 0
    assert h.sandbox.payments()[0].refunded == total
    assert reconcile(h.store, h.gateway_view()) == []


def test_settling_a_gift_card_order_only_writes_the_entry(h: Harness) -> None:
    before = gift_balance(h.store)
    order_id, total = place(h, SOPHIA_GIFT_CARD)
    assert gift_balance(h.store) == before - Decimal(total) / 100
    cancelled = retail_registry().call(
        "cancel_pending_order", {"order_id": order_id, "reason": "ordered by mistake"}, ToolContext(store=h.store)
    )
    assert cancelled.ok, cancelled.error
    assert settle_order(h.store, h.services.gateway, order_id) == 1
    assert gift_balance(h.store) == before
    with h.store.session() as s:
        kinds = [(e.kind, e.gateway) for e in payment_records(s).ledger(order_id=order_id)]
    assert kinds == [
        (LedgerKind.AUTHORIZATION, GIFT_CARD_LEDGER),
        (LedgerKind.CAPTURE, GIFT_CARD_LEDGER),
        (LedgerKind.REFUND, GIFT_CARD_LEDGER),
    ]
    assert h.sandbox.calls.total() == 0
    assert reconcile(h.store, h.gateway_view()) == []
    assert settle_order(h.store, h.services.gateway, "#W2611340") == 0  # a historical order has no ledger


def test_reconcile_finds_a_payment_without_an_order(h: Harness) -> None:
    record(
        h.store,
        entry(
            LedgerKind.CAPTURE,
            status="succeeded",
            method_id="gift_card_x",
            gateway=GIFT_CARD_LEDGER,
            ref=None,
            amount=500,
            currency="USD",
            idem_key="orphan",
            checkout_key="co_orphan",
        ),
    )
    assert reconcile(h.store) == ["checkout co_orphan: 500 captured without an order"]
