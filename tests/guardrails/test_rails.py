"""Each rail trips where it should and passes where it should not."""

from __future__ import annotations

from shopkeep.guardrails.cards import find_card_numbers, luhn_valid, mask_card_numbers
from shopkeep.guardrails.rails import (
    INPUT_RAILS,
    MAX_MESSAGE_CHARS,
    card_numbers_in,
    card_numbers_out,
    message_length,
    run_rails,
)


def test_luhn() -> None:
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4242424242424241")


def test_card_numbers_are_found_with_spaces_and_dashes() -> None:
    text = "cards: 4242 4242 4242 4242 and 5555-5555-5555-4444, order #W1234567, phone 5551234567890"
    masked, numbers = mask_card_numbers(text)
    assert numbers == ["4242424242424242", "5555555555554444"]
    assert masked == "cards: [card ending 4242] and [card ending 4444], order #W1234567, phone 5551234567890"


def test_numbers_that_fail_luhn_are_left_alone() -> None:
    assert find_card_numbers("tracking 357962501027 and 4242424242424241") == []


def test_card_rail_trips_and_passes() -> None:
    tripped = card_numbers_in("pay with 4111 1111 1111 1111")
    assert tripped.tripped and "4111 1111" not in tripped.text and tripped.reason
    passed = card_numbers_in("my order is #W2378156")
    assert not passed.tripped and passed.text == "my order is #W2378156"
    assert card_numbers_out("your card 4111111111111111").text == "your card [card ending 1111]"
    assert not card_numbers_out("Refund of $12.50").tripped
    echoed = card_numbers_out("Paying with [visa card ending 4242, vault token vt_0123456789abcdef01234567].")
    assert echoed.tripped and echoed.text == "Paying with [visa card ending 4242, vault token [secured card]]."


def test_card_numbers_hide_behind_dots_slashes_and_invisible_characters() -> None:
    for typed in ("4242.4242.4242.4242", "4242/4242/4242/4242", "4242\u200b4242\u200b4242\u200b4242"):
        assert mask_card_numbers(f"card {typed} ok") == ("card [card ending 4242] ok", ["4242424242424242"])
    assert find_card_numbers("shipped 2026.11.25, order 12/25/2026") == []


def test_length_rail_truncates_with_a_notice() -> None:
    long = "a" * (MAX_MESSAGE_CHARS + 50)
    result = message_length(long)
    assert result.tripped and len(result.text) == MAX_MESSAGE_CHARS and "first" in result.reason
    assert not message_length("short").tripped


def test_rails_chain() -> None:
    text, trips = run_rails(INPUT_RAILS, "x" * MAX_MESSAGE_CHARS + " 4242424242424242")
    assert [t.name for t in trips] == ["message_length"]
    assert len(text) == MAX_MESSAGE_CHARS
