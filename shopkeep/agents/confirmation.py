"""The strict, deterministic confirmation parser: only a clear yes to the proposal shown executes it.

A reply is read word by word against small word classes: consent ("yes", "go ahead", "no problem"), refusal ("no",
"don't", "hold on"), doubt ("maybe", "not sure"), conditions ("but", "only", "instead", "if"), politeness and words
that point at the proposal ("that order", "it", "the one"), the action's own verbs ("yes, cancel it" for a
cancellation) and the details the proposal itself names (its order id, items, payment method, address). A reply is
yes only when it consents and every other word is one of those; a detail the proposal does not name ("yes, the
visa" when it says PayPal), a condition or a second request makes it *other*, which is never executed: the message
is read again as a new request. A question or a hedge is *unclear* and gets one re-ask of the same proposal.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import lru_cache


class Reply(StrEnum):
    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"  # worth asking again ("maybe", "what?")
    OTHER = "other"  # a different message: a correction or a new request


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(phrase.strip() for phrase in text.split("|") if phrase.strip())


CONSENT = _phrases(
    "yes|y|ya|sure thing|mhm|mhmm|uh huh|no changes|no issues|no issue|no objection|no objections|"
    "es correcto|correcto|claro|yah|yeah|yea|yeh|yep|yup|yess|yesss|yas|yse|ys|sure|surely|ok|okay|okey|okie|oki|k|"
    "kk|confirm|confirmed|"
    "i confirm|confirming|go ahead|go on|go|go for it|please do|do it|do so|do that|just do it|proceed|please proceed|"
    "you may proceed|that's right|that is right|right|correct|that's correct|that is correct|thats correct|"
    "sounds good|sounds great|sounds right|looks good|looks great|looks right|looks correct|perfect|great|good|"
    "absolutely|of course|ofc|affirmative|i do|let's do it|lets do it|let's go|lets go|that's fine|that is fine|"
    "thats fine|fine|fine by me|alright|all right|aight|definitely|approved|approve|i approve|agreed|agree|i agree|"
    "deal|done|exactly|indeed|yes indeed|certainly|by all means|why not|no problem|no problems|no worries|np|"
    "works for me|that works|makes sense|please|pls|plz|that's it|thats it|that's the one|thats the one|"
    "that one|this one|the one|it is|it's correct|its correct|it's right|you got it|bingo|cool|nice|awesome|"
    "yes sir|yes ma'am|roger|ack|acknowledged|go right ahead|carry on|make it so|ship it|send it|book it|"
    "place it|submit|submit it|execute|execute it|finalize|finalise|complete it|just go ahead|just proceed|"
    "just confirm|that's what i want|thats what i want|what i want|what i asked|what i asked for|what i need|ja|si|oui"
)
REFUSAL = _phrases(
    "no|n|nope|nah|naw|noo|nooo|no way|don't|dont|do not|don't do it|dont do it|do not do it|don't do that|"
    "stop|never mind|nevermind|nvm|not now|not yet|no thanks|no thank you|no thx|wait|wait a sec|wait a second|"
    "wait a minute|hold on|hold up|hang on|abort|forget it|forget about it|scratch that|i changed my mind|"
    "changed my mind|i've changed my mind|leave it|leave it as is|keep it|keep it as is|skip|skip it|pass|"
    "not anymore|no longer|negative|decline|declined|i decline|reject|rejected|not that|not this|not it|nothing|"
    "don't bother|no need|not needed|cancel that|cancel this|scrap that|never|let it be|let me think|"
    "let me think about it|i'll think about it|ill think about it|not today|not|cancel|i'm good|im good|keep the order|"
    "i'll keep it|ill keep it|keep them|i don't want|i dont want|don't want|dont want"
)
DOUBT = _phrases(
    "maybe|perhaps|possibly|probably|not sure|i'm not sure|im not sure|unsure|dunno|i don't know|i dont know|idk|"
    "hmm|hm|hmmm|umm|um|uh|er|erm|what|wat|huh|eh|pardon|i guess|guess so|i think|i think so|kind of|kinda|"
    "sort of|sorta|whatever|if you say so|depends|it depends|not really|meh|so|well|really|are you sure|is it|"
    "is that|does it|do i|will it|can i|should i|how|why|when|which|who|where|how much|how long|what about|what's|"
    "whats|wait what|wait how|wait is|wait does|wait which|wait why|wait will|wait who|wait where|uhh|uhhh|ehh"
)
CONDITION = _phrases(
    "but|only|just|instead|if|unless|except|as long as|provided|also|and also|plus|as well|too|either|other|"
    "another|different|else|change|switch|swap|add|remove|make it|more|less|rather|prefer|first|then|after|"
    "before|later|tomorrow|all|every|both|refund|discount|cheaper|free|to everything|everything else|already said|"
    "told you|i told you|said yes|already confirmed|already told"
)
FILLER = _phrases(
    "and|then|now|right now|asap|immediately|please|pls|plz|thanks|thank you|thx|ty|tysm|thank u|thanks a lot|"
    "thanks so much|many thanks|cheers|kindly|i|i'm|im|me|my|we|you|u|ur|your|it|that|this|these|those|them|the|a|"
    "an|one|ones|is|are|was|be|to|for|of|with|on|in|at|by|from|as|way|all good|good|great|perfect|awesome|cool|"
    "nice|lovely|excellent|fantastic|amazing|wonderful|brilliant|super|fine|ok|okay|sure|yes|yeah|yep|mate|buddy|"
    "man|dude|sir|madam|ma'am|friend|pal|lol|haha|hah|ah|oh|oops|well|so|alright|just|do|go|ahead|want|would|like|"
    "love|need|can|could|will|shall|should|may|let's|lets|let|please do|want it|that's|thats|its|it's|what|i said|"
    "already|said|told|you|correct|right|same|exactly|order|orders|item|items|one|details|info|information|"
    "summary|proposal|plan|change|changes|request|everything|looks|sounds|seems|is|fine|as|said|written|shown|"
    "above|stated|described|mentioned|listed|you said|you wrote|you have|you've|have|has|got|get|it's fine|actually|"
    "everything|new|home|very|very much|much|wow|been|am|thnx|thanx|thnks|tks|honestly|obviously|finally|zip|"
    "difference|balance|expected|anymore|patient|being|damn|lol|lmao|omg|ugh|pending|delivered|yet|anything|make|"
    "place|please to|tbh|really|truly|"
    "definitely|100|exactly right|spot on|that's right|as planned|fast|quick|quickly|already"
)
"""Words that neither consent nor refuse and carry no new instruction; a few overlap the classes above, which win."""

FUNCTION_WORDS = _phrases(
    "a|an|the|this|that|these|those|it|its|i|me|my|mine|myself|we|us|our|you|your|yours|he|him|his|she|her|they|"
    "them|their|there|here|and|so|for|of|to|in|on|at|by|with|from|into|about|up|out|as|than|again|still|even|very|"
    "quite|is|am|are|was|were|be|been|being|do|does|did|done|have|has|had|will|would|shall|should|can|could|may|"
    "might|must|i'll|ill|i've|ive|i'd|you're|youre|we're|that's|thats|there's|it'll|it's|gonna|wanna|gotta|like|"
    "though|anyway|anyways|ok so|oh well|lol|haha"
)
"""English closed-class words (pronouns, articles, auxiliaries, prepositions): they carry no instruction of their own.
A content word the parser does not know is never one of these, so it keeps a reply from being read as a yes."""

ACTION_VERBS: dict[str, tuple[str, ...]] = {
    "cancel_pending_order": _phrases(
        "cancel|cancel it|cancel the order|cancelled|canceled|cancellation|cancelling|don't need it|dont need it|"
        "don't need it anymore|dont need it anymore|no longer need it|no longer needed|by mistake|ordered by mistake|"
        "ordered it by mistake|don't want it anymore|dont want it anymore"
    ),
    "return_delivered_order_items": _phrases("return|return it|return them|returned|returning|send back|refund"),
    "exchange_delivered_order_items": _phrases("exchange|exchange it|exchanged|swap|swap it|switch|replace"),
    "modify_pending_order_items": _phrases("change|change it|swap|switch|modify|update|replace|changed"),
    "modify_pending_order_address": _phrases("change|change it|update|update it|modify|ship|send|address|changed"),
    "modify_pending_order_payment": _phrases("change|change it|switch|update|pay|charge|use|payment|changed"),
    "modify_user_address": _phrases("change|change it|update|update it|save|set|address|default|changed"),
    "checkout": _phrases("buy|buy it|order|place|place it|place the order|checkout|check out|pay|charge|purchase"),
    "place_order": _phrases("buy|buy it|order|place|place it|place the order|checkout|check out|pay|charge|purchase"),
}
"""Verbs that name the very action proposed: "yes, cancel it" consents to a cancellation (and refuses nothing)."""

_POSITIVE_EMOJI = re.compile("[\U0001f44d\U0001f44c\u2705\u2714\U0001f44f\U0001f64f\U0001f680\U0001f4af]")
_NEGATIVE_EMOJI = re.compile("[\U0001f44e\u274c\u2716\U0001f6ab\u26d4]")
_DIGITS = re.compile(r"\d+")
_REPLACED = re.compile(r"\binstead of [^.?!]*|\bfrom .*? (?=to\b)", re.IGNORECASE)
_QUESTION_END = re.compile(r"\?\s*$")


def _normalize(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    folded = _POSITIVE_EMOJI.sub(" yes ", folded)
    folded = _NEGATIVE_EMOJI.sub(" no ", folded)
    folded = re.sub(r"#\s*", " ", folded)
    folded = re.sub(r"[^\w\s']", " ", folded)
    folded = re.sub(r"(?<!\w)'|'(?!\w)", " ", folded)
    folded = re.sub(r"\b(y+e+s+|ye+a+h+|ok+a+y+|no+pe+)\b", lambda m: _squeeze(m.group(1)), folded)
    return re.sub(r"\s+", " ", folded).strip()


def _squeeze(word: str) -> str:
    """ "yesss" is yes, "okaaay" is okay, "nooope" is nope."""
    for plain in ("yes", "yeah", "okay", "nope"):
        if re.fullmatch("".join(f"{c}+" for c in plain), word):
            return plain
    return word


def _detail_words(proposal: str) -> frozenset[str]:
    """Every word of the proposal (ids, item names, options, amounts, payment method) but those of what it replaces
    ("with PayPal *instead of Visa ending in 1234*", "*from 12 Oak St* to ..."): a reply may repeat them."""
    kept = _REPLACED.sub(" ", proposal)
    return frozenset(_normalize(kept).split()) | frozenset(_DIGITS.findall(kept))


class _Reading:
    """A reply split into the word classes above, longest phrase first, in the order they were said."""

    def __init__(self, words: list[str], tool: str | None, details: frozenset[str]) -> None:
        self.said: list[str] = []
        """The class of every decisive phrase in order: consent, refusal, doubt, condition, action."""
        self.unknown: list[str] = []
        table = _table(tool)
        vocabulary = _vocabulary(tool)
        index = 0
        refused = False  # a refusal turns the next consent or action into a refusal ("don't place it", "no, go")
        while index < len(words):
            matched = _match(words, index, table)
            if matched is None:
                word = _near(words[index], vocabulary)
                if word != words[index]:
                    words = [*words[:index], word, *words[index + 1 :]]
                    continue
                if word not in details:
                    self.unknown.append(word)
                    refused = False
                index += 1
                continue
            length, name = matched
            if name in ("consent", "action") and refused:
                name = "refusal"
            if name != "filler":
                self.said.append(name)
                refused = name == "refusal"
            index += length

    def has(self, name: str) -> bool:
        return name in self.said

    @property
    def last(self) -> str:
        decisive = [name for name in self.said if name in ("consent", "action", "refusal")]
        return decisive[-1] if decisive else ""


@lru_cache(maxsize=32)
def _table(tool: str | None) -> tuple[tuple[tuple[str, ...], str], ...]:
    """Every phrase with its class, longest first; at equal length the earlier class wins."""
    classes = (
        ("action", ACTION_VERBS.get(tool or "", ())),
        ("refusal", REFUSAL),
        ("doubt", DOUBT),
        ("consent", CONSENT),
        ("condition", CONDITION),
        ("filler", FILLER + FUNCTION_WORDS),
    )
    entries = [(tuple(phrase.split()), name) for name, phrases in classes for phrase in phrases]
    return tuple(sorted(entries, key=lambda entry: len(entry[0]), reverse=True))


@lru_cache(maxsize=32)
def _vocabulary(tool: str | None) -> frozenset[str]:
    return frozenset(word for phrase, _ in _table(tool) for word in phrase if len(word) >= 4)


def _match(words: list[str], index: int, table: tuple[tuple[tuple[str, ...], str], ...]) -> tuple[int, str] | None:
    for phrase, name in table:
        if tuple(words[index : index + len(phrase)]) == phrase:
            return len(phrase), name
    return None


def _near(word: str, vocabulary: frozenset[str]) -> str:
    """A known word one typo away ("cancle", "adress", "proceeed"), for words of five letters or more."""
    if len(word) < 5 or word in vocabulary or not word.isalpha():
        return word
    for known in vocabulary:
        if abs(len(known) - len(word)) <= 1 and _one_edit(word, known):
            return known
    return word


def _one_edit(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbours turns ``a`` into ``b``."""
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def classify_reply(text: str, *, tool: str | None = None, proposal: str = "") -> Reply:
    """Classify the customer's answer to a proposal of ``tool`` whose text was ``proposal``."""
    normalized = _normalize(text)
    if not normalized:
        return Reply.UNCLEAR
    reading = _Reading(normalized.split(), tool, _detail_words(proposal))
    agrees = reading.has("consent") or reading.has("action")
    if reading.has("refusal"):
        if reading.has("condition"):
            return Reply.OTHER  # "no, the other order"
        return Reply.NO if reading.last == "refusal" else Reply.UNCLEAR  # "yes... no wait" / "no. wait. yes."
    if _QUESTION_END.search(text) and not (reading.has("condition") or agrees):
        return Reply.UNCLEAR  # a question about the proposal: it is shown again, not dropped
    if reading.has("condition"):
        return Reply.OTHER
    if reading.unknown:
        return Reply.UNCLEAR if reading.has("doubt") and not agrees else Reply.OTHER
    if reading.has("doubt") or _QUESTION_END.search(text):
        return Reply.UNCLEAR
    return Reply.YES if agrees else Reply.UNCLEAR


def is_explicit_yes(text: str, *, tool: str | None = None, proposal: str = "") -> bool:
    return classify_reply(text, tool=tool, proposal=proposal) is Reply.YES
