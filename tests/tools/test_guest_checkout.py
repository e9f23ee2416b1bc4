"""Guest checkout in the tools layer: someone without an account gives an email, their name, a delivery address and
a card typed in the chat; the same quote and confirmed order follow, and placing it creates their account. A
returning guest verifies by email like anyone else; an email the store knows is refused until it is verified."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopkeep.guardrails.tool_rails import ToolCallCheck, default_tool_rails
from shopkeep.payments.ledger import reconcile
from shopkeep.store import SqlCommerceStore
from tests.support.checkout import EMMA, EMMA_PAYPAL, REGISTRY, Harness, available_items, harness

GUEST = {"email": "Ines.Moreau@example.fr", "first_name": "Inès", "last_name": "Moreau"}
ADDRESS = {"address1": "41 Orchard Lane", "address2": "Apt 2", "city": "Portland", "state": "or", "zip": "97205"}


@pytest.fixture
def h(sqlite_store: SqlCommerceStore) -> Harness:
    return harness(sqlite_store)


def test_a_guest_orders_and_the_order_creates_their_account(h: Harness) -> None:
    ctx = h.ctx(customer_id=None)
    item = available_items(h.store)[0]
    assert h.call(ctx, "add_to_cart", item_id=item.item_id, quantity=2).ok
    card = h.card()
    args = {"shipping_method": "standard", "payment_method_id": card, **GUEST, **ADDRESS}
    proposed = h.call(ctx, "propose_checkout", **args)
    assert proposed.ok, proposed.error
    quote = proposed.value
    assert quote.guest_email == "Ines.Moreau@example.fr"
    assert quote.payment.source == "new_card" and quote.address.state == "OR" and quote.address.country == "USA"
    assert quote.subtotal == item.price * 2

    placed = h.call(ctx, "place_order", quote_id=quote.quote_id, **args)
    assert placed.ok, placed.error
    order_id, customer_id = placed.value.order_id, placed.value.customer_id
    assert customer_id == "ines_moreau_" + customer_id.rsplit("_", 1)[1]
    assert placed.value.charged == quote.total
    with h.store.session() as session:
        customer = session.get_customer(customer_id)
        order = session.get_order(order_id)
    assert customer is not None and order is not None
    assert customer.email == "Ines.Moreau@example.fr" and customer.name.first_name == "Inès"
    assert customer.address == quote.address  # the delivery address is their default now
    assert customer.orders == [order_id] and order.user_id == customer_id
    (saved,) = customer.payment_methods.values()
    assert saved.source == "credit_card" and saved.last_four == "4242"  # type: ignore[union-attr]
    assert order.payment_history[0].payment_method_id == saved.id
    assert reconcile(h.store, h.gateway_view()) == []
    assert h.captured_net() == int(quote.total * 100)

    # A returning guest verifies by email like anyone else, and sees their order.
    again = h.ctx(customer_id=None)
    found = h.call(again, "find_user_id_by_email", email="ines.moreau@EXAMPLE.fr")
    assert found.ok and found.output == customer_id
    mine = h.ctx(customer_id=customer_id)
    assert h.call(mine, "get_order_details", order_id=order_id).ok


def test_a_known_email_must_verify_first(h: Harness) -> None:
    ctx = h.ctx(customer_id=None)
    h.call(ctx, "add_to_cart", item_id=available_items(h.store)[0].item_id)
    args = {"shipping_method": "standard", "payment_method_id": h.card(), **ADDRESS}
    known = h.call(ctx, "propose_checkout", email="EMMA.SMITH3991@example.com", first_name="E", last_name="S", **args)
    assert not known.ok and "verify it first (find_user_id_by_email)" in (known.error or "")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"email": "not an email"}, "needs the customer's email address"),
        ({"last_name": ""}, "needs the customer's first and last name"),
        ({"address1": "", "address2": "", "city": "", "state": "", "zip": ""}, "needs the delivery address"),
        ({"payment_method_id": EMMA_PAYPAL}, "A guest pays with a card typed in this chat"),
    ],
)
def test_a_guest_gives_email_name_address_and_a_typed_card(h: Harness, change: dict[str, str], error: str) -> None:
    ctx = h.ctx(customer_id=None)
    h.call(ctx, "add_to_cart", item_id=available_items(h.store)[0].item_id)
    args = {"shipping_method": "standard", "payment_method_id": h.card(), **GUEST, **ADDRESS, **change}
    outcome = h.call(ctx, "propose_checkout", **args)
    assert not outcome.ok and error in (outcome.error or "")


def test_without_guest_details_checkout_still_needs_a_customer(h: Harness) -> None:
    ctx = h.ctx(customer_id=None)
    h.call(ctx, "add_to_cart", item_id=available_items(h.store)[0].item_id)
    outcome = h.call(ctx, "propose_checkout", shipping_method="standard", payment_method_id=h.card(), **ADDRESS)
    assert not outcome.ok and "Authentication required" in (outcome.error or "")


def test_a_verified_customer_ignores_guest_details(h: Harness) -> None:
    ctx = h.ctx(customer_id=EMMA)
    h.call(ctx, "add_to_cart", item_id=available_items(h.store)[0].item_id)
    quote = h.call(ctx, "propose_checkout", shipping_method="standard", payment_method_id=EMMA_PAYPAL, **GUEST)
    assert quote.ok and quote.value.guest_email is None and quote.value.payment.source == "paypal"


def test_the_rails_let_a_guest_check_out_only_with_their_own_words_and_a_typed_card(h: Harness) -> None:
    rails = default_tool_rails()
    ctx = h.ctx(customer_id=None)
    place = REGISTRY.get("place_order")
    card = h.card()
    args = {"quote_id": "q", "shipping_method": "standard", "payment_method_id": card, **GUEST, **ADDRESS}
    said = "I'm Inès Moreau, Ines.Moreau@example.fr, ship to 41 Orchard Lane Apt 2, Portland OR 97205"
    assert rails.check(ToolCallCheck(place, args, ctx, said=said)) is None
    invented = rails.check(ToolCallCheck(place, {**args, "email": "other@example.com"}, ctx, said=said))
    assert invented is not None and invented.name == "customer_given" and "email" in invented.text
    saved_method = rails.check(ToolCallCheck(place, {**args, "payment_method_id": EMMA_PAYPAL}, ctx, said=said))
    assert saved_method is not None and saved_method.name == "authentication_required"
    anonymous = {key: value for key, value in args.items() if key != "email"}
    no_email = rails.check(ToolCallCheck(place, anonymous, ctx, said=said))
    assert no_email is not None and no_email.name == "authentication_required"


def test_the_summary_says_an_account_is_created(h: Harness) -> None:
    from shopkeep.tools.checkout import describe_quote

    ctx = h.ctx(customer_id=None)
    h.call(ctx, "add_to_cart", item_id=available_items(h.store)[0].item_id)
    args = {"shipping_method": "standard", "payment_method_id": h.card(), **GUEST, **ADDRESS}
    quote = h.call(ctx, "propose_checkout", **args).value
    summary = describe_quote(quote)
    assert "Checking out as a guest: this creates an account for Ines.Moreau@example.fr." in summary
    assert "Visa ending in 4242" in summary and quote.total > Decimal("0")
