"""The tool-call rails: each one trips where it should and passes where it should not; the registry holds no write
that could skip the customer's yes; and through the graph a trip is a tool error, runs nothing and is recorded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.toolkit import AGENT_TOOLS, agent_registry
from shopkeep.domain import Cart, CartLine
from shopkeep.errors import AuthenticationRequiredError
from shopkeep.guardrails.base import Stage
from shopkeep.guardrails.ratelimit import MemoryRateLimiter, RateRules
from shopkeep.guardrails.tool_rails import (
    REVERSIBLE_WRITES,
    ToolCallCheck,
    ToolRails,
    authentication_required,
    confirmation_required,
    customer_given,
    limits,
    may_run_without_yes,
    ownership,
    rate_limit,
)
from shopkeep.payments.vault import MemoryCardVault
from shopkeep.settings import LimitSettings
from shopkeep.store import SqlCommerceStore
from shopkeep.tools import ToolContext, ToolKind
from shopkeep.tools.base import make_tool
from shopkeep.tools.cart import CART_TOOLS
from tests.agents.test_graph import FixedRouter
from tests.support.checkout import EMMA, EMMA_GIFT_CARD, SOPHIA, item_priced
from tests.support.scripted_model import ScriptedChatModel, call, say

REGISTRY = agent_registry()
EMMA_PENDING = "#W2417020"  # $2,674.40, paid with her gift card
SOPHIAS_PENDING = "#W4862767"
SOPHIAS_CARD = "credit_card_7326294"
UNKNOWN_ORDER = "#W0000000"


def check(store: SqlCommerceStore, name: str, customer: str | None = EMMA, cart: str = "cart-1", **args: Any) -> Any:
    ctx = ToolContext(store=store, scope="customer", customer_id=customer, conversation_id="conv-1", cart_id=cart)
    return ToolCallCheck(REGISTRY.get(name), args, ctx)


def tool_error(store: SqlCommerceStore, name: str, customer: str | None = EMMA, **args: Any) -> str | None:
    """What the tool itself says to the same call (the rails must say exactly the same)."""
    ctx = ToolContext(store=store, scope="customer", customer_id=customer, cart_id="cart-1")
    return REGISTRY.call(name, args, ctx).error


# confirmation_required --------------------------------------------------------------------------------------------


def test_every_write_a_model_can_reach_waits_for_a_yes_or_is_a_cart_edit() -> None:
    for tool in REGISTRY:
        if tool.kind is ToolKind.WRITE:
            assert tool.confirm or tool.name in REVERSIBLE_WRITES, f"{tool.name} would run without the customer's yes"
    assert {tool.name for tool in CART_TOOLS} >= REVERSIBLE_WRITES
    reachable = {name for names in AGENT_TOOLS.values() for name in names}
    assert all(may_run_without_yes(REGISTRY.get(name)) for name in reachable)


def _sneaky_refund(ctx: ToolContext, order_id: str) -> str:
    """A write tool someone registered without confirm."""
    return "refunded"


def test_confirmation_required_trips_on_a_write_without_confirmation(sqlite_store: SqlCommerceStore) -> None:
    sneaky = make_tool(ToolKind.WRITE, _sneaky_refund, confirm=False)
    ctx = ToolContext(store=sqlite_store, scope="customer", customer_id=EMMA)
    tripped = confirmation_required(ToolCallCheck(sneaky, {"order_id": EMMA_PENDING}, ctx))
    assert tripped.tripped and tripped.blocked and tripped.stage is Stage.TOOL and "confirmation" in tripped.text
    for name in ("place_order", "cancel_pending_order", "add_to_cart", "get_order_details"):
        assert not confirmation_required(check(sqlite_store, name)).tripped


# authentication_required ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("get_order_details", {"order_id": EMMA_PENDING}),
        ("get_user_details", {"user_id": EMMA}),
        ("cancel_pending_order", {"order_id": EMMA_PENDING, "reason": "no longer needed"}),
        ("list_payment_methods", {}),
        ("propose_checkout", {"shipping_method": "standard", "payment_method_id": EMMA_GIFT_CARD}),
    ],
)
def test_authentication_required_trips_before_the_customer_is_known(
    sqlite_store: SqlCommerceStore, name: str, args: dict[str, Any]
) -> None:
    tripped = authentication_required(check(sqlite_store, name, customer=None, **args))
    assert tripped.tripped and tripped.text == AuthenticationRequiredError().message
    assert tool_error(sqlite_store, name, customer=None, **args) == f"Error: {tripped.text}"
    assert not authentication_required(check(sqlite_store, name, **args)).tripped


def test_authentication_is_not_needed_to_browse_or_shop(sqlite_store: SqlCommerceStore) -> None:
    for name, args in [("search_products", {"query": "water bottle"}), ("add_to_cart", {"item_id": "1"})]:
        assert not authentication_required(check(sqlite_store, name, customer=None, **args)).tripped


# ownership --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "unknown"),
    [
        ("get_order_details", {"order_id": SOPHIAS_PENDING}, {"order_id": UNKNOWN_ORDER}),
        (
            "cancel_pending_order",
            {"order_id": SOPHIAS_PENDING, "reason": "no longer needed"},
            {"order_id": UNKNOWN_ORDER, "reason": "no longer needed"},
        ),
        ("get_user_details", {"user_id": SOPHIA}, {"user_id": "nobody_0000"}),
        (
            "modify_pending_order_payment",
            {"order_id": EMMA_PENDING, "payment_method_id": SOPHIAS_CARD},
            {"order_id": EMMA_PENDING, "payment_method_id": "credit_card_0000000"},
        ),
    ],
)
def test_ownership_refuses_another_customers_record_exactly_like_a_missing_one(
    sqlite_store: SqlCommerceStore, name: str, args: dict[str, Any], unknown: dict[str, Any]
) -> None:
    tripped = ownership(check(sqlite_store, name, **args))
    assert tripped.tripped and tripped.blocked and "another customer" in tripped.reason
    assert f"Error: {tripped.text}" == tool_error(sqlite_store, name, **unknown)
    assert not ownership(check(sqlite_store, name, **unknown)).tripped  # unknown ids are the tool's to report


def test_ownership_passes_the_customers_own_records_and_a_card_typed_in_chat(sqlite_store: SqlCommerceStore) -> None:
    token = MemoryCardVault().put("4242 4242 4242 4242").token
    assert not ownership(check(sqlite_store, "get_order_details", order_id=EMMA_PENDING)).tripped
    assert not ownership(check(sqlite_store, "get_user_details", user_id=EMMA)).tripped
    for method in (EMMA_GIFT_CARD, token):
        args = {"order_id": EMMA_PENDING, "payment_method_id": method}
        assert not ownership(check(sqlite_store, "modify_pending_order_payment", **args)).tripped


# limits -----------------------------------------------------------------------------------------------------------


def _fill_cart(store: SqlCommerceStore, cart_id: str, item: Any, quantity: int) -> None:
    line = CartLine(
        item_id=item.item_id, product_id="p", name="thing", options={}, unit_price=item.price, quantity=quantity
    )
    with store.session(write=True) as session:
        session.save_cart(Cart(cart_id=cart_id, customer_id=EMMA, lines=[line]))


def test_limits_trip_on_quantity_items_and_amount(sqlite_store: SqlCommerceStore) -> None:
    rail = limits(LimitSettings(max_line_quantity=5, max_order_items=8))
    item = item_priced(sqlite_store, Decimal("45"), Decimal("50"))
    other = item_priced(sqlite_store, Decimal("0"), Decimal("44"))
    assert not rail(check(sqlite_store, "add_to_cart", item_id=item.item_id, quantity=5)).tripped
    assert "At most 5 of one item" in rail(check(sqlite_store, "add_to_cart", item_id=item.item_id, quantity=6)).text
    _fill_cart(sqlite_store, "cart-1", item, 4)
    assert rail(check(sqlite_store, "add_to_cart", item_id=item.item_id, quantity=2)).reason == "line quantity limit"
    assert rail(check(sqlite_store, "update_cart_quantity", item_id=item.item_id, quantity=6)).tripped
    assert not rail(check(sqlite_store, "update_cart_quantity", item_id=item.item_id, quantity=5)).tripped
    many = rail(check(sqlite_store, "add_to_cart", item_id=other.item_id, quantity=5))
    assert many.reason == "order item limit" and "at most 8 items" in many.text
    cheap = limits(LimitSettings(max_order_amount=Decimal("100")))
    assert not cheap(check(sqlite_store, "add_to_cart", cart="cart-2", item_id=item.item_id, quantity=2)).tripped
    costly = cheap(check(sqlite_store, "add_to_cart", cart="cart-2", item_id=item.item_id, quantity=3))
    assert costly.reason == "order amount limit" and "$100.00" in costly.text
    args = {"shipping_method": "standard", "payment_method_id": EMMA_GIFT_CARD}
    assert cheap(check(sqlite_store, "propose_checkout", **args)).reason == "order amount limit"  # 4 x $45-50


def test_limits_pass_a_checkout_within_bounds(sqlite_store: SqlCommerceStore) -> None:
    rail = limits(LimitSettings())
    item = item_priced(sqlite_store, Decimal("45"), Decimal("50"))
    _fill_cart(sqlite_store, "cart-1", item, 2)
    args = {"shipping_method": "standard", "payment_method_id": EMMA_GIFT_CARD}
    assert not rail(check(sqlite_store, "propose_checkout", **args)).tripped


def test_limits_refuse_a_refund_over_the_maximum(sqlite_store: SqlCommerceStore) -> None:
    cancel = {"order_id": EMMA_PENDING, "reason": "no longer needed"}
    tripped = limits(LimitSettings(max_refund_amount=Decimal("1000")))(
        check(sqlite_store, "cancel_pending_order", **cancel)
    )
    assert tripped.tripped and tripped.reason == "refund amount limit" and "$2,674.40" in tripped.text
    assert not limits(LimitSettings())(check(sqlite_store, "cancel_pending_order", **cancel)).tripped


# rate_limit -------------------------------------------------------------------------------------------------------


def test_rate_limit_trips_per_conversation_and_per_customer(sqlite_store: SqlCommerceStore) -> None:
    rules = RateRules.for_tool_calls(LimitSettings(tool_calls_per_conversation=2, tool_calls_per_customer=3))
    rail = rate_limit(MemoryRateLimiter(), rules)
    first, second, third = (rail(check(sqlite_store, "list_all_product_types")) for _ in range(3))
    assert not first.tripped and not second.tripped
    assert third.tripped and third.reason == "conversation tool-call rate limit" and "wait" in third.text

    def elsewhere() -> ToolCallCheck:
        ctx = ToolContext(store=sqlite_store, scope="customer", customer_id=EMMA, conversation_id="conv-2")
        return ToolCallCheck(REGISTRY.get("list_all_product_types"), {}, ctx)

    assert not rail(elsewhere()).tripped  # the customer's third call
    assert rail(elsewhere()).reason == "customer tool-call rate limit"


def test_the_chain_stops_at_the_first_trip_and_counts_refused_calls(sqlite_store: SqlCommerceStore) -> None:
    rails = ToolRails.build(LimitSettings(tool_calls_per_conversation=1), MemoryRateLimiter())
    sophias = check(sqlite_store, "get_order_details", order_id=SOPHIAS_PENDING)
    first = rails.check(sophias)
    assert first is not None and first.name == "ownership"
    trip = rails.check(check(sqlite_store, "get_order_details", order_id=EMMA_PENDING))
    assert trip is not None and trip.name == "rate_limit"


# through the graph ------------------------------------------------------------------------------------------------


def service_with(store: SqlCommerceStore, model: ScriptedChatModel, rails: ToolRails | None = None) -> Any:
    deps = AgentDeps(
        store=store,
        brains=lambda _agent: model,
        router=FixedRouter("orders"),
        registry=agent_registry(),
        max_steps=6,
        tool_rails=rails or ToolRails.build(LimitSettings(), MemoryRateLimiter()),
    )
    return ConversationService(build_graph(deps, checkpointer=InMemorySaver()), store)


def rail_events(store: SqlCommerceStore, conversation_id: str) -> list[dict[str, Any]]:
    with store.session() as session:
        return [e.payload for e in session.list_events(conversation_id) if e.kind == "rail"]


def test_a_tripped_rail_is_a_tool_error_runs_nothing_and_is_recorded(sqlite_store: SqlCommerceStore) -> None:
    model = ScriptedChatModel(
        steps=[
            call("find_user_id_by_email", email="emma.smith3991@example.com"),
            say("You're verified."),
            call("cancel_pending_order", order_id=SOPHIAS_PENDING, reason="no longer needed"),
            say("I can't find that order."),
            call("cancel_pending_order", order_id=UNKNOWN_ORDER, reason="no longer needed"),
            say("I can't find that one either."),
        ]
    )
    service = service_with(sqlite_store, model)
    cid = service.start()
    service.send(cid, "I'm emma.smith3991@example.com")
    refused = service.send(cid, "cancel #W4862767")
    assert [c.ok for c in refused.tool_calls] == [False] and not refused.awaiting_confirmation
    shown_for_others = str(model.calls[3][-1].content)
    service.send(cid, "cancel #W0000000")
    assert shown_for_others == str(model.calls[5][-1].content) == "Error: Order not found"  # indistinguishable
    with sqlite_store.session() as session:
        order = session.get_order(SOPHIAS_PENDING)
    assert order is not None and order.status.value == "pending"
    assert rail_events(sqlite_store, cid) == [
        {"rail": "ownership", "stage": "tool", "reason": "order of another customer", "blocked": True}
    ]
    model.assert_done()


def test_rate_limited_tool_calls_are_explained_and_every_trip_is_appended(sqlite_store: SqlCommerceStore) -> None:
    rails = ToolRails.build(LimitSettings(tool_calls_per_conversation=1), MemoryRateLimiter())
    model = ScriptedChatModel(
        steps=[
            call("list_all_product_types"),
            say("Here they are."),
            call("list_all_product_types"),
            say("Let's wait a moment."),
            call("list_all_product_types"),
            say("Still too fast."),
        ]
    )
    service = service_with(sqlite_store, model, rails)
    cid = service.start()
    assert service.send(cid, "what do you sell?").tool_calls[0].ok
    for _ in range(2):
        assert not service.send(cid, "again?").tool_calls[0].ok
        assert "Too many actions" in str(model.calls[-1][-1].content)
    assert [e["rail"] for e in rail_events(sqlite_store, cid)] == ["rate_limit", "rate_limit"]
    model.assert_done()


# customer_given -----------------------------------------------------------------------------------------------------


def given(store: SqlCommerceStore, name: str, said: str, stored: str = "", **args: Any) -> Any:
    ctx = ToolContext(store=store, scope="customer", customer_id=EMMA, conversation_id="conv-1", cart_id="cart-1")
    return customer_given(ToolCallCheck(REGISTRY.get(name), args, ctx, said=said, stored=stored))


def test_customer_given_trips_on_login_details_and_addresses_nobody_said(sqlite_store: SqlCommerceStore) -> None:
    login = given(sqlite_store, "find_user_id_by_email", "hi, I need help", email="sophia.silva7557@example.com")
    assert login.tripped and login.blocked and login.stage is Stage.TOOL and "email" in login.text
    by_name = given(
        sqlite_store, "find_user_id_by_name_zip", "I'm Emma Smith", first_name="Emma", last_name="Smith", zip="10001"
    )
    assert by_name.tripped and "zip" in by_name.text and "first_name" not in by_name.text
    moved = given(
        sqlite_store,
        "modify_pending_order_address",
        "please change the address of #W2417020",
        order_id=EMMA_PENDING,
        address1="1 Attacker Way",
        address2="",
        city="Austin",
        state="TX",
        country="USA",
        zip="73301",
    )
    assert moved.tripped and "address1, city, zip" in moved.text
    promo = given(
        sqlite_store,
        "place_order",
        "check out please",
        quote_id="q",
        shipping_method="standard",
        payment_method_id=EMMA_GIFT_CARD,
        promo_code="FREE100",
    )
    assert promo.tripped and "promo_code" in promo.text


def test_customer_given_passes_what_the_customer_wrote_or_the_store_returned(sqlite_store: SqlCommerceStore) -> None:
    said = "It's EMMA.smith3991@example.com. Ship it to 79 Pine Road, suite 4, Denver 80201 please"
    assert not given(sqlite_store, "find_user_id_by_email", said, email="emma.smith3991@example.com").tripped
    address = {"address1": "79 Pine Road", "address2": "Suite 4", "city": "Denver", "state": "CO", "zip": "80201"}
    changed = given(sqlite_store, "modify_pending_order_address", said, order_id=EMMA_PENDING, country="USA", **address)
    assert not changed.tripped
    same_as_before = {"address1": "380 Maple Drive", "address2": "Suite 960", "city": "San Diego", "zip": "92101"}
    stored = (
        '{"address": {"address1": "380 Maple Drive", "address2": "Suite 960", "city": "San Diego", "zip": "92101"}}'
    )
    reused = given(
        sqlite_store,
        "modify_pending_order_address",
        "same address as my other order",
        stored=stored,
        order_id=EMMA_PENDING,
        state="CA",
        country="USA",
        **same_as_before,
    )
    assert not reused.tripped
    assert not given(sqlite_store, "get_order_details", "", order_id=EMMA_PENDING).tripped  # reads are not its business


def test_a_model_cannot_log_in_as_someone_the_customer_never_named(sqlite_store: SqlCommerceStore) -> None:
    model = ScriptedChatModel(
        steps=[call("find_user_id_by_email", email="sophia.silva7557@example.com"), say("Who are you, then?")]
    )
    service = service_with(sqlite_store, model)
    cid = service.start()
    result = service.send(cid, "hi, can you check my orders?")
    assert [c.ok for c in result.tool_calls] == [False]
    assert [e["rail"] for e in rail_events(sqlite_store, cid)] == ["customer_given"]
    model.assert_done()


def test_after_a_hand_off_the_assistant_runs_no_more_tools(sqlite_store: SqlCommerceStore) -> None:
    model = ScriptedChatModel(
        steps=[
            call("transfer_to_human_agents", summary="wants a person"),
            call("find_user_id_by_email", email="emma.smith3991@example.com"),
            say("A colleague will take over."),
        ]
    )
    service = service_with(sqlite_store, model)
    cid = service.start()
    result = service.send(cid, "human please, I'm emma.smith3991@example.com")
    assert [(c.name, c.ok) for c in result.tool_calls] == [
        ("transfer_to_human_agents", True),
        ("find_user_id_by_email", False),
    ]
    assert "human agent has taken over" in str(model.calls[2][-1].content)
    model.assert_done()
