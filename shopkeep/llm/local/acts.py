"""The speech act of a customer message: a request to do something, or a question about something.

The intent classifier reads *what* a message is about ("exchange", "gift card", "default address"); it cannot tell
"what's your exchange policy?" from "I want to exchange this", because both are about exchanges. The act tells them
apart, from the shape of the sentence, so the dialog never starts a flow (and asks for identity) when the customer
only asked how something works:

- ``general_question``: how something works or what the rules are, about nothing of the customer's own ("how do I
  use a promo code?", "do gift cards expire?", "whats ur exchange policy"): a knowledge answer;
- ``own_question``: what something of the customer's is ("what's my default address?", "how much is left on my gift
  card?", "show me my profile"): a look-up, never a change;
- ``request``: everything else ("exchange my shirt", "can I get an invoice for #W...", "how do I return my order?").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

Act = Literal["request", "general_question", "own_question"]

# Words that open a message without changing what it asks ("wait, what's ...", "ok so how do I ...").
_LEAD = re.compile(
    r"^(?:\s*(?:ok(?:ay)?|so|wait|hold on|hmm+|um+|hey|hi|hello|and|but|also|quick question|one more thing|"
    r"just wondering|btw|by the way|sorry|actually|oh)\b[\s,.:;!-]*)+",
    re.IGNORECASE,
)
_HOW_TO = re.compile(
    r"^how\s+(?:do|does|can|could|would|should|will|is|are)\b|^how\s+to\b|^what(?:'s|s| is| are)?\s+the\s+"
    r"(?:process|procedure|steps?|way)\b|^is\s+(?:it\s+)?possible\s+to\b",
    re.IGNORECASE,
)
_POLICY = re.compile(
    r"\b(?:polic(?:y|ies)|rules?|terms|conditions|guidelines|allowed|expire[sd]?|expir(?:y|ation)|how long|"
    r"fees?|deadline|time limit|eligible|eligibility)\b",
    re.IGNORECASE,
)
_QUESTION_WORD = re.compile(
    r"^(?:what(?:'s|s)?|how|when|where|which|why|who|do|does|did|is|are|was|were|will|would|can|could|may|"
    r"should|any|is there|are there)\b",
    re.IGNORECASE,
)
# A yes/no question about things in general ("do gift cards expire?", "are promo codes stackable?"), not about
# the customer ("do I ...", "can I ...") or the assistant ("do you ...").
_GENERAL_YES_NO = re.compile(
    r"^(?:do|does|are|is|will|can|could)\s+(?:a\s+|an\s+|your\s+|ur\s+)?"
    r"(?!(?:i|you|u|we|my|it|this|that|these|those|they|the|there)\b)[a-z]+",
    re.IGNORECASE,
)
_OWN = re.compile(r"\b(?:my|mine)\b|\bon file\b|\bfor me\b", re.IGNORECASE)
# Words of a request hidden in a question ("how do I change my address", "can you cancel it").
_DOING = re.compile(
    r"\b(?:change|changing|update|updating|set|setting|edit|editing|modify|modifying|cancel|cancelling|canceling|"
    r"return|returning|exchange|exchanging|swap|move|switch|replace|add|adding|remove|delete|deleting|close|use|"
    r"buy|order|send|want|need|like|please)\b",
    re.IGNORECASE,
)
_SHOW = re.compile(
    r"^(?:(?:can|could|would)\s+(?:you|u)\s+)?(?:please\s+)?(?:show|tell|give|remind)\s+me\b|^(?:let me|i(?:'d| would)"
    r" like to|i want to|can i|could i)\s+(?:see|view|check|look at)\b|^(?:view|see|display|check)\s+my\b",
    re.IGNORECASE,
)
# Entity types that make a message about the customer's own things (an order, an account).
_PERSONAL_ENTITIES = frozenset({"order_id", "email", "user_id", "person_name", "address", "item_id"})


def without_lead(text: str) -> str:
    """The message without the words that only open it ("wait, what's your refund policy?" -> "what's ...")."""
    return _LEAD.sub("", text.strip()).strip() or text.strip()


def speech_act(text: str, entity_types: Iterable[str] = ()) -> Act:
    """The act of one message (see the module docstring); ``entity_types`` are the types of its entities."""
    body = without_lead(text)
    personal = bool(_PERSONAL_ENTITIES & set(entity_types))
    own = bool(_OWN.search(body))
    questioning = body.endswith("?") or bool(_QUESTION_WORD.match(body))
    if _SHOW.match(body) and own and not personal:
        return "own_question" if not _DOING.search(_SHOW.sub("", body)) else "request"
    if not questioning or personal:
        return "request"
    if own:
        # "what's my default address?" looks something up; "how do I change my address?" asks for the change
        return "request" if _HOW_TO.match(body) or _DOING.search(body) else "own_question"
    if _HOW_TO.match(body) or _POLICY.search(body) or _GENERAL_YES_NO.match(body):
        return "general_question"
    return "request"
