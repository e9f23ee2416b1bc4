"""Real concurrency on every backend: two writers never lose an update, double-act, or overdraw a gift card."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from shopkeep.domain import GiftCard
from shopkeep.store import SqlCommerceStore
from shopkeep.tools import ToolContext, ToolOutcome, retail_registry

REGISTRY = retail_registry()


def run_together(calls: list[Callable[[], ToolOutcome]]) -> list[ToolOutcome]:
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
        thread.join(timeout=60)
    return results


def call(store: SqlCommerceStore, name: str, **arguments: Any) -> Callable[[], ToolOutcome]:
    return lambda: REGISTRY.call(name, arguments, ToolContext(store=store))


def gift_card(store: SqlCommerceStore, user_id: str, card_id: str) -> GiftCard:
    with store.session() as s:
        customer = s.get_customer(user_id)
    assert customer is not None
    card = customer.payment_methods[card_id]
    assert isinstance(card, GiftCard)
    return card


def test_concurrent_cancels_of_one_order_refund_once(store: SqlCommerceStore) -> None:
    # #W2417020 is pending and was paid with emma_smith_8564's gift card.
    before = gift_card(store, "emma_smith_8564", "gift_card_8541487").balance
    outcomes = run_together([call(store, "cancel_pending_order", order_id="#W2417020", reason="no longer needed")] * 4)
    assert [o.ok for o in outcomes].count(True) == 1
    assert {o.error for o in outcomes if not o.ok} == {"Error: Non-pending order cannot be cancelled"}
    with store.session() as s:
        order = s.get_order("#W2417020")
    assert order is not None
    refunds = [p for p in order.payment_history if p.transaction_type == "refund"]
    assert len(refunds) == 1
    assert gift_card(store, "emma_smith_8564", "gift_card_8541487").balance == before + refunds[0].amount


def test_concurrent_refunds_to_one_gift_card_lose_no_update(store: SqlCommerceStore) -> None:
    # Both orders were paid with the same gift card; cancelling both must credit it twice.
    before = gift_card(store, "emma_smith_8564", "gift_card_8541487").balance
    outcomes = run_together(
        [
            call(store, "cancel_pending_order", order_id="#W2417020", reason="no longer needed"),
            call(store, "cancel_pending_order", order_id="#W3614011", reason="ordered by mistake"),
        ]
    )
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    with store.session() as s:
        paid = [s.get_order(key) for key in ("#W2417020", "#W3614011")]
    credited = sum((o.total for o in paid if o is not None), Decimal("0"))
    assert gift_card(store, "emma_smith_8564", "gift_card_8541487").balance == before + credited


def _upgrade(store: SqlCommerceStore, order_id: str) -> tuple[str, str, Decimal]:
    """An (old item, pricier available variant of the same product, price difference) in a pending order."""
    with store.session() as s:
        order = s.get_order(order_id)
        assert order is not None
        for line in order.items:
            product = s.get_product(line.product_id)
            assert product is not None
            for variant in product.variants.values():
                if variant.available and variant.price > line.price:
                    return line.item_id, variant.item_id, variant.price - line.price
    raise AssertionError(f"no upgrade in {order_id}")


def test_concurrent_gift_card_payments_never_overdraw(store: SqlCommerceStore) -> None:
    user, card_id = "olivia_ito_3591", "gift_card_7794233"
    first, second = _upgrade(store, "#W5442520"), _upgrade(store, "#W7941031")
    # A balance that covers either difference but not both.
    balance = max(first[2], second[2]) + Decimal("0.01")
    assert first[2] + second[2] > balance
    with store.session(write=True) as s:
        s.save_payment_method(user, GiftCard(id=card_id, balance=balance))
    outcomes = run_together(
        [
            call(
                store,
                "modify_pending_order_items",
                order_id=order_id,
                item_ids=[old],
                new_item_ids=[new],
                payment_method_id=card_id,
            )
            for order_id, (old, new, _) in (("#W5442520", first), ("#W7941031", second))
        ]
    )
    succeeded = [n for n, o in enumerate(outcomes) if o.ok]
    assert len(succeeded) == 1, [o.error for o in outcomes]
    failure = outcomes[1 - succeeded[0]]
    assert failure.error == "Error: Insufficient gift card balance to pay for the new item"
    spent = (first, second)[succeeded[0]][2]
    final = gift_card(store, user, card_id).balance
    assert final == balance - spent
    assert final >= 0
