"""The cart policy on hand-built conversations: add (product, item and quantity from what was said), remove,
change a quantity, show the cart."""

from __future__ import annotations

from typing import Any

from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.policies import POLICIES
from shopkeep.llm.local.policies.base import Call
from tests.support.dialogs import Conversation, ToolError, assert_prices_from_tools
from tests.support.shop_results import (
    BLACK_STEEL_LITRE_BOTTLE,
    RED_STEEL_LITRE_BOTTLE,
    WATER_BOTTLE,
    YOGA_MAT,
    cart_view,
    product,
    product_types,
    resolution,
)

cart = POLICIES["cart"]
YOGA_MAT_ITEM = "7510236436"  # Yoga Mat 6mm, PVC, green


def cart_tools(**extra: Any) -> dict[str, Any]:
    return {
        "list_all_product_types": product_types(),
        "get_product_details": lambda args: product(args["product_id"]),
        "find_variant": lambda args: resolution(args["product_id"], args["description"]),
        **extra,
    }


def test_adding_asks_for_the_open_options_then_adds_the_item_with_the_quantity(nlu: NLU) -> None:
    talk = Conversation().user("add two water bottles to my cart")
    calls, reply = talk.run(cart, nlu, cart_tools())
    assert [c.name for c in calls] == ["list_all_product_types", "get_product_details", "find_variant"]
    assert reply.text.startswith("The Water Bottle comes in several versions. Which capacity: 500ml, 750ml or 1000ml")
    talk.user("1000ml, stainless steel, black")
    added = cart_view((BLACK_STEEL_LITRE_BOTTLE, 2))
    calls, reply = talk.run(cart, nlu, cart_tools(add_to_cart=added))
    assert calls[-1] == Call("add_to_cart", {"item_id": BLACK_STEEL_LITRE_BOTTLE, "quantity": 2})
    assert "Water Bottle (1000ml, stainless steel, black) at $46.51 each, 2 in the cart" in reply.text
    assert "subtotal $93.02" in reply.text
    assert_prices_from_tools(reply, talk)


def test_a_correction_replaces_the_earlier_option(nlu: NLU) -> None:
    talk = Conversation().user("add a 1000ml stainless steel water bottle to my cart")
    talk.run(cart, nlu, cart_tools())
    talk.user("black")
    talk.user("actually red")
    calls, _ = talk.run(cart, nlu, cart_tools(add_to_cart=cart_view((RED_STEEL_LITRE_BOTTLE, 1))))
    description = next(c.args["description"] for c in calls if c.name == "find_variant")
    assert "black" not in description and "red" in description
    assert calls[-1] == Call("add_to_cart", {"item_id": RED_STEEL_LITRE_BOTTLE, "quantity": 1})


def test_an_item_that_is_out_of_stock_is_not_added(nlu: NLU) -> None:
    talk = Conversation().user("add a blue 1000ml stainless steel water bottle to my cart")
    calls, reply = talk.run(cart, nlu, cart_tools())
    assert "add_to_cart" not in [c.name for c in calls]
    assert "out of stock" in reply.text.lower() or "no " in reply.text.lower()


def test_a_failed_add_is_explained(nlu: NLU) -> None:
    talk = Conversation().user("add a 1000ml stainless steel black water bottle to my cart")
    failed = ToolError(f"Error: Item {BLACK_STEEL_LITRE_BOTTLE} is out of stock")
    _, reply = talk.run(cart, nlu, cart_tools(add_to_cart=failed))
    assert (
        reply.text == f"I'm sorry, I couldn't add that to your cart: Item {BLACK_STEEL_LITRE_BOTTLE} is out of stock."
    )


def test_removing_looks_at_the_cart_then_removes_the_named_line(nlu: NLU) -> None:
    full = cart_view((BLACK_STEEL_LITRE_BOTTLE, 1), (YOGA_MAT_ITEM, 1))
    talk = Conversation().user("remove the yoga mat from my cart")
    tools = {"view_cart": full, "remove_from_cart": cart_view((BLACK_STEEL_LITRE_BOTTLE, 1))}
    calls, reply = talk.run(cart, nlu, tools)
    assert calls == [Call("view_cart"), Call("remove_from_cart", {"item_id": YOGA_MAT_ITEM})]
    assert reply.text.startswith("Removed the Yoga Mat (6mm, PVC, green).")
    assert "Subtotal: $46.51 for 1 item." in reply.text
    assert_prices_from_tools(reply, talk)


def test_removing_what_is_not_in_the_cart_is_said_so(nlu: NLU) -> None:
    talk = Conversation().user("remove the yoga mat from my cart")
    calls, reply = talk.run(cart, nlu, {"view_cart": cart_view((BLACK_STEEL_LITRE_BOTTLE, 1))})
    assert [c.name for c in calls] == ["view_cart"]
    assert reply.text.startswith("There's no Yoga Mat in your cart.")


def test_emptying_the_cart_removes_every_line(nlu: NLU) -> None:
    lines = [(BLACK_STEEL_LITRE_BOTTLE, 1), (YOGA_MAT_ITEM, 2)]

    def remove(args: dict[str, Any]) -> Any:
        lines[:] = [line for line in lines if line[0] != args["item_id"]]
        return cart_view(*lines)

    talk = Conversation().user("empty my cart")
    calls, reply = talk.run(cart, nlu, {"view_cart": cart_view(*lines), "remove_from_cart": remove})
    assert [c.name for c in calls] == ["view_cart", "remove_from_cart", "remove_from_cart"]
    assert reply.text == "Your cart is now empty."


def test_a_quantity_change_asks_how_many_then_sets_it(nlu: NLU) -> None:
    talk = Conversation().user("update the quantity in my cart")
    full = cart_view((BLACK_STEEL_LITRE_BOTTLE, 1))
    calls, reply = talk.run(cart, nlu, {"view_cart": full})
    assert reply.text == "How many of the Water Bottle (1000ml, stainless steel, black) would you like?"
    talk.user("3")
    calls, reply = talk.run(
        cart, nlu, {"view_cart": full, "update_cart_quantity": cart_view((BLACK_STEEL_LITRE_BOTTLE, 3))}
    )
    assert calls[-1] == Call("update_cart_quantity", {"item_id": BLACK_STEEL_LITRE_BOTTLE, "quantity": 3})
    assert "3 x Water Bottle" in reply.text and "Subtotal: $139.53 for 3 items." in reply.text
    direct = Conversation().user("change the water bottle in my cart to 3")
    calls, _ = direct.run(
        cart, nlu, {"view_cart": full, "update_cart_quantity": cart_view((BLACK_STEEL_LITRE_BOTTLE, 3))}
    )
    assert calls == [
        Call("view_cart"),
        Call("update_cart_quantity", {"item_id": BLACK_STEEL_LITRE_BOTTLE, "quantity": 3}),
    ]


def test_showing_the_cart_lists_lines_quantities_and_the_subtotal(nlu: NLU) -> None:
    talk = Conversation().user("what's in my cart?")
    full = cart_view((BLACK_STEEL_LITRE_BOTTLE, 2), (YOGA_MAT_ITEM, 1))
    calls, reply = talk.run(cart, nlu, {"view_cart": full})
    assert calls == [Call("view_cart")]
    assert reply.text.startswith(
        "Your cart: 2 x Water Bottle (1000ml, stainless steel, black) at $46.51 each; 1 x Yoga Mat (6mm, PVC, green) "
        "at $"
    )
    assert f"Subtotal: ${full.subtotal:,.2f} for 3 items." in reply.text
    assert_prices_from_tools(reply, talk)
    empty = Conversation().user("show me my cart")
    _, reply = empty.run(cart, nlu, {"view_cart": cart_view()})
    assert reply.text.startswith("Your cart is empty.")


def test_the_product_under_discussion_is_the_one_added(nlu: NLU) -> None:
    talk = Conversation().user("tell me about the yoga mat")
    talk.run(POLICIES["catalog"], nlu, cart_tools())
    talk.user("add the green 6mm PVC one to my cart")
    calls, _ = talk.run(cart, nlu, cart_tools(add_to_cart=cart_view((YOGA_MAT_ITEM, 1))))
    assert calls[0].args["product_id"] == YOGA_MAT
    assert calls[-1] == Call("add_to_cart", {"item_id": YOGA_MAT_ITEM, "quantity": 1})
    assert WATER_BOTTLE not in str(calls)


def test_after_adding_make_it_two_changes_the_quantity_and_another_one_adds_again(nlu: NLU) -> None:
    talk = Conversation().user("add a 1000ml stainless steel black water bottle to my cart")
    one = cart_view((BLACK_STEEL_LITRE_BOTTLE, 1))
    talk.run(cart, nlu, cart_tools(add_to_cart=one))
    talk.user("actually make it 2")
    calls, reply = talk.run(
        cart, nlu, {"view_cart": one, "update_cart_quantity": cart_view((BLACK_STEEL_LITRE_BOTTLE, 2))}
    )
    assert calls[-1] == Call("update_cart_quantity", {"item_id": BLACK_STEEL_LITRE_BOTTLE, "quantity": 2})
    assert "2 x Water Bottle" in reply.text
    talk.user("add a yoga mat too")
    calls, reply = talk.run(cart, nlu, cart_tools())
    assert [c.name for c in calls][-1] == "find_variant"
    assert calls[-1].args["product_id"] == YOGA_MAT
    assert "Which thickness" in reply.text
