"""Each output rail trips where it should and passes where it should not (facts built from real-shaped messages)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage

from shopkeep.domain import Customer
from shopkeep.guardrails.facts import Facts
from shopkeep.guardrails.grounding import grounded_facts
from shopkeep.guardrails.output import check_reply
from shopkeep.guardrails.pii import other_customers_pii
from shopkeep.guardrails.promises import permitted_promises
from tests.conftest import DATA_DIR

POLICY = (DATA_DIR / "policy.md").read_text()
ORDER: dict[str, Any] = {
    "order_id": "#W2417020",
    "user_id": "emma_smith_8564",
    "address": {
        "address1": "243 Hillcrest Drive",
        "address2": "Suite 113",
        "city": "New York",
        "country": "USA",
        "state": "NY",
        "zip": "10192",
    },
    "items": [
        {"name": "Laptop", "product_id": "4760268021", "item_id": "8997785118", "price": 2674.4, "options": {}},
        {"name": "Kettle", "product_id": "1075968781", "item_id": "9472539378", "price": 54.04, "options": {}},
    ],
    "status": "pending",
    "fulfillments": [{"tracking_id": ["357962501027"], "item_ids": ["8997785118"]}],
    "payment_history": [
        {"transaction_type": "payment", "amount": 2728.44, "payment_method_id": "gift_card_8541487"},
        {"transaction_type": "refund", "amount": 100.5, "payment_method_id": "gift_card_8541487"},
        {"transaction_type": "refund", "amount": 20.25, "payment_method_id": "gift_card_8541487"},
    ],
    "created_at": "2026-05-12T10:00:00Z",
}
CART = {"lines": [{"name": "Electric Kettle", "unit_price": "143.72", "quantity": 2}], "subtotal": "316.03"}
OTHER = {
    "user_id": "noah_brown_6181",
    "name": {"first_name": "Noah", "last_name": "Brown"},
    "email": "noah.brown7922@example.com",
    "address": {
        "address1": "986 Sunset Drive",
        "address2": "",
        "city": "Denver",
        "country": "USA",
        "state": "CO",
        "zip": "",
    },
}
EMMA = Customer.model_validate(
    {
        "user_id": "emma_smith_8564",
        "name": {"first_name": "Emma", "last_name": "Smith"},
        "address": ORDER["address"],
        "email": "emma.smith3991@example.com",
    }
)


def facts(*results: Any, said: str = "hi", customer: Customer | None = EMMA, policy: str = POLICY) -> Facts:
    messages: list[Any] = [HumanMessage(content=said)]
    for n, result in enumerate(results):
        content = result if isinstance(result, str) else json.dumps(result)
        messages.append(ToolMessage(content=content, tool_call_id=str(n)))
    return Facts.of(messages, customer=customer, policy=policy)


# grounding -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "Order #W2417020 is pending. The laptop costs $2,674.40 and the kettle 54.04 dollars.",
        "You paid USD 2728.44 for order W2417020.",  # the same amount and order id, written differently
        "Its refunds add up to $120.75.",  # a subset sum of one payment history
        "Without the kettle it would have been $2,674.40; the difference is $2,620.36.",  # a difference
        "Your cart: 2 x Electric Kettle at $143.72 each. Subtotal: $316.03.",  # money serialized as strings
        "It was placed on May 12, 2026 (12 May; 2026-05-12; 05/12/2026).",
        "Item 8997785118 ships with tracking number 357962501027.",
        "Order #W2417020 was pending, and nothing was charged: $0.00.",
    ],
)
def test_grounded_replies_pass(reply: str) -> None:
    result = grounded_facts(reply, facts(ORDER, CART))
    assert not result.tripped, result.reason


@pytest.mark.parametrize(
    ("reply", "missing"),
    [
        ("The laptop is on sale for $1,999.00.", "amount $1,999.00"),
        ("Order #W2417020 is delivered.", "status 'delivered' of order #W2417020"),
        ("Order #W2417020 is now cancelled.", "status 'cancelled'"),
        ("I found order #W9999999 too.", "order id '#W9999999'"),
        ("It arrives on June 3rd.", "date 'June 3rd'"),
        ("Your replacement item is 1234567890.", "id '1234567890'"),
        ("That is 15% cheaper.", "percent '15%'"),
        ("Refunds so far: $130.00.", "amount $130.00"),
    ],
)
def test_ungrounded_claims_block(reply: str, missing: str) -> None:
    result = grounded_facts(reply, facts(ORDER, CART))
    assert result.tripped and result.blocked and missing in result.reason
    assert result.event()["rail"] == "grounded_facts"


def test_the_customers_words_ground_ids_but_never_amounts_or_statuses() -> None:
    said = "where is #W1111111? It was delivered and it cost $5, right?"
    known = facts(ORDER, said=said)
    assert not grounded_facts("I can't find order #W1111111.", known).tripped
    assert grounded_facts("Yes, it cost $5.00.", known).tripped
    assert grounded_facts("Order #W1111111 is delivered.", known).tripped
    # quoting the customer back is not a claim
    assert not grounded_facts('You asked: "It was delivered and it cost $5, right?"', known).tripped


def test_a_status_that_changed_is_checked_against_the_newest() -> None:
    cancelled = {**ORDER, "status": "cancelled"}
    known = facts(ORDER, cancelled)
    assert not grounded_facts("Order #W2417020 is cancelled.", known).tripped
    assert grounded_facts("Order #W2417020 is pending.", known).tripped
    assert not grounded_facts("Order #W2417020 was pending before.", known).tripped


# other customers' personal data -------------------------------------------------------------------------------


def test_other_customers_data_is_redacted_and_the_customers_own_passes() -> None:
    known = facts(ORDER, OTHER)
    reply = "Noah Brown (noah.brown7922@example.com, noah_brown_6181) lives at 986 Sunset Drive."
    result = other_customers_pii(reply, known)
    assert result.tripped and not result.blocked
    assert result.text == "[name removed] ([email removed], [user id removed]) lives at [address removed]."
    assert result.reason == "redacted address, email, name, user id"  # kinds only: never the data
    own = "Emma Smith, emma.smith3991@example.com, emma_smith_8564, ships to 243 Hillcrest Drive."
    assert not other_customers_pii(own, known).tripped


def test_data_the_customer_wrote_may_be_repeated_and_invented_data_may_not() -> None:
    known = facts(said="send it to my work address: jane@corp.example, 12 Main Street, 555-201-3344")
    reply = "I'll note jane@corp.example, 12 Main Street and 555-201-3344."
    assert not other_customers_pii(reply, known).tripped
    invented = other_customers_pii("Try support-team@elsewhere.example or call (555) 987-6543.", known)
    assert invented.text == "Try [email removed] or call [phone removed]."
    no_suffix = other_customers_pii("It went to 571 Broadway, Indianapolis.", known)
    assert no_suffix.text == "It went to [address removed], Indianapolis."


def test_user_ids_are_checked_against_the_store() -> None:
    known = Facts.of([HumanMessage(content="hi")], customer=EMMA, is_customer=lambda uid: uid == "ivan_santos_6635")
    assert other_customers_pii("That is ivan_santos_6635's account.", known).tripped
    assert not other_customers_pii("Paid with credit_card_9513730.", known).tripped  # a payment method, no person


# promises --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "Card and PayPal refunds take 5-7 business days.",  # the policy says "5 to 7 business days"
        "Standard shipping is free over $100.",  # the knowledge passage below says so
        "That is 10% off with SAVE10.",  # the promo tool result
        "Thanks for waiting!",
    ],
)
def test_promises_a_source_makes_pass(reply: str) -> None:
    passage = {"passages": [{"text": "Standard shipping costs $5.99. It is free when your subtotal is over $100."}]}
    promo = {"code": "SAVE10", "percent": "10%"}
    assert not permitted_promises(reply, facts(passage, promo)).tripped


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("Your refund will be back within 24 hours.", "timeline '24 hours'"),
        ("Good news: shipping is free on this order.", "free shipping"),
        ("It is guaranteed to arrive by Friday.", "guarantee"),
        ("I can give you 20% off.", "discount '20% off'"),
        ("As compensation I'll add store credit.", "store credit"),
        ("Exchanges are accepted within 60 days.", "timeline '60 days'"),
    ],
)
def test_promises_no_source_makes_block(reply: str, kind: str) -> None:
    result = permitted_promises(reply, facts(ORDER))
    assert result.tripped and result.blocked and kind in result.reason


def test_a_promise_across_a_passage_line_break_is_the_passages() -> None:
    passage = {"passages": [{"text": "Delivery within Ireland takes one to\ntwo working days."}]}
    assert not permitted_promises("Delivery takes one to two working days.", facts(passage)).tripped
    assert permitted_promises("Delivery takes one to three working days.", facts(passage)).tripped


def test_a_promise_the_customer_made_up_stays_unpermitted() -> None:
    known = facts(said="your colleague promised free shipping and a refund within 2 days")
    assert permitted_promises("Yes, shipping is free and the refund comes within 2 days.", known).tripped


def test_the_chain_fixes_what_it_can_and_blocks_the_rest() -> None:
    known = facts(ORDER, OTHER)
    fixed = check_reply("Done. Card 4242 4242 4242 4242 is on file; noah.brown7922@example.com was copied.", known)
    assert fixed.passed and "4242 4242" not in fixed.text and "noah.brown" not in fixed.text
    assert [t.name for t in fixed.trips] == ["card_numbers_out", "other_customers_pii"]
    blocked = check_reply("Refund of $999.99 within 24 hours.", known)
    assert not blocked.passed
    assert [t.name for t in blocked.blocking] == ["grounded_facts", "permitted_promises"]


def test_facts_normalize_amounts() -> None:
    known = facts({"price": 1234.5, "note": "was $1,300.00"})
    assert {Decimal("1234.50"), Decimal("1300.00")} <= known.amounts
