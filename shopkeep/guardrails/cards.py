"""Payment card numbers: found with the Luhn check (spaces and dashes allowed) and never passed on."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

_SEPARATOR = "[ \\-./\u00a0\u200b\u200c\u200d\u2060\ufeff]"
"""What people (and attackers) put between a card's digits: spaces, dashes, dots, slashes, invisible characters."""
_CANDIDATE = re.compile(rf"(?<!\d)(?:\d{_SEPARATOR}?){{12,18}}\d(?!\d)")
_VAULT_TOKEN = re.compile(r"\bvt_[0-9a-f]{24}\b")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def find_card_numbers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, digits) of every Luhn-valid 13-19 digit number in the text."""
    found = []
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append((match.start(), match.end(), digits))
    return found


def mask_card_numbers(text: str) -> tuple[str, list[str]]:
    """The text with every card number replaced by ``[card ending NNNN]``, and the numbers found."""
    numbers: list[str] = []
    pieces: list[str] = []
    last = 0
    for start, end, digits in find_card_numbers(text):
        pieces += [text[last:start], f"[card ending {digits[-4:]}]"]
        numbers.append(digits)
        last = end
    pieces.append(text[last:])
    return "".join(pieces), numbers


class Vaulted(Protocol):
    """What the vault hands back for a number: a token, and what may be shown of the card."""

    @property
    def token(self) -> str: ...
    @property
    def brand(self) -> str: ...
    @property
    def last_four(self) -> str: ...


def mask_vault_tokens(text: str) -> tuple[str, int]:
    """The text with every card vault token replaced by ``[secured card]`` (a token is for the gateway, never for
    a reader), and how many there were."""
    return _VAULT_TOKEN.subn("[secured card]", text)


def vault_card_numbers(text: str, put: Callable[[str], Vaulted]) -> tuple[str, list[Vaulted]]:
    """Each card number swapped for a vault token (``put`` stores the number) before anything else sees the text."""
    cards: list[Vaulted] = []
    pieces: list[str] = []
    last = 0
    for start, end, digits in find_card_numbers(text):
        card = put(digits)
        cards.append(card)
        pieces += [text[last:start], f"[{card.brand} card ending {card.last_four}, vault token {card.token}]"]
        last = end
    pieces.append(text[last:])
    return "".join(pieces), cards
