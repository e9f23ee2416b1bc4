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
from shopkeep.tools import retail_registry
from tests.support.checkout import SOPHIA, Harness, harness, item_priced

SOPHIA_VISA = "credit_card_7326294"
SOPHIA_MASTERCARD = "credit_card_1034663"
SOPHIA_GIFT_CARD = "gift_card_9178183"
SOPHIA_PAYPAL = "paypal_5297429"
RETAIL = retail_registry()


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


def test_cancelling_a_checkout_order_refunds_the_card_exactly_once(h: Harness) -> None:
    order_id, total = place(h)
    cancelled = RETAIL.call("cancel_pending_order", {"order_id": order_id, "reason": "no longer needed"}, h.ctx(SOPHIA))
    assert cancelled.ok, cancelled.error
    assert reconcile(h.store, h.gateway_view()) == []  # the tool settled the ledger itself
    assert settle_order(h.store, h.services.gateway, order_id) == 0  # settling again moves nothing
    assert h.sandbox.payments()[0].refunded == total


def test_a_cancel_whose_settlement_was_lost_is_completed_by_settling_again(h: Harness) -> None:
    order_id, total = place(h)
    h.sandbox.faults.fail_requests = 10  # the gateway is down for the refund: the cancel still stands
    cancelled = RETAIL.call("cancel_pending_order", {"order_id": order_id, "reason": "no longer needed"}, h.ctx(SOPHIA))
    assert cancelled.ok, cancelled.error
    assert reconcile(h.store) == [f"order {order_id}: ledger net {total} != owed 0"]
    h.sandbox.faults.fail_requests = 0
    assert settle_order(h.store, h.services.gateway, order_id) == 1
    assert h.sandbox.payments()[0].refunded == total
    assert reconcile(h.store, h.gateway_view()) == []


def test_a_cheaper_swap_refunds_the_original_card_and_only_it(h: Harness) -> None:
    order_id, _ = place(h)
    with h.store.session() as s:
        order = s.get_order(order_id)
        assert order is not None
        line = order.items[0]
        product = s.get_product(line.product_id)
    assert product is not None
    cheaper = min(
        (v for v in product.variants.values() if v.available and v.item_id != line.item_id), key=lambda v: v.price
    )
    assert cheaper.price < line.price, "the test needs a cheaper variant"
    swap = {"order_id": order_id, "item_ids": [line.item_id], "new_item_ids": [cheaper.item_id]}
    refused = RETAIL.call("modify_pending_order_items", {**swap, "payment_method_id": SOPHIA_MASTERCARD}, h.ctx(SOPHIA))
    assert not refused.ok and "original payment method or to a gift card" in (refused.error or "")
    done = RETAIL.call("modify_pending_order_items", {**swap, "payment_method_id": SOPHIA_VISA}, h.ctx(SOPHIA))
    assert done.ok, done.error
    assert h.sandbox.payments()[0].refunded == round((line.price - cheaper.price) * 100)
    assert reconcile(h.store, h.gateway_view()) == []


def test_paying_an_order_with_another_method_charges_it_and_refunds_the_first(h: Harness) -> None:
    order_id, total = place(h)
    moved = RETAIL.call(
        "modify_pending_order_payment", {"order_id": order_id, "payment_method_id": SOPHIA_PAYPAL}, h.ctx(SOPHIA)
    )
    assert moved.ok, moved.error
    by_captured = sorted((p.captured, p.refunded) for p in h.sandbox.payments())
    assert by_captured == [(total, 0), (total, total)]
    assert reconcile(h.store, h.gateway_view()) == []


def test_cancelling_a_gift_card_order_only_writes_the_entry(h: Harness) -> None:
    before = gift_balance(h.store)
    order_id, total = place(h, SOPHIA_GIFT_CARD)
    assert gift_balance(h.store) == before - Decimal(total) / 100
    cancelled = RETAIL.call(
        "cancel_pending_order", {"order_id": order_id, "reason": "ordered by mistake"}, h.ctx(SOPHIA)
    )
    assert cancelled.ok, cancelled.error
    assert settle_order(h.store, h.services.gateway, order_id) == 0  # the cancel settled it
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
