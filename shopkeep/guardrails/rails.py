"""The input and output rails every turn passes through (more rails join these lists; each is tested)."""

from __future__ import annotations

from collections.abc import Callable

from shopkeep.guardrails.base import RailResult, Stage
from shopkeep.guardrails.cards import mask_card_numbers

MAX_MESSAGE_CHARS = 4000

Rail = Callable[[str], RailResult]


def message_length(text: str) -> RailResult:
    """Very long messages are cut to ``MAX_MESSAGE_CHARS`` characters (the customer is told)."""
    if len(text) <= MAX_MESSAGE_CHARS:
        return RailResult(name="message_length", stage=Stage.INPUT, tripped=False, text=text)
    return RailResult(
        name="message_length",
        stage=Stage.INPUT,
        tripped=True,
        text=text[:MAX_MESSAGE_CHARS],
        reason=f"Your message was long, so I read only its first {MAX_MESSAGE_CHARS:,} characters.",
    )


def card_numbers_in(text: str) -> RailResult:
    """A card number typed in chat never reaches a model, a log or a checkpoint."""
    masked, numbers = mask_card_numbers(text)
    return RailResult(
        name="card_numbers_in",
        stage=Stage.INPUT,
        tripped=bool(numbers),
        text=masked,
        reason="For your safety I never keep card numbers typed in chat; please use a saved payment method."
        if numbers
        else "",
    )


def card_numbers_out(text: str) -> RailResult:
    """No reply ever shows a full card number."""
    masked, numbers = mask_card_numbers(text)
    return RailResult(name="card_numbers_out", stage=Stage.OUTPUT, tripped=bool(numbers), text=masked)


INPUT_RAILS: tuple[Rail, ...] = (message_length, card_numbers_in)
OUTPUT_RAILS: tuple[Rail, ...] = (card_numbers_out,)


def run_rails(rails: tuple[Rail, ...], text: str) -> tuple[str, list[RailResult]]:
    """Apply rails in order; each sees the previous one's text. Returns the final text and the trips."""
    trips = []
    for rail in rails:
        result = rail(text)
        text = result.text
        if result.tripped:
            trips.append(result)
    return text, trips
