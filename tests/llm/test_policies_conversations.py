"""Whole conversations through the real service: the router, the local brain with the shopping, checkout and support
policies, the graph and its confirmation step, the real tools on a seeded and indexed SQLite store, and a SQLite
checkpointer. Each test asserts the tools called, the replies' facts and the store's final state."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.agents.service import ConversationService, TurnResult
from shopkeep.llm.local.nlu import NLU
from shopkeep.replies import default_replies
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore
from tests.conftest import fresh_sqlite_store
from tests.support.dialogs import demo_reply

EMMA = "emma_smith_8564"
BLACK_STEEL_LITRE_BOTTLE = "7661609223"


@pytest.fixture
def store(indexed_sqlite_template: Path, tmp_path: Path) -> Iterator[SqlCommerceStore]:
    opened = fresh_sqlite_store(indexed_sqlite_template, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def service(store: SqlCommerceStore, tmp_path: Path, nlu: NLU) -> Iterator[ConversationService]:
    with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
        yield build_service(Settings(var_dir=tmp_path), store, checkpointer, nlu=nlu)


def tools(result: TurnResult) -> list[str]:
    return [call.name + ("" if call.ok else "!") for call in result.tool_calls]


def cart_lines(store: SqlCommerceStore, conversation: str) -> list[tuple[str, int]]:
    with store.session() as session:
        cart = session.get_cart(conversation)
    return [(line.item_id, line.quantity) for line in cart.lines] if cart else []


def emma_orders(store: SqlCommerceStore) -> list[str]:
    with store.session() as session:
        customer = session.get_customer(EMMA)
    assert customer is not None
    return list(customer.orders)


def test_search_details_add_to_cart_and_view_the_cart(service: ConversationService, store: SqlCommerceStore) -> None:
    chat = service.start()
    found = service.send(chat, "I'm looking for a water bottle")
    assert (found.agent, tools(found)) == ("catalog", ["search_products"])
    assert "1. Water Bottle: $45.09 to $54.85, in stock (type: Water Bottle" in found.reply

    details = service.send(chat, "tell me more about the first one")
    assert tools(details) == ["get_product_details"]
    assert details.reply.startswith("Water Bottle: 12 of 18 versions in stock, priced $45.09 to $54.85.")

    item = service.send(chat, "is the 1000ml stainless steel black one in stock?")
    assert tools(item) == ["find_variant"]
    assert "black color: $46.51, in stock" in item.reply and item.reply.endswith(demo_reply("catalog.add_offer"))

    added = service.send(chat, "yes")
    assert tools(added) == ["add_to_cart"]
    assert "Water Bottle (1000ml, stainless steel, black) at $46.51 each" in added.reply

    shown = service.send(chat, "what's in my cart?")
    assert (shown.agent, tools(shown)) == ("cart", ["view_cart"])
    assert "1 x Water Bottle (1000ml, stainless steel, black) at $46.51 each. Subtotal: $46.51" in shown.reply
    assert cart_lines(store, chat) == [(BLACK_STEEL_LITRE_BOTTLE, 1)]
    # each reply's event names the wording it used (data/replies), as a model's reply names its prompt
    wordings = [event.payload["replies"] for event in service.transcript(chat) if event.kind == "assistant"]
    replies = default_replies()
    assert replies.ref("catalog") in wordings[0] and replies.ref("cart") not in wordings[0]
    assert replies.ref("cart") in wordings[-1]


def checkout_until_the_proposal(service: ConversationService) -> tuple[str, TurnResult]:
    chat = service.start()
    asked = service.send(chat, "I want to buy a water bottle")
    assert asked.agent == "checkout" and "verify your identity" in asked.reply
    options = service.send(chat, "my email is emma.smith3991@example.com")
    assert tools(options)[0] == "find_user_id_by_email" and "Which capacity" in options.reply
    shipping = service.send(chat, "1000ml stainless steel in black")
    assert tools(shipping) == ["find_variant", "add_to_cart", "list_shipping_options"]
    assert "Express (2-3 business days) for $14.99" in shipping.reply
    payment = service.send(chat, "express please")
    assert tools(payment) == ["list_payment_methods"] and "PayPal (paypal_6228291)" in payment.reply
    proposal = service.send(chat, "paypal, and I have a promo code WELCOME10")
    assert tools(proposal) == ["check_promo_code", "propose_checkout"]
    assert proposal.awaiting_confirmation and proposal.proposal is not None
    assert proposal.proposal["tool"] == "place_order"
    assert "promo WELCOME10" in proposal.reply and "Express" in proposal.reply
    return chat, proposal


def test_checkout_to_a_confirmed_order(service: ConversationService, store: SqlCommerceStore) -> None:
    before = emma_orders(store)
    chat, proposal = checkout_until_the_proposal(service)
    assert emma_orders(store) == before
    total = re.search(r"charge (\$[\d,.]+)\.", proposal.reply)
    assert total is not None

    placed = service.send(chat, "yes")
    assert tools(placed) == ["place_order"] and not placed.awaiting_confirmation
    order_id = re.search(r"Your order (#W\d{7}) is placed: (\$[\d,.]+) charged to PayPal", placed.reply)
    assert order_id is not None and order_id.group(2) == total.group(1)
    assert "estimated delivery" in placed.reply

    assert emma_orders(store) == [*before, order_id.group(1)]
    with store.session() as session:
        order = session.get_order(order_id.group(1))
    assert order is not None and order.status.value == "pending"
    assert [item.item_id for item in order.items] == [BLACK_STEEL_LITRE_BOTTLE]
    assert cart_lines(store, chat) == []


def test_a_no_to_the_proposal_places_nothing(service: ConversationService, store: SqlCommerceStore) -> None:
    before = emma_orders(store)
    chat, _ = checkout_until_the_proposal(service)
    declined = service.send(chat, "no")
    assert declined.reply == demo_reply("checkout.declined")
    assert emma_orders(store) == before
    assert cart_lines(store, chat) == [(BLACK_STEEL_LITRE_BOTTLE, 1)]


def test_a_policy_question_is_answered_with_a_citation(service: ConversationService) -> None:
    chat = service.start()
    answer = service.send(chat, "is there a fee to cancel an order?")
    assert (answer.agent, tools(answer)) == ("support", ["search_knowledge"])
    assert "We do not charge a cancellation fee" in answer.reply
    assert "(source: cancellation-fees)" in answer.reply


def test_small_talk_and_a_message_it_cannot_read(service: ConversationService) -> None:
    chat = service.start()
    assert service.send(chat, "hello").reply == demo_reply("support.greeting")
    assert service.send(chat, "asdkjh qwe zzz").reply == demo_reply("support.clarify")
    assert service.send(chat, "thanks").reply == demo_reply("support.thanks")
    goodbye = service.send(chat, "bye")
    assert goodbye.reply == demo_reply("support.goodbye") and goodbye.tool_calls == []
