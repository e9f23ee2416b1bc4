"""The input and output rails every turn passes through (more rails join these lists; each is tested).

Input rails see only the message. Output rails also see the conversation's ``Facts`` (tool results, the customer's
own messages and record, the store policy): a reply is judged against what this conversation established. An output
rail that can fix the reply returns the fixed text; one that cannot returns ``blocked`` (see ``guardrails.output``).
"""

from __future__ import annotations

from collections.abc import Callable

from shopkeep.guardrails.abuse import AbuseRail
from shopkeep.guardrails.base import RailResult, Stage
from shopkeep.guardrails.cards import mask_card_numbers, mask_vault_tokens
from shopkeep.guardrails.facts import Facts
from shopkeep.guardrails.grounding import grounded_facts
from shopkeep.guardrails.injection import PromptInjectionRail
from shopkeep.guardrails.normalize import normalize
from shopkeep.guardrails.pii import other_customers_pii
from shopkeep.guardrails.promises import permitted_promises
from shopkeep.guardrails.screen import Screen
from shopkeep.replies import reply

MAX_MESSAGE_CHARS = 4000

Rail = Callable[[str], RailResult]
OutputRail = Callable[[str, Facts], RailResult]


def message_length(text: str) -> RailResult:
    """Very long messages are cut to ``MAX_MESSAGE_CHARS`` characters (the customer is told)."""
    if len(text) <= MAX_MESSAGE_CHARS:
        return RailResult(name="message_length", stage=Stage.INPUT, tripped=False, text=text)
    return RailResult(
        name="message_length",
        stage=Stage.INPUT,
        tripped=True,
        text=text[:MAX_MESSAGE_CHARS],
        reason=reply("guardrails.long_message", limit=f"{MAX_MESSAGE_CHARS:,}"),
    )


def unicode_cleanup(text: str) -> RailResult:
    """Invisible characters go, look-alike letters in mixed-script words become Latin, NFKC (``normalize.py``).

    Always rewrites; records a trip (no notice) only for characters that hide or reorder text (bidi overrides, tag
    characters), which no customer types by accident."""
    view = normalize(text)
    return RailResult(
        name="unicode_cleanup",
        stage=Stage.INPUT,
        tripped=view.smuggling,
        text=view.clean,
        detail=f"removed {view.removed} invisible characters" if view.smuggling else "",
    )


def card_numbers_in(text: str) -> RailResult:
    """A card number typed in chat never reaches a model, a log or a checkpoint."""
    masked, numbers = mask_card_numbers(text)
    return RailResult(
        name="card_numbers_in",
        stage=Stage.INPUT,
        tripped=bool(numbers),
        text=masked,
        reason=reply("guardrails.card_masked") if numbers else "",
    )


def card_numbers_out(text: str, facts: Facts | None = None) -> RailResult:
    """No reply ever shows a full card number or a card's vault token (whatever the facts: not even the customer's
    own)."""
    masked, numbers = mask_card_numbers(text)
    masked, tokens = mask_vault_tokens(masked)
    return RailResult(name="card_numbers_out", stage=Stage.OUTPUT, tripped=bool(numbers) or bool(tokens), text=masked)


def input_rails(screen: Screen | None) -> tuple[Rail, ...]:
    """The input chain, in order: cut very long messages, undo unicode tricks, mask card numbers, then refuse prompt
    injection and abuse. With a ``screen`` those two rails also ask the classifier (the graph's default, see
    ``agents/factory.py``); without one they use their patterns alone."""
    return (message_length, unicode_cleanup, card_numbers_in, PromptInjectionRail(screen), AbuseRail(screen))


INPUT_RAILS: tuple[Rail, ...] = input_rails(None)
OUTPUT_RAILS: tuple[OutputRail, ...] = (card_numbers_out, other_customers_pii, grounded_facts, permitted_promises)
"""In order: the fixing rails first (masking, redaction), so the checking rails judge the text that would be sent."""


def run_rails(rails: tuple[Rail, ...], text: str) -> tuple[str, list[RailResult]]:
    """Apply rails in order; each sees the previous one's text. Returns the final text and the trips.

    A blocking trip ends the chain: the message goes no further, so later rails have nothing to check."""
    trips = []
    for rail in rails:
        result = rail(text)
        text = result.text
        if result.tripped:
            trips.append(result)
            if result.blocked:
                break
    return text, trips


def run_output_rails(rails: tuple[OutputRail, ...], text: str, facts: Facts) -> tuple[str, list[RailResult]]:
    """Apply output rails in order against the conversation's facts. Returns the final text and the trips."""
    trips = []
    for rail in rails:
        result = rail(text, facts)
        text = result.text
        if result.tripped:
            trips.append(result)
    return text, trips
