"""Bad input under real concurrency, on every backend (SQLite and PostgreSQL): declined cards, 3-D Secure and
gateway outages, lost gateway answers, a price change or a sell-out racing the checkout, the same checkout sent at
once. Whatever interleaving happens: a clear message, no double charge, no order without payment, no payment
without an order (``ledger.reconcile`` agrees with the gateway), and a failed checkout keeps the cart."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from shopkeep.payments.ledger import reconcile
from shopkeep.store import SqlCommerceStore
from shopkeep.store import schema as t
from tests.support.checkout import (
    DECLINED,
    NEEDS_3DS,
    NETWORK_ERROR,
    SOPHIA,
    Harness,
    harness,
    item_priced,
    run_together,
)

SOPHIA_VISA = "credit_card_7326294"


def start_checkout(h: Harness, method: str) -> tuple[Any, dict[str, Any], str]:
    ctx = h.ctx(SOPHIA)
    item = item_priced(h.store, Decimal("20"), Decimal("30"))
    assert h.call(ctx, "add_to_cart", item_id=item.item_id, quantity=2).ok
    arguments = {"shipping_method": "standard", "payment_method_id": method}
    quote = h.call(ctx, "propose_checkout", **arguments)
    assert quote.ok, quote.error
    return ctx, {"quote_id": quote.output["quote_id"], **arguments}, item.item_id


def orders_of(store: SqlCommerceStore) -> list[str]:
    with store.session() as s:
        customer = s.get_customer(SOPHIA)
    assert customer is not None
    return customer.orders


def cart_size(store: SqlCommerceStore, cart_id: str) -> int:
    with store.session() as s:
        cart = s.get_cart(cart_id)
    return 0 if cart is None else len(cart.lines)


def books_balance(h: Harness) -> None:
    assert reconcile(h.store, h.gateway_view()) == []


@pytest.mark.parametrize(
    ("card", "message"),
    [
        (DECLINED, "declined, so nothing was charged"),
        (NEEDS_3DS, "cannot be done in this chat. Nothing was charged"),
        (NETWORK_ERROR, "nothing was charged"),
    ],
)
def test_failed_payments_sent_at_once_charge_nothing_and_say_so(
    store: SqlCommerceStore, card: str, message: str
) -> None:
    h = harness(store, retries=1)
    ctx, order, _ = start_checkout(h, h.card(card))
    before = orders_of(store)
    outcomes = run_together([lambda: h.call(ctx, "place_order", **order)] * 3)
    for outcome in outcomes:
        assert not outcome.ok
        error = outcome.error or ""
        assert message in error or "still being processed" in error, error
    assert orders_of(store) == before and h.captured_net() == 0
    assert cart_size(store, ctx.cart_id) == 1
    books_balance(h)


def test_concurrent_resends_through_lost_gateway_answers_charge_once(store: SqlCommerceStore) -> None:
    h = harness(store)
    ctx, order, _ = start_checkout(h, h.card())
    h.sandbox.faults.lose_first_response_of = {"tokenize", "authorize", "capture"}
    outcomes = run_together([lambda: h.call(ctx, "place_order", **order)] * 4)
    placed = {o.output["order_id"] for o in outcomes if o.ok}
    assert len(placed) == 1, [o.error for o in outcomes]
    final = h.call(ctx, "place_order", **order)  # a later resend is the same order
    assert final.ok and {final.output["order_id"]} == placed
    assert len(h.captures()) == 1 and h.captured_net() == final.output["quote"]["total_minor"]
    books_balance(h)


@pytest.mark.parametrize("change", ["price", "sold_out"])
def test_a_change_racing_concurrent_checkouts_never_splits_money_from_orders(
    store: SqlCommerceStore, change: str
) -> None:
    h = harness(store)
    ctx, order, item_id = start_checkout(h, SOPHIA_VISA)
    before = orders_of(store)
    column = {"price": Decimal("99.99")} if change == "price" else {"available": False}

    def change_the_item() -> None:
        with store.session(write=True) as s:
            s.connection.execute(update(t.variants).where(t.variants.c.item_id == item_id).values(**column))

    outcomes = run_together([*[lambda: h.call(ctx, "place_order", **order)] * 3, change_the_item])[:3]
    placed = {o.output["order_id"] for o in outcomes if o.ok}
    assert len(placed) <= 1
    if placed:  # the checkout won the race: charged once, exactly the confirmed total
        assert len(orders_of(store)) == len(before) + 1 and cart_size(store, ctx.cart_id) == 0
        assert h.captured_net() == next(o for o in outcomes if o.ok).output["quote"]["total_minor"]
    else:  # the change won: every attempt says why, nothing is kept, the cart is still there
        assert orders_of(store) == before and h.captured_net() == 0 and cart_size(store, ctx.cart_id) == 1
        for outcome in outcomes:
            error = outcome.error or ""
            assert "changed since it was confirmed" in error or "no longer available" in error or "still being" in error
    books_balance(h)
