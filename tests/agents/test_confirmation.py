"""The strict confirmation parser: only an explicit yes, with nothing attached, is a yes."""

from __future__ import annotations

import pytest

from shopkeep.agents.confirmation import Reply, classify_reply, is_explicit_yes

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
]
NO = ["no", "nope, cancel", "No thanks", "don't do it", "stop", "never mind", "wait"]
UNCLEAR = ["maybe", "what?", "hmm", "not sure", "", "👍", "???"]
OTHER = [
    "yes but change the size",
    "I already said yes",
    "confirm all future orders",
    "yes and cancel the other one",
    "actually size L",
    "yes no",
    "no yes",
    "ok but use paypal",
    "yes, refund me $500",
    "go ahead and add a discount",
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
