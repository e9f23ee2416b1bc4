"""Product cards and the cart summary, built from real tool outputs on the demo store."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopkeep.agents.service import ToolCallRecord, TurnResult
from shopkeep.agents.toolkit import agent_registry
from shopkeep.api.schemas import TurnResponse
from shopkeep.api.views import cart_summary, product_cards
from shopkeep.store import SqlCommerceStore
from shopkeep.tools import ToolContext

T_SHIRT = "9523456873"
T_SHIRT_ITEM = "9612497925"  # blue, M, cotton, crew neck: $50.88


def test_a_product_becomes_a_card_with_price_range_options_and_availability(sqlite_store: SqlCommerceStore) -> None:
    outcome = agent_registry().call("get_product_details", {"product_id": T_SHIRT}, ToolContext(store=sqlite_store))
    [card] = product_cards([(outcome.name, outcome.ok, outcome.output)], "USD")
    variants = outcome.output["variants"].values()
    assert card.name == "T-Shirt"
    assert card.product_id == T_SHIRT
    assert card.price_min == min(Decimal(str(v["price"])) for v in variants)
    assert card.price_max == max(Decimal(str(v["price"])) for v in variants)
    assert "blue" in card.options["color"] and "M" in card.options["size"]
    assert card.available is any(v["available"] for v in variants)
    assert card.in_stock == sum(v["available"] for v in variants)
    assert card.variant_count == len(variants)
    assert len(card.variants) <= 8
    assert [v.available for v in card.variants] == sorted((v.available for v in card.variants), reverse=True)


def test_search_hits_become_cards_and_other_tools_are_ignored() -> None:
    hit = {"options": {}, "price_max": None, "available": True, "score": 1.0, "reason": "name"}
    hits = [
        {**hit, "product_id": "1", "item_id": "11", "name": "Hiking Boots", "options": {"size": "10"}, "price": 99.5},
        {**hit, "product_id": "2", "item_id": None, "name": "Backpack", "price": 45, "price_max": 60.25},
    ]
    cards = product_cards(
        [
            ("search_products", True, {"query": "boots", "understood": "", "level": "variant", "hits": hits}),
            ("get_user_details", True, {"name": "Not a product", "product_id": "x", "price": 1}),
            ("get_product_details", False, None),
        ],
        "USD",
    )
    assert [(c.name, c.item_id, c.price_min, c.price_max) for c in cards] == [
        ("Hiking Boots", "11", Decimal("99.50"), Decimal("99.50")),
        ("Backpack", None, Decimal("45.00"), Decimal("60.25")),
    ]
    assert cards[0].options == {"size": ["10"]}


def test_the_cart_summary_is_the_last_cart_tool_output(sqlite_store: SqlCommerceStore) -> None:
    registry = agent_registry()
    ctx = ToolContext(store=sqlite_store, cart_id="cart-views-test")
    added = registry.call("add_to_cart", {"item_id": T_SHIRT_ITEM, "quantity": 2}, ctx)
    viewed = registry.call("view_cart", {}, ctx)
    cart = cart_summary([(added.name, added.ok, added.output), (viewed.name, viewed.ok, viewed.output)], "EUR")
    assert cart is not None
    assert cart.currency == "EUR"
    [line] = cart.lines
    assert (line.name, line.quantity, line.unit_price, line.line_total) == (
        "T-Shirt",
        2,
        Decimal("50.88"),
        Decimal("101.76"),
    )
    assert line.options["color"] == "blue"
    assert cart.item_count == 2
    assert cart.subtotal == Decimal("101.76")
    assert cart_summary([("get_order_details", True, {"lines": []})], "USD") is None


def test_a_malformed_output_is_left_out_not_an_error() -> None:
    assert product_cards([("search_products", True, [{"name": "x", "product_id": "1", "price": "n/a"}])], "USD") == []
    assert cart_summary([("view_cart", True, {"lines": [{"item_id": "1"}]})], "USD") is None


@pytest.mark.skipif(
    "output" not in ToolCallRecord.model_fields, reason="the conversation service does not record tool outputs yet"
)
def test_a_turn_response_carries_the_cards_and_cart_of_its_tool_outputs(sqlite_store: SqlCommerceStore) -> None:
    registry = agent_registry()
    ctx = ToolContext(store=sqlite_store, cart_id="cart-turn-test")
    calls = [("get_product_details", {"product_id": T_SHIRT}), ("add_to_cart", {"item_id": T_SHIRT_ITEM})]
    records = []
    for name, arguments in calls:
        outcome = registry.call(name, arguments, ctx)
        records.append(ToolCallRecord(name=name, arguments=arguments, ok=outcome.ok, output=outcome.output))
    turn = TurnResult(
        conversation_id="c",
        reply="Added.",
        agent="catalog",
        intent="add_to_cart",
        tool_calls=records,
        awaiting_confirmation=False,
    )
    response = TurnResponse.from_turn(turn).model_dump(mode="json")
    assert [c["name"] for c in response["products"]] == ["T-Shirt"]
    assert response["cart"]["subtotal"] == 50.88
    assert response["tool_calls"] == [{"name": n, "arguments": a, "ok": True} for n, a in calls]
