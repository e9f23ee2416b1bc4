"""The speech act of a message: a question about how things work is not a request to do them."""

from __future__ import annotations

import pytest

from shopkeep.llm.local.acts import speech_act, without_lead


@pytest.mark.parametrize(
    "text",
    [
        "how do I use a promo code?",
        "whats ur exchange policy",
        "do gift cards expire?",
        "wait, what's your refund policy?",
        "how long do refunds take",
        "are promo codes stackable?",
        "is it possible to change a delivered order?",
    ],
)
def test_general_questions(text: str) -> None:
    assert speech_act(text) == "general_question"


@pytest.mark.parametrize(
    "text",
    [
        "what's my default address?",
        "how much is left on my gift card",
        "show me my profile",
        "what email do you have on file?",
    ],
)
def test_questions_about_the_customers_own_things(text: str) -> None:
    assert speech_act(text) == "own_question"


@pytest.mark.parametrize(
    "text",
    [
        "I want to exchange my shirt",
        "can I create an account?",
        "how do I return my order?",
        "can you cancel my order?",
        "is the kettle in stock?",
        "do you sell kettles?",
        "set my default address to 9 Elm Court, Boise, ID 83702",
    ],
)
def test_requests(text: str) -> None:
    assert speech_act(text) == "request"


def test_personal_details_make_a_question_a_request() -> None:
    assert speech_act("what's the return policy for #W1234567?", ["order_id"]) == "request"
    assert speech_act("what's the return policy?") == "general_question"


def test_without_lead() -> None:
    assert without_lead("ok wait, what's your refund policy?") == "what's your refund policy?"
    assert without_lead("ok") == "ok"
