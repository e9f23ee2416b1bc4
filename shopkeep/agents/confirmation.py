"""The strict, deterministic confirmation parser: only an explicit yes and nothing else executes a proposal.

"yes please", "go ahead", "confirm" are yes. "maybe", "yes but change the size", "what?", "yes and cancel the other
one" are not: a yes with anything else attached is not a yes to *this* proposal.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Reply(StrEnum):
    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"  # worth asking again ("maybe", "what?")
    OTHER = "other"  # a different message: a correction or a new request


_AFFIRMATIVE = (
    "yes",
    "y",
    "yeah",
    "yea",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "k",
    "confirm",
    "confirmed",
    "i confirm",
    "go ahead",
    "go for it",
    "please do",
    "do it",
    "proceed",
    "please proceed",
    "that's right",
    "that is right",
    "correct",
    "that's correct",
    "that is correct",
    "sounds good",
    "absolutely",
    "of course",
    "affirmative",
    "yes i do",
    "i do",
    "let's do it",
    "lets do it",
    "do that",
    "please go ahead",
    "you may proceed",
    "that's fine",
    "that is fine",
    "fine",
    "alright",
    "all right",
    "definitely",
    "yes definitely",
    "approved",
)
_POLITE = ("please", "thanks", "thank you", "thx", "ty", "kindly")
_NEGATIVE = (
    "no",
    "n",
    "nope",
    "nah",
    "don't",
    "dont",
    "do not",
    "cancel",
    "stop",
    "never mind",
    "nevermind",
    "not now",
    "no thanks",
    "no thank you",
    "wait",
    "hold on",
    "don't do it",
    "do not do it",
    "abort",
    "forget it",
)
_UNSURE = ("maybe", "not sure", "i'm not sure", "perhaps", "hmm", "hm", "what", "huh", "sorry", "i don't know", "idk")

_NEGATION_WORDS = re.compile(r"\b(no|not|don'?t|never|cancel|stop|wait|without)\b")


def _normalize(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    folded = re.sub(r"[^\w\s']", " ", folded)
    return re.sub(r"\s+", " ", folded).strip()


def _consume(words: list[str], phrases: tuple[str, ...]) -> tuple[list[str], bool]:
    """Strip known phrases from the front of ``words`` repeatedly; report whether any was found."""
    found = False
    ordered = sorted((p.split() for p in phrases), key=len, reverse=True)
    progress = True
    while words and progress:
        progress = False
        for phrase in ordered:
            if words[: len(phrase)] == phrase:
                words = words[len(phrase) :]
                found = progress = True
                break
    return words, found


def classify_reply(text: str) -> Reply:
    """Classify the customer's answer to a proposal."""
    normalized = _normalize(text)
    if not normalized:
        return Reply.UNCLEAR
    words = normalized.split()
    rest, affirmed = _consume(words, _AFFIRMATIVE + _POLITE)
    if not rest and affirmed and not _NEGATION_WORDS.search(normalized):
        return Reply.YES
    rest, denied = _consume(words, _NEGATIVE + _POLITE)
    if not rest and denied:
        return Reply.NO
    rest, unsure = _consume(words, _UNSURE + _POLITE)
    if not rest and unsure:
        return Reply.UNCLEAR
    return Reply.OTHER


def is_explicit_yes(text: str) -> bool:
    return classify_reply(text) is Reply.YES
