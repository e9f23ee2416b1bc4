"""The catalog policy on hand-built conversations: search, details, option questions, compare, similar, and the
hand-over to the cart. Every price a reply states must come from a tool result."""

from __future__ import annotations

from typing import Any

from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.policies import POLICIES
from shopkeep.llm.local.policies.base import Call, Say
from tests.support.dialogs import Conversation, assert_prices_from_tools, demo_reply
from tests.support.shop_results import (
    BLACK_STEEL_LITRE_BOTTLE,
    ELECTRIC_KETTLE,
    TEA_KETTLE,
    WATER_BOTTLE,
    bottle_search,
    cart_view,
    product,
    product_types,
    resolution,
    search,
    similar,
)

catalog = POLICIES["catalog"]


def catalog_tools(**extra: Any) -> dict[str, Any]:
    return {
        "search_products": lambda args: bottle_search(args["query"]),
        "list_all_product_types": product_types(),
        "get_product_details": lambda args: product(args["product_id"]),
        "find_variant": lambda args: resolution(args["product_id"], args["description"]),
        **extra,
    }


def searched(nlu: NLU) -> Conversation:
    talk = Conversation().user("I'm looking for a water bottle")
    talk.run(catalog, nlu, catalog_tools())
    return talk


def test_a_search_uses_the_customers_words_and_lists_names_prices_stock_and_why(nlu: NLU) -> None:
    talk = Conversation().user("I'm looking for a water bottle")
    assert talk.decide(catalog, nlu) == Call("search_products", {"query": "I'm looking for a water bottle"})
    calls, reply = talk.run(catalog, nlu, catalog_tools())
    assert [c.name for c in calls] == ["search_products"]
    assert (
        "1. Water Bottle: $45.09 to $54.85, in stock (type: Water Bottle; name matches 'water', 'bottle')" in reply.text
    )
    assert "2. Electric Kettle" in reply.text
    assert reply.text.endswith("?")
    assert_prices_from_tools(reply, talk)


def test_no_results_says_so_and_suggests_broader_terms(nlu: NLU) -> None:
    talk = Conversation().user("do you sell clicky mechanical keyboards under $150?")
    empty = search(
        "q", [], understood="Mechanical Keyboard", notes=["Nothing in the catalog matches all of that; try fewer."]
    )
    _, reply = talk.run(catalog, nlu, {"search_products": empty})
    assert "couldn't find anything" in reply.text
    assert 'just "mechanical keyboard", without the options or price limit' in reply.text
    assert "$" not in reply.text.replace("$150", "")


def test_a_position_in_the_list_asks_for_that_products_details(nlu: NLU) -> None:
    talk = searched(nlu).user("tell me more about the first one")
    assert talk.decide(catalog, nlu) == Call("get_product_details", {"product_id": WATER_BOTTLE})
    _, reply = talk.run(catalog, nlu, catalog_tools())
    assert reply.text.startswith("Water Bottle: 12 of 18 versions in stock, priced $45.09 to $54.85.")
    assert "capacity: " in reply.text and "stainless steel" in reply.text
    assert_prices_from_tools(reply, talk)


def test_an_option_question_is_answered_from_find_variant(nlu: NLU) -> None:
    talk = searched(nlu).user("tell me about the water bottle")
    talk.run(catalog, nlu, catalog_tools())
    talk.user("is the 1000ml stainless steel black one in stock?")
    calls, reply = talk.run(catalog, nlu, catalog_tools())
    assert [c.name for c in calls] == ["find_variant"]
    assert calls[0].args["product_id"] == WATER_BOTTLE
    assert "1000ml stainless steel black" in calls[0].args["description"]
    assert "black color: $46.51, in stock" in reply.text
    assert reply.text.endswith(demo_reply("catalog.add_offer"))
    assert_prices_from_tools(reply, talk)


def test_when_several_items_fit_the_open_values_are_asked_for(nlu: NLU) -> None:
    talk = searched(nlu).user("is the stainless steel 1000ml water bottle in stock?")
    _, reply = talk.run(catalog, nlu, catalog_tools())
    assert "Several versions of the Water Bottle fit" in reply.text
    assert "Which color: black or red?" in reply.text
    assert_prices_from_tools(reply, talk)


def test_yes_to_the_offer_adds_exactly_that_item(nlu: NLU) -> None:
    talk = searched(nlu).user("is the 1000ml stainless steel black water bottle in stock?")
    talk.run(catalog, nlu, catalog_tools())
    talk.user("yes")
    added = cart_view((BLACK_STEEL_LITRE_BOTTLE, 1))
    calls, reply = talk.run(catalog, nlu, catalog_tools(add_to_cart=added))
    assert calls == [Call("add_to_cart", {"item_id": BLACK_STEEL_LITRE_BOTTLE, "quantity": 1})]
    assert "Added to your cart: Water Bottle (1000ml, stainless steel, black) at $46.51 each" in reply.text
    assert "subtotal $46.51" in reply.text


def test_two_products_are_compared_from_their_details(nlu: NLU) -> None:
    talk = Conversation().user("which is cheaper, the electric kettle or the tea kettle?")
    calls, reply = talk.run(catalog, nlu, catalog_tools())
    assert [(c.name, c.args) for c in calls] == [
        ("list_all_product_types", {}),
        ("get_product_details", {"product_id": ELECTRIC_KETTLE}),
        ("get_product_details", {"product_id": TEA_KETTLE}),
    ]
    assert reply.text.startswith("Electric Kettle: ")
    assert " Tea Kettle: " in reply.text
    assert "The Tea Kettle has the lower starting price." in reply.text
    assert_prices_from_tools(reply, talk)


def test_similar_products_are_for_the_product_under_discussion(nlu: NLU) -> None:
    talk = searched(nlu).user("tell me about the first one")
    talk.run(catalog, nlu, catalog_tools())
    talk.user("do you have something similar?")
    alike = similar(WATER_BOTTLE, [ELECTRIC_KETTLE, TEA_KETTLE])
    calls, reply = talk.run(catalog, nlu, catalog_tools(recommend_similar=alike))
    assert calls == [Call("recommend_similar", {"item_id": WATER_BOTTLE})]
    assert reply.text.startswith("Products similar to the Water Bottle:\n1. Electric Kettle: $137.17 to $164.46")
    assert_prices_from_tools(reply, talk)


def test_a_policy_question_asked_while_browsing_goes_to_the_knowledge_base(nlu: NLU) -> None:
    talk = searched(nlu).user("do you price match?")
    step = talk.decide(catalog, nlu)
    assert step == Call("search_knowledge", {"question": "do you price match?"})


def test_a_product_the_store_does_not_sell_is_said_so(nlu: NLU) -> None:
    talk = Conversation().user("tell me about the water bottle")
    types = {k: v for k, v in product_types().items() if k != "Water Bottle"}
    calls, reply = talk.run(catalog, nlu, catalog_tools(list_all_product_types=types))
    assert [c.name for c in calls] == ["list_all_product_types"]
    assert isinstance(reply, Say) and "couldn't find Water Bottle" in reply.text


def test_a_question_about_it_after_a_search_is_about_the_product_searched_for(nlu: NLU) -> None:
    talk = searched(nlu).user("what colors does it come in?")
    calls, reply = talk.run(catalog, nlu, catalog_tools())
    assert calls == [Call("get_product_details", {"product_id": WATER_BOTTLE})]
    assert "color: black, red, blue, green" in reply.text
