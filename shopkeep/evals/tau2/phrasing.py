"""How the oracle user talks: τ²'s second-person instructions in the first person, and records in plain words.

τ² writes a task for a simulated customer ("You received your order ... and wish to exchange ..."); the oracle
says it to the agent ("I received my order ... and I wish to exchange ..."). "The agent" becomes "you". Sentences
that tell the simulator to keep something from the agent ("do not reveal it to the agent") are dropped, since
saying them would hand over exactly what the task hides.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

# Words after which "you" is an object ("if the agent asks you to", "help you exchange").
_OBJECT_AFTER = frozenset(
    {
        "ask", "asks", "asked", "tell", "tells", "told", "help", "helps", "helped", "save", "saves", "saved",
        "give", "gives", "gave", "send", "sends", "sent", "show", "shows", "let", "lets", "call", "calls",
        "for", "to", "with", "at", "from", "about", "than", "thank", "contact", "contacts", "remind", "reminds",
    }
)  # fmt: skip
# After "I": verb forms that change ("you are" -> "I am").
_FIRST_PERSON_VERB = {"are": "am", "were": "was", "aren't": "am not", "weren't": "wasn't"}
# After "the agent" -> "you": third-person verbs that lose their -s ("the agent asks" -> "you ask").
_SECOND_PERSON_VERB = {
    "asks": "ask", "tells": "tell", "says": "say", "proposes": "propose", "doesn't": "don't", "does": "do",
    "has": "have", "is": "are", "isn't": "aren't", "was": "were", "wasn't": "weren't", "wants": "want",
    "needs": "need", "offers": "offer", "finds": "find", "allows": "allow", "confirms": "confirm",
    "gives": "give", "agrees": "agree", "refuses": "refuse", "provides": "provide", "helps": "help",
    "requires": "require", "lets": "let", "mentions": "mention", "suggests": "suggest", "tries": "try",
}  # fmt: skip
_CONTRACTION = {"you're": "I'm", "you've": "I've", "you'd": "I'd", "you'll": "I'll"}
_POSSESSIVE = {"your": "my", "yours": "mine", "yourself": "myself", "yourselves": "ourselves"}

_VERBS = "|".join(sorted({*_FIRST_PERSON_VERB, *_SECOND_PERSON_VERB}, key=len, reverse=True))
_PRONOUN = re.compile(
    r"\b(?P<who>the\s+(?:customer\s+service\s+)?agent(?:'s)?|you(?:'re|'ve|'d|'ll)?|yourselves|yourself|yours|your)\b"
    rf"(?P<verb>\s+(?:{_VERBS})\b)?",
    re.IGNORECASE,
)
_SECRET = re.compile(r"\b(do\s+not|don'?t|never)\s+(reveal|share|mention)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_ASK_AGENT = re.compile(r"(^|[,;]\s+|\b(?:and|so|then)\s+)ask the agent\b", re.IGNORECASE)
_AND_VERB = re.compile(r"\band (wish|wishes|want|would|need|prefer|hope|plan|intend)\b")


def _cased(word: str, like: str) -> str:
    return word[0].upper() + word[1:] if like[:1].isupper() else word


def _swap(match: re.Match[str]) -> str:
    who, verb = match.group("who"), match.group("verb") or ""
    before = match.string[max(0, match.start() - 40) : match.start()]
    low = " ".join(who.lower().split())
    verb_word = verb.strip()
    if low.startswith("the "):
        replaced = "your" if low.endswith("'s") else "you"
        verb_word = _SECOND_PERSON_VERB.get(verb_word.lower(), verb_word)
    elif low in _CONTRACTION:
        replaced = _CONTRACTION[low]
    elif low in _POSSESSIVE:
        replaced = _POSSESSIVE[low]
    else:  # "you": the object after a verb or preposition, the subject otherwise
        previous = before.lower().split()[-1:]
        is_object = bool(previous) and previous[0] in _OBJECT_AFTER and before[-1:].isspace()
        replaced = "me" if is_object else "I"
        if not is_object:
            verb_word = _FIRST_PERSON_VERB.get(verb_word.lower(), verb_word)
    if replaced not in ("I", "I'm", "I've", "I'd", "I'll"):
        replaced = _cased(replaced, who)
    return f"{replaced}{' ' + verb_word if verb_word else ''}"


def _rewrite(sentence: str) -> str:
    # An imperative to the simulator ("Ask the agent how much ...") is the customer asking.
    current = _ASK_AGENT.sub(lambda m: f"{m.group(1)}I ask the agent", sentence)
    current = _PRONOUN.sub(_swap, current)
    if re.match(r"\W*I\b", current):
        current = _AND_VERB.sub(lambda m: f"and I {m.group(1)}", current)
    return current


def first_person(text: str) -> str:
    """τ²'s second-person instruction text as the customer would say it."""
    sentences = [s.strip().lstrip(".").strip() for s in _SENTENCE_END.split(text.strip()) if s.strip(" .")]
    kept = [s for s in sentences if not _SECRET.search(s)]
    return " ".join(_rewrite(s) for s in kept)


# Records in plain words -------------------------------------------------------------------------------------


def describe_item(name: str, options: Mapping[str, Any]) -> str:
    """An item as a customer names it: product name and its option values, never its id."""
    values = ", ".join(str(v) for v in options.values())
    return f"{name} ({values})" if values else name


def join_words(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def describe_items(descriptions: list[str]) -> str:
    """Several items, identical ones counted ("2 x Tea Kettle (glass, 2 liters, induction)")."""
    counts = Counter(descriptions)
    return join_words([f"{n} x {d}" if n > 1 else f"the {d}" for d, n in counts.items()])


def describe_payment_method(method: Mapping[str, Any]) -> str:
    """A saved payment method as its owner calls it: "my PayPal", "the Visa ending in 1234", "my gift card"."""
    source = method.get("source")
    if source == "credit_card":
        return f"the {str(method.get('brand', 'card')).title()} ending in {method.get('last_four')}"
    if source == "gift_card":
        return "my gift card"
    if source == "paypal":
        return "my PayPal"
    return "my usual payment method"


def describe_address(address: Mapping[str, Any]) -> str:
    street = ", ".join(str(address[k]) for k in ("address1", "address2") if address.get(k))
    return f"{street}, {address.get('city', '')}, {address.get('state', '')} {address.get('zip', '')}, " + str(
        address.get("country", "")
    )


CANCEL_REASON_WORDS = {"no longer needed": "I no longer need it", "ordered by mistake": "I ordered it by mistake"}
