"""Property-based fuzzing of the confirmation parser (hypothesis): it never fails, a yes never carries a word the
parser does not know, and case, spacing and trailing punctuation never change the answer."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from shopkeep.agents.confirmation import (
    CONDITION,
    CONSENT,
    DOUBT,
    FILLER,
    FUNCTION_WORDS,
    REFUSAL,
    Reply,
    classify_reply,
)

KNOWN_WORDS = {
    word
    for phrases in (CONSENT, REFUSAL, DOUBT, CONDITION, FILLER, FUNCTION_WORDS)
    for p in phrases
    for word in p.split()
}
"""Every word the parser reads, closed-class words ("us", "the") included: it ignores those, by design."""


def _unknown(word: str) -> bool:
    """Neither a word the parser reads nor, from five letters, one typo away from one (it reads "ounds" as "sounds")."""
    if word in KNOWN_WORDS:
        return False
    return len(word) < 5 or all(OSA.distance(word, known) > 1 for known in KNOWN_WORDS)


PLAIN_YES = st.sampled_from([p for p in CONSENT if not set(p.split()) & {w for r in REFUSAL for w in r.split()}])
WORD = st.text(string.ascii_lowercase, min_size=1, max_size=10)


@given(st.text(max_size=300))
def test_any_text_gets_a_reply_class(text: str) -> None:
    assert isinstance(classify_reply(text), Reply)


@given(PLAIN_YES, WORD.filter(_unknown))
def test_a_yes_with_an_unknown_word_attached_is_never_a_yes(yes: str, word: str) -> None:
    assert classify_reply(f"{yes} {word}") is not Reply.YES
    assert classify_reply(f"{word} {yes}") is not Reply.YES


@given(PLAIN_YES, st.sampled_from(["but", "only", "instead", "if", "except", "also", "unless"]), WORD)
def test_a_condition_is_never_a_yes(yes: str, condition: str, word: str) -> None:
    assert classify_reply(f"{yes} {condition} {word}") is not Reply.YES


@given(PLAIN_YES, st.sampled_from(["", "!", ".", "!!", " ", "\t"]), st.booleans())
def test_case_spacing_and_punctuation_do_not_change_a_yes(yes: str, tail: str, upper: bool) -> None:
    assert classify_reply(yes) is Reply.YES
    shown = yes.upper() if upper else yes.capitalize()
    assert classify_reply(f"  {shown}{tail}  ") is Reply.YES


@given(PLAIN_YES, st.sampled_from(["not", "don't", "never", "stop", "wait", "no", "nope", "hold on"]))
def test_a_refusal_next_to_a_yes_is_never_a_yes(yes: str, refusal: str) -> None:
    assert classify_reply(f"{yes} {refusal}") is not Reply.YES
    assert classify_reply(f"{refusal} {yes}") is not Reply.YES
