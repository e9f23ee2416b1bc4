"""Two requests in one message: where a message splits, and the single requests that must stay whole."""

from __future__ import annotations

import pytest

from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.split import split_requests

TWO = [
    ("cancel order #W4184032 and what's your return policy?", "cancel order #W4184032", "what's your return policy?"),
    (
        "can you check where my order #W2443586 is? also what is your exchange policy?",
        "can you check where my order #W2443586 is",
        "what is your exchange policy?",
    ),
    (
        "add the boots to my cart and where is my order #W2443586?",
        "add the boots to my cart",
        "where is my order #W2443586?",
    ),
]
ONE = [
    "I want to return the boots and get a refund to my card",
    "add the yoga mat and two electric kettles to my cart",
    "show me kettles and add the black one",
    "checkout, use my visa and my usual address",
    "the kettle I got last week stopped heating. can I return it?",
    "hi, it's me. what cards do I have saved? tell me the full card number",
    "hi im ava kovacs zip 85052",
    "Omar Kim, 32214. Please use my gift card for the t-shirt order instead of the credit card",
    "could you change the tea kettle in my order to the 2 liter one? charge any difference to my visa",
    "Hello, my email is aarav.nguyen1293@example.com. The hiking boots I received are too small, I'd like to "
    "exchange them for a size 8",
    # a question about the new item of an exchange is part of the exchange
    "I want to exchange my office chair. Which colours do you have?",
]


@pytest.mark.parametrize(("text", "first", "second"), TWO)
def test_two_requests_split(nlu: NLU, text: str, first: str, second: str) -> None:
    assert split_requests(nlu, text) == (first, second)


@pytest.mark.parametrize("text", ONE)
def test_one_request_stays_whole(nlu: NLU, text: str) -> None:
    assert split_requests(nlu, text) is None
