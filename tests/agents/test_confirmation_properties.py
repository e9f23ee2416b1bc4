"""Property-based fuzzing of the confirmation parser (hypothesis): it never fails, a yes is only ever a bare yes,
and case, spacing and trailing punctuation never change the answer."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from shopkeep.agents.confirmation import _AFFIRMATIVE, _NEGATION_WORDS, _POLITE, Reply, classify_reply, is_explicit_yes

SINGLE_WORD_PHRASES = {phrase for phrase in _AFFIRMATIVE + _POLITE if " " not in phrase}
YES_PHRASES = st.sampled_from(_AFFIRMATIVE)
WORD = st.text(string.ascii_lowercase, min_size=1, max_size=10)


@given(st.text(max_size=300))
def test_any_text_gets_a_reply_class_and_a_yes_has_no_negation(text: str) -> None:
    reply = classify_reply(text)
    assert isinstance(reply, Reply)
    assert is_explicit_yes(text) == (reply is Reply.YES)
    if reply is Reply.YES:
        assert not _NEGATION_WORDS.search(text.lower().replace("’", "'"))


@given(YES_PHRASES, WORD.filter(lambda word: word not in SINGLE_WORD_PHRASES))
def test_a_yes_with_another_word_attached_is_not_a_yes(yes: str, word: str) -> None:
    assert not is_explicit_yes(f"{yes} {word}")
    assert not is_explicit_yes(f"{word} {yes}")


@given(YES_PHRASES, st.sampled_from(["", "!", ".", "!!", " ", "\t", "?!"]), st.booleans())
def test_case_spacing_and_punctuation_do_not_change_a_yes(yes: str, tail: str, upper: bool) -> None:
    assert is_explicit_yes(yes)
    shown = yes.upper() if upper else yes.capitalize()
    assert is_explicit_yes(f"  {shown}{tail}  ")


@given(YES_PHRASES, st.sampled_from(["not", "don't", "never", "cancel", "stop", "wait", "no"]))
def test_a_negation_anywhere_is_never_a_yes(yes: str, negation: str) -> None:
    assert not is_explicit_yes(f"{yes} {negation}")
    assert not is_explicit_yes(f"{negation} {yes}")
