"""Unicode tricks undone: what an input rail reads is the text a person sees, not what the bytes hide.

Two views of a message:

- ``clean`` is what goes on to the rest of the graph: NFKC-normalized (fullwidth and "mathematical" letters become
  plain ones), invisible format characters removed (zero-width spaces and joiners, bidi overrides and isolates,
  Unicode tag characters, variation selectors), and Latin look-alikes from Cyrillic or Greek folded to Latin inside
  words that mix scripts ("оrder" with a Cyrillic "о"). Words written wholly in another script are left alone, and
  so are email addresses: an address with a look-alike letter is not the account's address, and folding it would
  let "nоah.brown@..." log in as noah.brown@....
- ``screening`` is only for pattern matching: ``clean``, lower-cased, every look-alike folded, common digit and symbol
  substitutions undone ("1gn0re"), letters spaced out one by one joined back ("i g n o r e"), and any text written
  in invisible Unicode tag characters ("ASCII smuggling") decoded and appended, so hidden instructions are read too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Cyrillic and Greek letters that render like Latin ones (the common part of Unicode's confusables table).
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕһԁԛԝӏАВЕКМНОРСТХУІЈЅαβεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijshdqwlABEKMHOPCTXYIJSabeikvoptuxABEZHIKMNOPTYX",
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
# Characters with no business in a chat message: they hide text or reorder what is displayed.
_SMUGGLING = re.compile("[\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f\U000e0100-\U000e01ef]")
_TAGS = re.compile("[\U000e0020-\U000e007e]+")
_WORD = re.compile(r"\w+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SPACED_LETTERS = re.compile(r"\b(?:\w ){3,}\w\b")


@dataclass(frozen=True)
class Normalized:
    clean: str
    screening: str
    removed: int
    """How many invisible characters were removed."""
    smuggling: bool
    """Bidi overrides, tag characters or variation selectors were present (hidden or reordered text)."""


def _invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or "\ufe00" <= char <= "\ufe0f" or bool(_SMUGGLING.match(char))


def _fold_mixed_word(match: re.Match[str]) -> str:
    word = match.group()
    folded = word.translate(_LOOKALIKES)
    if folded == word or not any("a" <= c.lower() <= "z" for c in word):
        return word  # a word wholly in another script is a word, not a disguise
    return folded


def _fold_outside_emails(text: str) -> str:
    pieces: list[str] = []
    last = 0
    for email in _EMAIL.finditer(text):
        pieces += [_WORD.sub(_fold_mixed_word, text[last : email.start()]), email.group()]
        last = email.end()
    pieces.append(_WORD.sub(_fold_mixed_word, text[last:]))
    return "".join(pieces)


def normalize(text: str) -> Normalized:
    """Both views of ``text`` (see the module docstring)."""
    smuggling = bool(_SMUGGLING.search(text))
    composed = unicodedata.normalize("NFKC", text)
    visible = "".join(char for char in composed if not _invisible(char))
    clean = _fold_outside_emails(visible)
    screening = clean.translate(_LOOKALIKES).lower().translate(_LEET)
    screening = _SPACED_LETTERS.sub(lambda m: m.group().replace(" ", ""), screening)
    hidden = " ".join("".join(chr(ord(c) - 0xE0000) for c in run) for run in _TAGS.findall(text))
    if hidden:
        screening = f"{screening} {normalize(hidden).screening}"
    return Normalized(clean=clean, screening=screening, removed=len(composed) - len(visible), smuggling=smuggling)
