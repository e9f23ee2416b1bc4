"""Checkout tools: exact summaries, promo codes, shipping and tax, and place_order's money safety.

Bad input from the issue: declined cards, gateway timeouts, a price change between proposal and yes, stock gone at
the last moment, the same checkout sent twice: a clear typed error, no double charge, no order without payment,
no payment without an order. (Concurrency on every backend is in ``tests/payments/test_checkout_concurrency.py``.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from shopkeep.domain.payments import PaymentStatus, PromoCode
from shopkeep.errors import GatewayUnavailableError
from shopkeep.payments.ledger import reconcile
from shopkeep.store import SqlCommerceStore
from shopkeep.store import schema as t
from shopkeep.store.payments import payment_records
from shopkeep.tools import ToolContext
from shopkeep.tools.checkout import CHECKOUT_TOOLS, place_order
from tests.agents.test_graph import service_for
from tests.support.checkout import (
    DECLINED,
    EMMA,
    EMMA_GIFT_CARD,
    EMMA_PAYPAL,
    NEEDS_3DS,
    NETWORK_ERROR,
    SOPHIA,
    Harness,
    harness,
    item_priced,
)
from tests.support.scripted_model import ScriptedChatModel, call, say

FORBIDDEN = {"customer_id", "cart_id", "conversation_id", "session", "ctx", "store", "user_id", "amount", "total"}
CA_ADDRESS = {"address1": "1 Market St", "city": "San Francisco", "state": "CA", "zip": "94105"}


@pytest.fixture
def h(sqlite_store: SqlCommerceStore) -> Harness:
    return harness(sqlite_store)


def fill(h: Harness, ctx: ToolContext, low: str, high: str, quantity: int = 1) -> Decimal:
    item = item_priced(h.store, Decimal(low), Decimal(high))
    added = h.call(ctx, "add_to_cart", item_id=item.item_id, quantity=quantity)
    assert added.ok, added.error
    return item.price * quantity


def propose(h: Harness, ctx: ToolContext, **arguments: Any) -> dict[str, Any]:
    outcome = h.call(ctx, "propose_checkout", **arguments)
    assert outcome.ok, outcome.error
    assert isinstance(outcome.output, dict)
    return outcome.output


def order_args(quote: dict[str, Any], **arguments: Any) -> dict[str, Any]:
    return {"quote_id": quote["quote_id"], **arguments}


def orders_of(store: SqlCommerceStore, user_id: str) -> list[str]:
    with store.session() as s:
        customer = s.get_customer(user_id)
    assert customer is not None
    return customer.orders


def cart_lines(store: SqlCommerceStore, cart_id: str | None) -> int:
    with store.session() as s:
        cart = s.get_cart(cart_id or "")
    return 0 if cart is None else len(cart.lines)


# schemas -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", CHECKOUT_TOOLS, ids=lambda tool: tool.name)
def test_no_checkout_schema_lets_the_model_name_the_customer_the_cart_or_an_amount(tool: Any) -> None:
    properties = set(tool.json_schema().get("properties", {}))
    assert not FORBIDDEN & properties
    assert tool.description.strip()


def test_only_place_order_needs_the_customers_yes() -> None:
    assert [t.name for t in CHECKOUT_TOOLS if t.confirm] == ["place_order"]


# the exact summary ---------------------------------------------------------------------------------------------------


def test_the_proposal_is_exact_and_changes_nothing(h: Harness) -> None:
    ctx = h.ctx(SOPHIA)
    price = fill(h, ctx, "45", "50", quantity=2)
    before = orders_of(h.store, SOPHIA)
    quote = propose(h, ctx, shipping_method="express", payment_method_id="credit_card_7326294")
    # TX: 6.25%, shipping taxed
    assert Decimal(str(quote["subtotal"])) == price
    assert quote["shipping"] == 14.99
    expected_tax = ((price + Decimal("14.99")) * Decimal("0.0625")).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert Decimal(str(quote["tax"])) == expected_tax
    assert Decimal(str(quote["total"])) == price + Decimal("14.99") + expected_tax
    assert quote["total_minor"] == int((price + Decimal("14.99") + expected_tax) * 100)
    assert quote["payment"]["description"] == "Visa ending in 9858"
    assert quote["address"]["city"] == "Dallas"
    assert quote["delivery"]["earliest"] <= quote["delivery"]["latest"]
    assert orders_of(h.store, SOPHIA) == before
    assert h.sandbox.calls.total() == 0


def test_standard_shipping_is_free_only_over_100_after_the_discount(h: Harness) -> None:
    ctx = h.ctx(SOPHIA)
    fill(h, ctx, "101", "115")
    assert propose(h, ctx, shipping_method="standard", payment_method_id="paypal_5297429")["shipping"] == 0
    # 10% off brings the items under $100: standard costs $5.99 again
    discounted = propose(h, ctx, shipping_method="standard", payment_method_id="paypal_5297429", promo_code="welcome10")
    assert discounted["subtotal"] - discounted["discount"] <= 100
    assert discounted["shipping"] == 5.99
    assert propose(h, ctx, shipping_method="next_day", payment_method_id="paypal_5297429")["shipping"] == 24.99


def test_tax_follows_the_delivery_state_and_its_shipping_rule(h: Harness) -> None:
    ctx = h.ctx(SOPHIA)
    price = fill(h, ctx, "20", "30")
    quote = propose(h, ctx, shipping_method="express", payment_method_id="paypal_5297429", **CA_ADDRESS)
    # CA: 7.25%, shipping not taxed
    assert Decimal(str(quote["tax"])) == (price * Decimal("0.0725")).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert quote["address"]["state"] == "CA" and quote["address"]["country"] == "USA"
    assert quote["tax_rate_percent"] == "7.25%"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ({"address1": "1 Main St", "city": "Anchorage", "state": "AK", "zip": "99501"}, "Alaska or Hawaii"),
        ({"address1": "PO Box 12", "city": "Austin", "state": "TX", "zip": "78701"}, "PO boxes"),
    ],
)
def test_next_day_is_refused_where_it_cannot_go(h: Harness, address: dict[str, str], message: str) -> None:
    ctx = h.ctx(SOPHIA)
    fill(h, ctx, "20", "30")
    refused = h.call(ctx, "propose_checkout", shipping_method="next_day", payment_method_id="paypal_5297429", **address)
    assert not refused.ok and message in (refused.error or "")


def test_only_us_addresses(h: Harness) -> None:
    ctx = h.ctx(SOPHIA)
    fill(h, ctx, "20", "30")
    abroad = {"address1": "1 Rue", "city": "Paris", "state": "IDF", "zip": "75001", "country": "France"}
    refused = h.call(ctx, "propose_checkout", shipping_method="standard", payment_method_id="paypal_5297429", **abroad)
    assert refused.error == "Error: We ship only to addresses in the United States"


def test_saved_methods_are_shown_as_brand_and_last_four(h: Harness) -> None:
    listed = h.call(h.ctx(SOPHIA), "list_payment_methods")
    assert listed.ok
    shown = {m["payment_method_id"]: m["description"] for m in listed.output["payment_methods"]}
    assert shown["credit_card_7326294"] == "Visa ending in 9858"
    assert shown["credit_card_1034663"] == "Mastercard ending in 2378"
    assert "9858" in listed.text and not any(len(word) > 12 and word.isdigit() for word in listed.text.split())


def test_shipping_options_list_the_three_speeds(h: Harness) -> None:
    ctx = h.ctx(EMMA)
    fill(h, ctx, "20", "30")
    listed = h.call(ctx, "list_shipping_options")
    assert [(o["shipping_method"], o["cost"]) for o in listed.output["options"]] == [
        ("standard", 5.99),
        ("express", 14.99),
        ("next_day", 24.99),
    ]


# promo codes ---------------------------------------------------------------------------------------------------------


def save_promo(store: SqlCommerceStore, **fields: Any) -> None:
    now = datetime.now(UTC)
    values = {
        "kind": "fixed",
        "value": 500,
        "min_subtotal_minor": 0,
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=1),
        "description": "test code",
        **fields,
    }
    with store.session(write=True) as s:
        payment_records(s).save_promo(PromoCode.model_validate(values))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("NOPE", "Promo code NOPE does not exist"),
        ("SPRING24", "Promo code SPRING24 has expired"),
        ("LATER", "Promo code LATER is not valid yet"),
        ("SAVE20", "Promo code SAVE20 needs an item subtotal of at least $150.00"),
        ("WELCOME10,SAVE20", "does not exist"),
        ("50% off please", "does not exist"),
    ],
)
def test_the_model_cannot_invent_a_discount(h: Harness, code: str, message: str) -> None:
    now = datetime.now(UTC)
    save_promo(h.store, code="LATER", starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=9))
    ctx = h.ctx(SOPHIA)
    fill(h, ctx, "20", "30")
    checked = h.call(ctx, "check_promo_code", promo_code=code)
    assert not checked.ok and message in (checked.error or "")
    refused = h.call(
        ctx, "propose_checkout", shipping_method="standard", payment_method_id="paypal_5297429", promo_code=code
    )
    assert not refused.ok and message in (refused.error or "")


def test_a_fixed_code_never_takes_the_items_below_zero(h: Harness) -> None:
    save_promo(h.store, code="HUGE", value=1_000_000)
    ctx = h.ctx(SOPHIA)
    price = fill(h, ctx, "20", "30")
    quote = propose(h, ctx, shipping_method="express", payment_method_id="paypal_5297429", promo_code="huge")
    assert Decimal(str(quote["discount"])) == price
    assert quote["total"] > 0  # shipping and its tax are still paid


# place_order ---------------------------------------------------------------------------------------------------------


def test_an_order_is_placed_charged_once_and_the_cart_emptied(h: Harness) -> None:
    ctx = h.ctx(EMMA)
    fill(h, ctx, "30", "40", quantity=2)
    card = h.card()
    quote = propose(h, ctx, shipping_method="standard", payment_method_id=card, promo_code="WELCOME10")
    placed = h.call(
        ctx,
        "place_order",
        **order_args(quote, shipping_method="standard", payment_method_id=card, promo_code="WELCOME10"),
    )
    assert placed.ok, placed.error
    order_id = placed.output["order_id"]
    assert order_id.startswith("#W") and len(order_id) == 9 and order_id[2:].isdigit()
    assert order_id in orders_of(h.store, EMMA)
    with h.store.session() as s:
        order = s.get_order(order_id)
        customer = s.get_customer(EMMA)
        charges = payment_records(s).get_order_charges(order_id)
        entries = payment_records(s).ledger(order_id=order_id)
    assert order is not None and customer is not None and charges is not None
    assert order.status == "pending" and len(order.items) == 2
    [payment] = order.payment_history
    assert payment.amount == Decimal(str(quote["total"])) and payment.transaction_type == "payment"
    # the typed card is now a saved method, shown as brand + last four
    assert customer.payment_methods[payment.payment_method_id].model_dump()["last_four"] == "4242"
    assert placed.output["quote"]["payment"]["description"] == "Visa ending in 4242"
    assert charges.total_minor == quote["total_minor"] and charges.promo_code == "WELCOME10"
    assert [e.kind.value for e in entries] == ["authorization", "capture"]
    assert h.captured_net() == quote["total_minor"]
    assert cart_lines(h.store, ctx.cart_id) == 0
    assert reconcile(h.store, h.gateway_view()) == []


def test_the_delegated_token_allows_exactly_the_confirmed_total(h: Harness) -> None:
    ctx = h.ctx(SOPHIA)
    fill(h, ctx, "30", "40")
    quote = propose(h, ctx, shipping_method="express", payment_method_id="credit_card_7326294")
    placed = h.call(
        ctx, "place_order", **order_args(quote, shipping_method="express", payment_method_id="credit_card_7326294")
    )
    assert placed.ok, placed.error
    with h.store.session() as s:
        tokens = payment_records(s).gateway_records("sandbox", "token")
    [token] = tokens
    assert token["allowance"]["max_amount"] == quote["total_minor"]
    assert token["allowance"]["currency"] == "USD"


def test_a_gift_card_pays_from_its_balance(h: Harness) -> None:
    ctx = h.ctx(EMMA)
    fill(h, ctx, "20", "30")
    quote = propose(h, ctx, shipping_method="standard", payment_method_id=EMMA_GIFT_CARD)
    placed = h.call(
        ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id=EMMA_GIFT_CARD)
    )
    assert placed.ok, placed.error
    with h.store.session() as s:
        customer = s.get_customer(EMMA)
    assert customer is not None
    assert customer.payment_methods[EMMA_GIFT_CARD].model_dump()["balance"] == Decimal("62.00") - Decimal(
        str(quote["total"])
    )
    assert h.sandbox.calls.total() == 0  # a gift card never goes to the card gateway
    assert reconcile(h.store, h.gateway_view()) == []


def test_a_gift_card_that_cannot_cover_the_total_is_refused(h: Harness) -> None:
    ctx = h.ctx(EMMA)
    fill(h, ctx, "45", "55", quantity=2)
    refused = h.call(ctx, "propose_checkout", shipping_method="standard", payment_method_id=EMMA_GIFT_CARD)
    assert not refused.ok and "does not cover the total" in (refused.error or "")


def test_a_declined_card_leaves_no_order_and_no_charge(h: Harness) -> None:
    ctx = h.ctx(EMMA)
    fill(h, ctx, "20", "30")
    card = h.card(DECLINED)
    quote = propose(h, ctx, shipping_method="standard", payment_method_id=card)
    before = orders_of(h.store, EMMA)
    declined = h.call(ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id=card))
    assert not declined.ok
    assert "declined" in (declined.error or "") and "nothing was charged" in (declined.error or "")
    assert orders_of(h.store, EMMA) == before
    assert h.captured_net() == 0 and h.captures() == []
    assert cart_lines(h.store, ctx.cart_id) == 1
    assert reconcile(h.store, h.gateway_view()) == []
    # the customer can then pay with another method
    quote = propose(h, ctx, shipping_method="standard", payment_method_id=EMMA_PAYPAL)
    paid = h.call(ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id=EMMA_PAYPAL))
    assert paid.ok, paid.error


def test_extra_authentication_is_voided_and_explained(h: Harness) -> None:
    ctx = h.ctx(EMMA)
    fill(h, ctx, "20", "30")
    card = h.card(NEEDS_3DS)
    quote = propose(h, ctx, shipping_method="standard", payment_method_id=card)
    held = h.call(ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id=card))
    assert not held.ok and "verify this payment" in (held.error or "")
    [payment] = h.sandbox.payments()
    assert payment.status is PaymentStatus.VOIDED and payment.captured == 0
    assert cart_lines(h.store, ctx.cart_id) == 1


def test_a_gateway_that_keeps_failing_is_retried_then_reported_without_charging(h: Harness) -> None:
    ctx = h.ctx(EMMA)
    fill(h, ctx, "20", "30")
    card = h.card(NETWORK_ERROR)
    quote = propose(h, ctx, shipping_method="standard", payment_method_id=card)
    failed = h.call(ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id=card))
    assert not failed.ok and "nothing was charged" in (failed.error or "")
    assert h.sandbox.calls["authorize"] == 3  # the first try and two retries, all with the same key
    assert h.sandbox.payments() == []
    assert cart_lines(h.store, ctx.cart_id) == 1
    # the same checkout can be tried again: it takes over the first attempt (same keys, so nothing doubles)
    again = h.call(ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id=card))
    assert not again.ok and h.sandbox.calls["authorize"] == 6


def test_lost_gateway_responses_are_retried_without_charging_twice(h: Harness) -> None:
    ctx = h.ctx(EMMA)
    fill(h, ctx, "20", "30")
    card = h.card()
    quote = propose(h, ctx, shipping_method="standard", payment_method_id=card)
    # tokenize, authorize and capture are all processed, and each first answer is lost on the way back
    h.sandbox.faults.lose_first_response_of = {"tokenize", "authorize", "capture"}
    placed = h.call(ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id=card))
    assert placed.ok, placed.error
    assert len(h.sandbox.payments()) == 1
    assert h.captured_net() == quote["total_minor"]
    assert reconcile(h.store, h.gateway_view()) == []


def test_a_slow_gateway_times_out_and_the_retry_gets_the_first_answer(sqlite_store: SqlCommerceStore) -> None:
    h = harness(sqlite_store, timeout_s=0.2)
    ctx = h.ctx(EMMA)
    fill(h, ctx, "20", "30")
    card = h.card()
    quote = propose(h, ctx, shipping_method="standard", payment_method_id=card)
    h.sandbox.faults.slow_responses, h.sandbox.faults.slow_s = 1, 0.6
    placed = h.call(ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id=card))
    assert placed.ok, placed.error
    assert len(h.sandbox.payments()) == 1 and h.captured_net() == quote["total_minor"]


def set_price(store: SqlCommerceStore, item_id: str, price: Decimal) -> None:
    with store.session(write=True) as s:
        s.connection.execute(update(t.variants).where(t.variants.c.item_id == item_id).values(price=price))


def set_available(store: SqlCommerceStore, item_id: str, available: bool) -> None:
    with store.session(write=True) as s:
        s.connection.execute(update(t.variants).where(t.variants.c.item_id == item_id).values(available=available))


def test_a_price_change_after_the_proposal_charges_nothing(h: Harness) -> None:
    ctx = h.ctx(SOPHIA)
    item = item_priced(h.store, Decimal("20"), Decimal("30"))
    h.call(ctx, "add_to_cart", item_id=item.item_id)
    quote = propose(h, ctx, shipping_method="standard", payment_method_id="credit_card_7326294")
    set_price(h.store, item.item_id, item.price + Decimal("5.00"))
    changed = h.call(
        ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id="credit_card_7326294")
    )
    assert not changed.ok
    assert "changed since it was confirmed" in (changed.error or "") and "Nothing was charged" in (changed.error or "")
    assert h.sandbox.calls.total() == 0
    fresh = propose(h, ctx, shipping_method="standard", payment_method_id="credit_card_7326294")
    assert fresh["quote_id"] != quote["quote_id"] and fresh["quote_id"] in (changed.error or "")


def test_stock_gone_before_payment_charges_nothing(h: Harness) -> None:
    ctx = h.ctx(SOPHIA)
    item = item_priced(h.store, Decimal("20"), Decimal("30"))
    h.call(ctx, "add_to_cart", item_id=item.item_id)
    quote = propose(h, ctx, shipping_method="standard", payment_method_id="credit_card_7326294")
    set_available(h.store, item.item_id, False)
    gone = h.call(
        ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id="credit_card_7326294")
    )
    assert not gone.ok and "no longer available" in (gone.error or "")
    assert h.sandbox.calls.total() == 0


def test_stock_gone_at_the_last_moment_refunds_the_capture(h: Harness) -> None:
    """The item sells out between the capture and the order's transaction: the capture is refunded."""
    ctx = h.ctx(SOPHIA)
    item = item_priced(h.store, Decimal("20"), Decimal("30"))
    h.call(ctx, "add_to_cart", item_id=item.item_id)
    quote = propose(h, ctx, shipping_method="standard", payment_method_id="credit_card_7326294")
    before = orders_of(h.store, SOPHIA)
    real_capture = h.sandbox.capture

    def capture_then_sell_out(payment_id: str, amount: int, *, idempotency_key: str) -> Any:
        taken = real_capture(payment_id, amount, idempotency_key=idempotency_key)
        set_available(h.store, item.item_id, False)
        return taken

    h.sandbox.capture = capture_then_sell_out  # type: ignore[method-assign]
    gone = h.call(
        ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id="credit_card_7326294")
    )
    assert not gone.ok and "no longer available" in (gone.error or "")
    [payment] = h.sandbox.payments()
    assert payment.captured == payment.refunded == quote["total_minor"]
    assert orders_of(h.store, SOPHIA) == before
    assert reconcile(h.store, h.gateway_view()) == []
    assert cart_lines(h.store, ctx.cart_id) == 1


def test_the_same_checkout_sent_twice_returns_the_first_order(h: Harness) -> None:
    ctx = h.ctx(SOPHIA)
    fill(h, ctx, "20", "30")
    arguments = {"shipping_method": "express", "payment_method_id": "credit_card_7326294"}
    quote = propose(h, ctx, **arguments)
    first = h.call(ctx, "place_order", **order_args(quote, **arguments))
    second = h.call(ctx, "place_order", **order_args(quote, **arguments))
    assert first.ok and second.ok
    assert first.output == second.output
    assert len(h.captures()) == 1
    # the same items again later are a new order (a new quote), not a replay
    fill(h, ctx, "20", "30")
    again = propose(h, ctx, **arguments)
    assert again["quote_id"] != quote["quote_id"]
    third = h.call(ctx, "place_order", **order_args(again, **arguments))
    assert third.ok and third.output["order_id"] != first.output["order_id"]
    assert len(h.captures()) == 2


def test_a_rehearsal_never_pays(h: Harness) -> None:
    ctx = h.ctx(SOPHIA)
    fill(h, ctx, "20", "30")
    arguments = {"shipping_method": "standard", "payment_method_id": "credit_card_7326294"}
    quote = propose(h, ctx, **arguments)
    rehearsal = ToolContext(
        store=h.store.rehearsal(), scope="customer", customer_id=SOPHIA, cart_id=ctx.cart_id, payments=h.services
    )
    preview = place_order(rehearsal, quote["quote_id"], **arguments)  # type: ignore[arg-type]
    assert preview.status == "awaiting_confirmation" and preview.order_id is None
    assert preview.quote.total_minor == quote["total_minor"]
    assert h.sandbox.calls.total() == 0 and cart_lines(h.store, ctx.cart_id) == 1


# customer scope -------------------------------------------------------------------------------------------------------


def test_checkout_needs_an_authenticated_customer(h: Harness) -> None:
    ctx = h.ctx(None)
    fill(h, ctx, "20", "30")
    refused = h.call(ctx, "propose_checkout", shipping_method="standard", payment_method_id=EMMA_PAYPAL)
    assert not refused.ok and "Authentication required" in (refused.error or "")


def test_another_customers_payment_method_or_cart_is_not_found(h: Harness) -> None:
    sophia = h.ctx(SOPHIA)
    fill(h, sophia, "20", "30")
    foreign = h.call(sophia, "propose_checkout", shipping_method="standard", payment_method_id=EMMA_GIFT_CARD)
    assert foreign.error == "Error: Payment method not found"
    emma_on_sophias_cart = h.ctx(EMMA, cart_id=sophia.cart_id)
    refused = h.call(
        emma_on_sophias_cart, "propose_checkout", shipping_method="standard", payment_method_id=EMMA_PAYPAL
    )
    assert refused.error == "Error: Cart not found"


def test_a_checkout_whose_answers_were_all_lost_is_taken_over_by_the_next_try(h: Harness) -> None:
    ctx = h.ctx(SOPHIA)
    fill(h, ctx, "20", "30")
    arguments = {"shipping_method": "standard", "payment_method_id": "credit_card_7326294"}
    quote = propose(h, ctx, **arguments)
    # the authorization is processed (once: same key) but the first try and both retries lose the answer
    real_authorize = h.sandbox.authorize
    lost = {"left": 3}

    def authorize_and_lose(token: str, amount: int, currency: str, *, idempotency_key: str) -> Any:
        answer = real_authorize(token, amount, currency, idempotency_key=idempotency_key)
        if lost["left"]:
            lost["left"] -= 1
            raise GatewayUnavailableError("The payment processor did not answer in time")
        return answer

    h.sandbox.authorize = authorize_and_lose  # type: ignore[method-assign]
    failed = h.call(ctx, "place_order", **order_args(quote, **arguments))
    assert not failed.ok and "did not answer in time" in (failed.error or "")
    assert cart_lines(h.store, ctx.cart_id) == 1
    placed = h.call(ctx, "place_order", **order_args(quote, **arguments))
    assert placed.ok, placed.error
    [payment] = h.sandbox.payments()  # the next try got the first authorization back: one hold, one charge
    assert payment.captured == quote["total_minor"]
    assert reconcile(h.store, h.gateway_view()) == []


def test_a_price_change_between_the_proposal_and_the_yes_is_re_proposed_not_charged(
    sqlite_store: SqlCommerceStore,
) -> None:
    model = ScriptedChatModel(steps=[call("find_user_id_by_email", email="sophia.thomas1364@example.com"), say("Hi!")])
    service = service_for(sqlite_store, model, agent="checkout")
    cid = service.start()
    service.send(cid, "sophia.thomas1364@example.com")
    h = harness(sqlite_store)
    ctx = h.ctx(SOPHIA, cart_id=cid)
    item = item_priced(sqlite_store, Decimal("20"), Decimal("30"))
    assert h.call(ctx, "add_to_cart", item_id=item.item_id).ok
    arguments = {"shipping_method": "standard", "payment_method_id": "credit_card_7326294"}
    quote = propose(h, ctx, **arguments)
    model.steps += [
        call("place_order", **order_args(quote, **arguments)),
        say("The price changed; here is the new total."),
    ]
    asked = service.send(cid, "place the order")
    assert asked.awaiting_confirmation
    assert f"${quote['total']:,.2f}" in asked.reply and "Visa ending in 9858" in asked.reply
    before = orders_of(sqlite_store, SOPHIA)
    set_price(sqlite_store, item.item_id, item.price + Decimal("1.00"))
    answer = service.send(cid, "yes")
    assert not answer.awaiting_confirmation
    assert [(c.name, c.ok) for c in answer.tool_calls] == [("place_order", False)]
    assert "changed since it was confirmed" in str(model.calls[-1][-1].content)
    assert orders_of(sqlite_store, SOPHIA) == before
    assert cart_lines(sqlite_store, cid) == 1
    model.assert_done()
