"""Real concurrency on every backend: the same checkout sent at once charges once and makes one order; two
checkouts racing for one gift card never overdraw it."""

from __future__ import annotations

from decimal import Decimal

from shopkeep.domain import GiftCard
from shopkeep.payments.ledger import reconcile
from shopkeep.store import SqlCommerceStore
from tests.support.checkout import EMMA, EMMA_GIFT_CARD, SOPHIA, harness, item_priced, run_together


def test_the_same_checkout_sent_concurrently_charges_once(store: SqlCommerceStore) -> None:
    h = harness(store)
    ctx = h.ctx(SOPHIA)
    item = item_priced(store, Decimal("45"), Decimal("50"))
    assert h.call(ctx, "add_to_cart", item_id=item.item_id, quantity=2).ok
    arguments = {"shipping_method": "express", "payment_method_id": "credit_card_7326294"}
    quote = h.call(ctx, "propose_checkout", **arguments)
    assert quote.ok, quote.error
    with store.session() as s:
        before = s.get_customer(SOPHIA)
    assert before is not None
    outcomes = run_together([lambda: h.call(ctx, "place_order", quote_id=quote.output["quote_id"], **arguments)] * 4)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert len({o.output["order_id"] for o in outcomes}) == 1
    assert len(h.captures()) == 1 and h.captured_net() == quote.output["total_minor"]
    with store.session() as s:
        after = s.get_customer(SOPHIA)
        cart = s.get_cart(ctx.cart_id or "")
    assert after is not None and cart is not None
    assert len(after.orders) == len(before.orders) + 1 and cart.lines == []
    assert reconcile(store, h.gateway_view()) == []


def test_two_checkouts_racing_for_one_gift_card_never_overdraw_it(store: SqlCommerceStore) -> None:
    h = harness(store)
    item = item_priced(store, Decimal("28"), Decimal("30"))  # about $36 with shipping and tax; the card has $62
    contexts = [h.ctx(EMMA), h.ctx(EMMA)]
    quotes = []
    for ctx in contexts:
        assert h.call(ctx, "add_to_cart", item_id=item.item_id).ok
        quote = h.call(ctx, "propose_checkout", shipping_method="standard", payment_method_id=EMMA_GIFT_CARD)
        assert quote.ok, quote.error
        quotes.append(quote.output)
    outcomes = run_together(
        [
            (
                lambda c=ctx, q=quote: h.call(
                    c,
                    "place_order",
                    quote_id=q["quote_id"],
                    shipping_method="standard",
                    payment_method_id=EMMA_GIFT_CARD,
                )
            )
            for ctx, quote in zip(contexts, quotes, strict=True)
        ]
    )
    assert [o.ok for o in outcomes].count(True) == 1, [o.error for o in outcomes]
    [failure] = [o for o in outcomes if not o.ok]
    assert "Nothing was charged" in (failure.error or "") or "nothing was charged" in (failure.error or "")
    with store.session() as s:
        customer = s.get_customer(EMMA)
    assert customer is not None
    card = customer.payment_methods[EMMA_GIFT_CARD]
    assert isinstance(card, GiftCard)
    assert card.balance == Decimal("62.00") - Decimal(str(quotes[0]["total"])) >= 0
    assert reconcile(store, h.gateway_view()) == []
