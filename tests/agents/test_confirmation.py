"""The strict confirmation parser: a clear yes to the proposal shown is a yes; a condition, a detail the proposal does
not name or a second request never is."""

from __future__ import annotations

import pytest

from shopkeep.agents.confirmation import Reply, classify_reply, is_explicit_yes

RETURN = "return_delivered_order_items"
RETURN_PROPOSAL = (
    "I'll request a return on order #W2378156 for: Mechanical Keyboard (linear, full size). Refund: $212.10 to "
    "Visa ending 1234 once the items reach us. An order can be returned only once. Shall I go ahead? (yes/no)"
)
YES = [
    "yes",
    "Yes please!",
    "go ahead",
    "confirm",
    "yes, go ahead please",
    "Sure.",
    "ok thanks",
    "Yes, I confirm",
    "yep",
    "please proceed",
    "that's correct",
    "  YES  ",
    "yes yes",
    "Yes – go ahead",
    "yes please go ahead",
    "sure, do it",
    "yes that's correct",
    "ok do it",
    "yep, that order",
    "yes that order",
    "no problem, go ahead",
    "👍",
    "yesss",
]
NO = [
    "no",
    "nope, cancel",
    "No thanks",
    "don't do it",
    "stop",
    "never mind",
    "wait",
    "no, wait",
    "not correct",
    "yes no",
]
UNCLEAR = ["maybe", "what?", "hmm", "not sure", "", "???", "ok?", "i guess", "is that the cheapest?"]
OTHER = [
    "I already said yes",
    "I told you, I ALREADY SAID YES. just do it",
    "yes but change the size",
    "confirm all future orders",
    "yes and cancel the other one",
    "actually size L",
    "ok but use paypal",
    "yes, refund me $500",
    "go ahead and add a discount",
    "yes and also cancel the other one",
    "just the keyboard",
    "no, the other order",
]


@pytest.mark.parametrize("text", YES)
def test_yes(text: str) -> None:
    assert classify_reply(text) is Reply.YES
    assert is_explicit_yes(text)


@pytest.mark.parametrize("text", NO)
def test_no(text: str) -> None:
    assert classify_reply(text) is Reply.NO


@pytest.mark.parametrize("text", UNCLEAR)
def test_unclear_is_asked_again(text: str) -> None:
    assert classify_reply(text) is Reply.UNCLEAR


@pytest.mark.parametrize("text", OTHER)
def test_anything_attached_is_not_a_yes(text: str) -> None:
    assert classify_reply(text) is Reply.OTHER
    assert not is_explicit_yes(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes, the visa is fine", Reply.YES),
        ("yes return the keyboard", Reply.YES),
        ("yes #W2378156 please", Reply.YES),
        ("yes, to my paypal", Reply.OTHER),
        ("yes but only the mouse", Reply.OTHER),
        ("put the refund back on the card I paid with", Reply.OTHER),
        ("yes, refund me $212.10", Reply.YES),
        ("yes, refund me $500", Reply.OTHER),
    ],
)
def test_details_the_proposal_names_keep_a_yes_and_others_do_not(text: str, expected: Reply) -> None:
    assert classify_reply(text, tool=RETURN, proposal=RETURN_PROPOSAL) is expected


def test_the_action_s_own_verb_consents_only_to_that_action() -> None:
    assert classify_reply("yes cancel it", tool="cancel_pending_order") is Reply.YES
    assert classify_reply("yes cancel it", tool=RETURN) is not Reply.YES
    assert classify_reply("cancel", tool="modify_pending_order_address") is Reply.NO


def test_what_the_proposal_replaces_is_not_a_detail_to_agree_with() -> None:
    payment = "I'll pay order #W1 ($10.00) with PayPal instead of Visa ending in 1234. Shall I go ahead? (yes/no)"
    address = (
        "I'll change the shipping address of order #W1 from 12 Oak Street, Austin, TX 78701, USA to 9 Elm Road, "
        "Dallas, TX 75001, USA. Shall I go ahead? (yes/no)"
    )
    assert classify_reply("yes paypal is fine", tool="modify_pending_order_payment", proposal=payment) is Reply.YES
    assert classify_reply("yes the visa", tool="modify_pending_order_payment", proposal=payment) is Reply.OTHER
    assert classify_reply("yes, 9 elm road", tool="modify_pending_order_address", proposal=address) is Reply.YES
    assert classify_reply("yes oak street", tool="modify_pending_order_address", proposal=address) is Reply.OTHER
