"""The checkout policy on hand-built conversations: identity, cart, shipping, payment, promo code, the proposal,
and what happens after the customer's answer (placed, declined, prices changed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from shopkeep.domain import Address
from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.policies import POLICIES
from shopkeep.llm.local.policies.base import Call, Say, Step
from shopkeep.tools._pricing import SHIPPING
from shopkeep.tools.checkout import (
    CheckoutQuote,
    DeliveryEstimate,
    PaymentChoice,
    PaymentMethods,
    PaymentMethodView,
    PlacedOrder,
    PromoCheck,
    QuoteLine,
    ShippingOption,
    ShippingOptions,
)
from tests.support.dialogs import DECLINED, Conversation, ToolError, assert_prices_from_tools, demo_reply
from tests.support.shop_results import (
    BLACK_STEEL_LITRE_BOTTLE,
    RETURNS_PASSAGE,
    WATER_BOTTLE,
    cart_view,
    knowledge,
    product,
    product_types,
    resolution,
)

checkout = POLICIES["checkout"]
EMMA = "emma_smith_8564"
EMMA_EMAIL = "emma.smith3991@example.com"
PAYPAL = "paypal_6228291"
GIFT_CARD = "gift_card_8541487"
TOKEN = "vt_0123456789abcdef01234567"
CART = cart_view((BLACK_STEEL_LITRE_BOTTLE, 1))


def shipping_options() -> ShippingOptions:
    return ShippingOptions(
        options=[
            ShippingOption(shipping_method=m, label=SHIPPING[m].label, cost=SHIPPING[m].cost, available=True)
            for m in ("standard", "express", "next_day")
        ]
    )


def payment_methods() -> PaymentMethods:
    return PaymentMethods(
        payment_methods=[
            PaymentMethodView(payment_method_id=GIFT_CARD, description=f"gift card {GIFT_CARD} (balance $62.00)"),
            PaymentMethodView(payment_method_id=PAYPAL, description=f"PayPal ({PAYPAL})"),
        ]
    )


def quote(args: dict[str, Any], quote_id: str = "q1", total: str = "64.05") -> CheckoutQuote:
    line = CART.lines[0]
    method = args["shipping_method"]
    return CheckoutQuote(
        quote_id=quote_id,
        currency="USD",
        lines=[
            QuoteLine(
                item_id=line.item_id,
                product_id=line.product_id,
                name=line.name,
                options=line.options,
                unit_price=line.unit_price,
                quantity=1,
                line_total=line.unit_price,
            )
        ],
        item_count=1,
        subtotal=line.unit_price,
        promo_code=args.get("promo_code") or None,
        promo_description=None,
        discount=Decimal("0.00"),
        shipping_method=method,
        shipping_label=SHIPPING[method].label,
        shipping=SHIPPING[method].cost,
        tax_rate_percent="4%",
        tax=Decimal("2.55"),
        total=Decimal(total),
        total_minor=int(Decimal(total) * 100),
        address=Address(
            address1="243 Hillcrest Drive", address2="", city="New York", country="USA", state="NY", zip="10192"
        ),
        payment=PaymentChoice(payment_method_id=args["payment_method_id"], source="paypal", description="PayPal"),
        delivery=DeliveryEstimate(shipping_method=method, earliest=date(2026, 11, 30), latest=date(2026, 12, 1)),
    )


def said(step: Step) -> str:
    assert isinstance(step, Say), step
    return step.text


def checkout_tools(**extra: Any) -> dict[str, Any]:
    return {
        "find_user_id_by_email": EMMA,
        "view_cart": CART,
        "list_shipping_options": shipping_options(),
        "list_payment_methods": payment_methods(),
        "propose_checkout": quote,
        **extra,
    }


def verified(nlu: NLU, text: str = "I'd like to check out") -> Conversation:
    talk = Conversation().user(text)
    _, reply = talk.run(checkout, nlu, {})
    assert reply.text == demo_reply("checkout.ask_identity_or_guest")
    talk.user(f"it's {EMMA_EMAIL}")
    return talk


def test_the_customer_is_identified_first_and_an_empty_cart_is_said_so(nlu: NLU) -> None:
    talk = verified(nlu)
    calls, reply = talk.run(checkout, nlu, checkout_tools(view_cart=cart_view()))
    assert [c.name for c in calls] == ["find_user_id_by_email", "view_cart"]
    assert reply.text == demo_reply("checkout.empty_cart")


def test_shipping_then_payment_then_one_exact_proposal(nlu: NLU) -> None:
    talk = verified(nlu)
    calls, reply = talk.run(checkout, nlu, checkout_tools())
    assert [c.name for c in calls] == ["find_user_id_by_email", "view_cart", "list_shipping_options"]
    assert reply.text == (
        "How would you like your order shipped: Standard (5-7 business days) for $5.99, Express (2-3 business days) "
        "for $14.99 or Next-day (next business day) for $24.99?"
    )
    talk.user("express please")
    calls, reply = talk.run(checkout, nlu, checkout_tools())
    assert calls == [Call("list_payment_methods")]
    assert f"gift card {GIFT_CARD} (balance $62.00); PayPal ({PAYPAL})" in reply.text
    assert reply.text.endswith("?")
    talk.user("paypal")
    step = talk.decide(checkout, nlu)
    args = {"shipping_method": "express", "payment_method_id": PAYPAL, "promo_code": ""}
    assert step == Call("propose_checkout", args)
    talk.tool("propose_checkout", args, quote(args))
    assert talk.decide(checkout, nlu) == Call("place_order", {"quote_id": "q1", **args})


def test_a_card_typed_in_chat_pays_by_its_vault_token(nlu: NLU) -> None:
    talk = verified(nlu, "proceed to checkout with standard shipping")
    talk.run(checkout, nlu, checkout_tools())
    talk.user(f"use this card [visa card ending 4242, vault token {TOKEN}]")
    args = {"shipping_method": "standard", "payment_method_id": TOKEN, "promo_code": ""}
    assert talk.decide(checkout, nlu) == Call("propose_checkout", args)


def test_a_promo_code_is_checked_and_a_refused_one_is_dropped_after_asking(nlu: NLU) -> None:
    talk = verified(nlu, "I want to checkout, next day shipping")
    talk.run(checkout, nlu, checkout_tools())
    talk.user("paypal, and my promo code is BOGUS10")
    refused = ToolError("Error: Promo code BOGUS10 does not exist")
    calls, reply = talk.run(checkout, nlu, checkout_tools(check_promo_code=refused))
    assert calls == [Call("check_promo_code", {"promo_code": "BOGUS10"})]
    assert (
        reply.text
        == "The promo code BOGUS10 can't be used: Promo code BOGUS10 does not exist. Shall I go on without it?"
    )
    talk.user("yes")
    args = {"shipping_method": "next_day", "payment_method_id": PAYPAL, "promo_code": ""}
    assert talk.decide(checkout, nlu) == Call("propose_checkout", args)


def test_a_valid_promo_code_goes_into_the_proposal(nlu: NLU) -> None:
    talk = verified(nlu, "proceed to checkout with standard shipping")
    talk.run(checkout, nlu, checkout_tools())
    talk.user("PayPal. I have a code: WELCOME10")
    accepted = PromoCheck(
        code="WELCOME10",
        description="10% off",
        subtotal=Decimal("46.51"),
        discount=Decimal("4.65"),
        subtotal_after_discount=Decimal("41.86"),
    )
    step = talk.decide(checkout, nlu)
    assert step == Call("check_promo_code", {"promo_code": "WELCOME10"})
    talk.tool("check_promo_code", step.args, accepted)
    args = {"shipping_method": "standard", "payment_method_id": PAYPAL, "promo_code": "WELCOME10"}
    assert talk.decide(checkout, nlu) == Call("propose_checkout", args)


def placed_conversation(nlu: NLU) -> tuple[Conversation, dict[str, Any]]:
    talk = verified(nlu, "proceed to checkout with express shipping")
    talk.run(checkout, nlu, checkout_tools())
    talk.user("pay with paypal")
    args = {"shipping_method": "express", "payment_method_id": PAYPAL, "promo_code": ""}
    talk.tool("propose_checkout", args, quote(args))
    return talk, args


def test_after_the_yes_the_reply_gives_the_order_total_and_delivery_from_the_result(nlu: NLU) -> None:
    talk, args = placed_conversation(nlu)
    placed = PlacedOrder(status="placed", order_id="#W1234567", quote=quote(args), charged=Decimal("64.05"))
    talk.tool("place_order", {"quote_id": "q1", **args}, placed)
    assert said(talk.decide(checkout, nlu)) == (
        "Your order #W1234567 is placed: $64.05 charged to PayPal. Express (2-3 business days) shipping, estimated "
        "delivery Mon Nov 30 to Tue Dec 01. Is there anything else I can help you with?"
    )


def test_a_no_places_nothing_and_ends_the_checkout(nlu: NLU) -> None:
    talk, args = placed_conversation(nlu)
    talk.tool("place_order", {"quote_id": "q1", **args}, DECLINED)
    assert said(talk.decide(checkout, nlu)) == demo_reply("checkout.declined")
    talk.bot(demo_reply("checkout.declined")).user("no thanks")
    assert "place_order" not in str(talk.decide(checkout, nlu))


def test_a_correction_after_a_no_is_proposed_again(nlu: NLU) -> None:
    talk, args = placed_conversation(nlu)
    talk.tool("place_order", {"quote_id": "q1", **args}, DECLINED)
    talk.bot(demo_reply("checkout.declined")).user("use standard shipping instead")
    assert talk.decide(checkout, nlu) == Call("propose_checkout", {**args, "shipping_method": "standard"})


def test_a_price_change_before_the_yes_is_priced_and_proposed_again(nlu: NLU) -> None:
    talk, args = placed_conversation(nlu)
    changed = ToolError(
        "Error: The checkout changed since it was confirmed (prices, stock, promo or totals): the total is now "
        "$66.10 (quote q2). Nothing was charged; please confirm the new summary"
    )
    talk.tool("place_order", {"quote_id": "q1", **args}, changed)
    assert talk.decide(checkout, nlu) == Call("propose_checkout", args)
    talk.tool("propose_checkout", args, quote(args, quote_id="q2", total="66.10"))
    assert talk.decide(checkout, nlu) == Call("place_order", {"quote_id": "q2", **args})


def test_a_failed_payment_is_explained(nlu: NLU) -> None:
    talk, args = placed_conversation(nlu)
    talk.tool("place_order", {"quote_id": "q1", **args}, ToolError("Error: The card was declined"))
    assert said(talk.decide(checkout, nlu)).startswith("I'm sorry, the order wasn't placed: The card was declined.")


def test_buying_a_named_product_puts_it_in_the_cart_first(nlu: NLU) -> None:
    talk = Conversation().user("I want to buy a 1000ml stainless steel black water bottle")
    talk.run(checkout, nlu, {})
    talk.user(EMMA_EMAIL)
    tools = checkout_tools(
        list_all_product_types=product_types(),
        get_product_details=lambda args: product(args["product_id"]),
        find_variant=lambda args: resolution(args["product_id"], args["description"]),
        add_to_cart=CART,
    )
    calls, reply = talk.run(checkout, nlu, tools)
    assert [c.name for c in calls] == [
        "find_user_id_by_email",
        "list_all_product_types",
        "get_product_details",
        "find_variant",
        "add_to_cart",
        "list_shipping_options",
    ]
    assert calls[2].args == {"product_id": WATER_BOTTLE}
    assert reply.text.startswith("How would you like your order shipped")
    assert_prices_from_tools(reply, talk)


def test_a_policy_question_mid_checkout_is_answered_and_the_checkout_goes_on(nlu: NLU) -> None:
    talk = verified(nlu)
    talk.run(checkout, nlu, checkout_tools())
    talk.user("what is your return policy?")
    found = knowledge("what is your return policy?", RETURNS_PASSAGE)
    calls, reply = talk.run(checkout, nlu, checkout_tools(search_knowledge=found))
    assert calls == [Call("search_knowledge", {"question": "what is your return policy?"})]
    assert "(source: returns) Back to your checkout: How would you like your order shipped" in reply.text
    talk.user("standard")
    assert talk.decide(checkout, nlu) == Call("list_payment_methods")


def test_a_refused_checkout_asks_for_other_choices_instead_of_retrying(nlu: NLU) -> None:
    talk, _ = placed_conversation(nlu)
    talk.user("use the gift card instead")
    args = {"shipping_method": "express", "payment_method_id": GIFT_CARD, "promo_code": ""}
    too_small = ToolError("Error: The gift card balance ($62.00) does not cover the total ($64.05)")
    calls, reply = talk.run(checkout, nlu, checkout_tools(propose_checkout=too_small))
    assert calls == [Call("propose_checkout", args)]
    assert reply.text.startswith("I couldn't prepare the checkout: The gift card balance ($62.00) does not cover")
    talk.user("yes")
    calls, reply = talk.run(checkout, nlu, checkout_tools(propose_checkout=too_small))
    assert calls == []
    assert reply.text.endswith("Which shipping speed or payment method should I use instead?")
    assert f"PayPal ({PAYPAL})" in reply.text


def test_a_guest_gives_email_name_address_and_a_card_then_gets_the_same_proposal(nlu: NLU) -> None:
    talk = Conversation().user("I'd like to check out as a guest")
    calls, reply = talk.run(checkout, nlu, {})
    assert calls == [] and reply.text == demo_reply("checkout.ask_guest_email")
    talk.user("ines.moreau@example.fr")
    unknown = ToolError("Error: User not found")
    calls, reply = talk.run(checkout, nlu, checkout_tools(find_user_id_by_email=unknown))
    assert [c.name for c in calls] == ["find_user_id_by_email", "view_cart"]
    assert reply.text == demo_reply("checkout.ask_guest_name")
    talk.user("Ines Moreau")
    assert said(talk.run(checkout, nlu, {})[1]) == demo_reply("checkout.ask_guest_address")
    talk.user("41 Orchard Lane, Portland OR 97205")
    calls, _ = talk.run(checkout, nlu, checkout_tools())
    assert [c.name for c in calls] == ["list_shipping_options"]
    talk.user("standard")
    calls, reply = talk.run(checkout, nlu, checkout_tools())
    assert calls == [] and reply.text == demo_reply("checkout.ask_card")  # a guest has no saved methods to list
    talk.user(f"my card [visa card ending 4242, vault token {TOKEN}]")
    guest = {"email": "ines.moreau@example.fr", "first_name": "Ines", "last_name": "Moreau"}
    address = {"address1": "41 Orchard Lane", "address2": "", "city": "Portland", "state": "OR", "zip": "97205"}
    args = {"shipping_method": "standard", "payment_method_id": TOKEN, "promo_code": "", **address, "country": "USA"}
    assert talk.decide(checkout, nlu) == Call("propose_checkout", {**args, **guest})
    talk.tool("propose_checkout", {**args, **guest}, quote(args, "q-guest"))
    assert talk.decide(checkout, nlu) == Call("place_order", {"quote_id": "q-guest", **args, **guest})


def test_a_would_be_guest_whose_email_has_an_account_checks_out_as_that_customer(nlu: NLU) -> None:
    talk = Conversation().user("checkout please")
    assert said(talk.run(checkout, nlu, {})[1]) == demo_reply("checkout.ask_identity_or_guest")
    talk.user("I don't have an account")
    assert said(talk.run(checkout, nlu, {})[1]) == demo_reply("checkout.ask_guest_email")
    talk.user(f"it's {EMMA_EMAIL}")
    calls, reply = talk.run(checkout, nlu, checkout_tools())
    assert [c.name for c in calls] == ["find_user_id_by_email", "view_cart", "list_shipping_options"]
    assert reply.text.startswith(demo_reply("checkout.known_guest"))
    talk.user("standard")
    calls, reply = talk.run(checkout, nlu, checkout_tools())
    assert [c.name for c in calls] == ["list_payment_methods"]  # their saved methods: a customer, not a guest
    assert not reply.text.startswith(demo_reply("checkout.known_guest"))
