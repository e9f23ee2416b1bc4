"""Text clean-up shared by the intent classifier and the entity extractor.

- ``clip``: the NLU reads at most ``MAX_CHARS`` characters of a message (a 20,000-character paste costs the same
  as a short one; the API decides separately whether to reject or truncate with a notice).
- ``describe_emoji``: the few emoji that carry an answer ("👍" is yes) become words; the rest are dropped.
- ``SpellingNormalizer``: typos of shop words ("cancl ordr") are corrected to the closest word the shop knows,
  never into or out of real English words.
- ``LanguageGate``: a message mostly made of words that are neither English nor shop words is flagged as another
  language (when another dictionary knows them) or gibberish, so the dialog asks instead of guessing.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Literal

from rapidfuzz import process
from rapidfuzz.distance import OSA

MAX_CHARS = 2000
"""How much of a message the NLU reads."""

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
"""A word: letters with an optional apostrophe part ("don't"); digits and punctuation split words."""

_EMOJI_WORDS = {
    "👍": "ok",
    "👌": "ok",
    "✅": "yes",
    "✔": "yes",
    "☑": "yes",
    "👎": "no",
    "❌": "no",
    "✖": "no",
    "🙏": "please",
    "👋": "hi",
    "😡": "angry",
    "😠": "angry",
    "🤬": "angry",
    "😤": "annoyed",
    "😞": "disappointed",
    "😢": "sad",
    "😭": "sad",
    "😂": "haha",
    "🤣": "haha",
    "😀": "haha",
    "😃": "haha",
    "😄": "haha",
    "😁": "haha",
    "🙂": "nice",
    "😊": "nice",
    "❤": "thanks",
    "💕": "thanks",
    "🛒": "cart",
    "📦": "package",
    "💳": "card",
    "💰": "money",
}

OTHER_LANGUAGES = ("es", "fr", "de", "it", "pt", "nl")
"""Dictionaries consulted (lazily) to tell another language from gibberish."""

OTHER_LANGUAGES_SHARE = 0.5
"""Another language also when the other dictionaries together know this share of the words: their word lists are
frequency lists and miss common forms ("quiero" is not in the Spanish one)."""

Verdict = Literal["ok", "empty", "other_language", "gibberish"]


def clip(text: str, limit: int = MAX_CHARS) -> tuple[str, bool]:
    """The first ``limit`` characters of ``text`` and whether anything was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True


def describe_emoji(text: str) -> str:
    """Meaningful emoji as words, other pictographs and control characters removed, whitespace collapsed."""
    out: list[str] = []
    for char in text:
        word = _EMOJI_WORDS.get(char)
        if word is not None:
            out.append(f" {word} ")
            continue
        category = unicodedata.category(char)
        if category in ("So", "Sk", "Cs", "Co", "Cn") or (category.startswith("C") and char not in "\n\t"):
            out.append(" ")
        elif category == "Mn" and not out:
            continue
        else:
            out.append(char)
    return " ".join("".join(out).split())


@cache
def english_words() -> frozenset[str]:
    """English words (pyspellchecker's frequency list, 160k words); loaded once per process."""
    return _dictionary("en")


@cache
def common_english_words(count: int = 20_000) -> frozenset[str]:
    """The ``count`` most frequent English words ("sorry", "looking"): never taken for a person's name."""
    from spellchecker import SpellChecker

    frequencies = SpellChecker(language="en", distance=1).word_frequency.dictionary
    return frozenset(sorted(frequencies, key=lambda w: (-frequencies[w], w))[:count])


def _dictionary(language: str) -> frozenset[str]:
    from spellchecker import SpellChecker

    checker = SpellChecker(language=language, distance=1)
    return frozenset(checker.word_frequency.keys())


_other_lock = threading.Lock()
_other_dictionaries: dict[str, frozenset[str]] = {}


def _other_dictionary(language: str) -> frozenset[str]:
    with _other_lock:
        found = _other_dictionaries.get(language)
        if found is None:
            found = _other_dictionaries[language] = _dictionary(language)
        return found


class SpellingNormalizer:
    """Corrects words the shop does not know to the closest shop word (training vocabulary, catalog, names).

    A word is left alone when it is short (under 4 letters), English, or a shop word already; a correction must
    keep the first letter (the first two for 4-letter words) and be within one edit (two for 8+ letters), with
    transpositions counted as one ("reigstration" -> "registration"). Ties go to the more frequent shop word.
    """

    def __init__(self, shop_words: Counter[str], english: frozenset[str] | None = None) -> None:
        self._counts = shop_words
        self._english = english if english is not None else english_words()
        self._candidates = sorted(word for word in shop_words if len(word) >= 3 and word.isalpha())
        self._cache: dict[str, str] = {}

    def known(self, word: str) -> bool:
        lowered = word.lower()
        return lowered in self._counts or lowered in self._english

    def correct_word(self, word: str) -> str:
        lowered = word.lower()
        if len(lowered) < 4 or not lowered.isalpha() or self.known(lowered):
            return word
        cached = self._cache.get(lowered)
        if cached is None:
            cached = self._cache[lowered] = self._closest(lowered)
        if not cached:
            return word
        return cached.capitalize() if word[:1].isupper() else cached

    def _closest(self, word: str) -> str:
        limit = 1 if len(word) <= 7 else 2
        prefix = word[:2] if len(word) == 4 else word[:1]
        hits = process.extract(word, self._candidates, scorer=OSA.distance, score_cutoff=limit, limit=None)
        best = [
            (distance, -self._counts[candidate], candidate)
            for candidate, distance, _ in hits
            if candidate.startswith(prefix) and abs(len(candidate) - len(word)) <= limit
        ]
        return min(best)[2] if best else ""

    def normalize(self, text: str) -> str:
        """``text`` with every correctable word corrected; everything else byte for byte."""
        return WORD.sub(lambda match: self.correct_word(match.group(0)), text)


def _is_latin(char: str) -> bool:
    return char.isascii() or unicodedata.name(char, "").startswith("LATIN")


class LanguageGate:
    """Is a message English enough to classify? ``assess`` answers ok, empty, other_language or gibberish.

    Words inside ``ignore`` spans (names, emails, ids the entity extractor found) are not judged. A message is
    judged when it has at least two words, or one word of 4+ letters. It is fine when English or shop words, as
    written, are at least half of them; otherwise it is another language when one of those dictionaries knows 60%
    of the words, or all of them together know half (and more than English does), fine when typo corrections bring
    English to half, else gibberish.
    """

    def __init__(self, speller: SpellingNormalizer) -> None:
        self._speller = speller

    def assess(self, text: str, ignore: Sequence[tuple[int, int]] = ()) -> Verdict:
        if not any(c.isalnum() for c in describe_emoji(text)):
            return "empty"
        if ignore:
            chars = list(text)
            for start, end in ignore:
                chars[start:end] = " " * (end - start)
            text = "".join(chars)
        text = describe_emoji(text)
        letters = [c for c in text if c.isalpha()]
        if not letters:
            return "ok"  # only ids, numbers or names: the entities say what it is
        if sum(1 for c in letters if not _is_latin(c)) * 2 > len(letters):
            return "other_language"
        words = [w.lower() for w in WORD.findall(text) if len(w) >= 2]
        if not words or (len(words) == 1 and len(words[0]) < 4):
            return "ok"
        strict = self._share(words, self._known_as_is)
        if strict >= 0.5:
            return "ok"
        other = max(self._share(words, _other_dictionary(language).__contains__) for language in OTHER_LANGUAGES)
        either = self._share(words, lambda w: any(w in _other_dictionary(lang) for lang in OTHER_LANGUAGES))
        if (other >= 0.6 or either >= OTHER_LANGUAGES_SHARE) and max(other, either) > strict:
            return "other_language"
        return "ok" if self._share(words, self._known_or_typo) >= 0.5 else "gibberish"

    def _known_as_is(self, word: str) -> bool:
        return self._speller.known(word) or self._speller.known(word.replace("'", ""))

    def _known_or_typo(self, word: str) -> bool:
        return self._known_as_is(word) or self._speller.correct_word(word).lower() != word

    @staticmethod
    def _share(words: list[str], known: Callable[[str], bool]) -> float:
        return sum(1 for w in words if known(w)) / len(words)


def words_of(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased word counts of some texts (the shop vocabulary)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w.lower() for w in WORD.findall(text))
    return counts
