"""The support specialist: knowledge-base answers with citations, greetings and small talk, what the assistant can
do, clarification of messages it cannot read, and out-of-scope refusals.

A knowledge answer quotes the sentences of the best passage ``search_knowledge`` returned that share the most words
with the question, and cites the passage's source id. When no well-ranked passage contains at least half of the
question's content words or is close in meaning to it, the assistant says it is not sure and offers a human colleague
instead of guessing.
"""

from __future__ import annotations

import re
from typing import Any

from shopkeep.llm.local.dialog import Dialog, ToolEvent, Turn
from shopkeep.llm.local.policies import escalation
from shopkeep.llm.local.policies.base import HUMAN, Call, Say, Step
from shopkeep.llm.local.policies.identity import identify

SMALL_TALK = frozenset({"greeting", "capabilities", "goodbye", "thanks", "affirm", "deny", "chitchat"})
"""Intents answered with a reply of their own name (``data/replies/support.yaml``), no tool needed."""
KNOWLEDGE_TOOL = "search_knowledge"
HANDOFF_TOOL = "transfer_to_human_agents"
OFFER_HUMAN_AFTER = frozenset({"complaint", "payment_issue"})
"""Intents whose knowledge answer ends with the offer of a human rather than "anything else?"."""

MIN_SCORE = 0.095
"""The fused rank score below which a passage ranked near the top by only one of vector or full-text search."""
MIN_COVERAGE = 0.5
"""The share of the question's content words a passage must contain to be quoted as the answer..."""
CLOSE_MEANING = 0.55
"""...unless the passage is this close in meaning to the question (cosine similarity of their embeddings): "how long
does shipping take?" shares one word with the page on delivery times. Unanswerable questions score below 0.45."""
QUOTE_SENTENCES = 2
MAX_QUOTE_CHARS = 400

_WORD = re.compile(r"[a-z0-9]+")
_ANSWER_SHAPES = (
    (
        re.compile(r"\bhow (long|soon|many (business )?days)\b|\bwhen (will|does|do|is)\b"),
        re.compile(r"\b\d+(-\d+)?\s*(business\s+)?(minutes?|hours?|days?|weeks?|months?)\b|\bsame day\b"),
    ),
    (re.compile(r"\bhow much\b|\bcost|\bfee\b|\bprice\b|\bcharge"), re.compile(r"\$\d|\bfree\b")),
)
"""(what a question asks for, what a sentence that answers it looks like)."""
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")
_STOPWORDS = frozenset(
    word
    for line in """
    a about above after again all am an and any are as at be because been before being below between both but by can
    could did do does doing down during each few for from further had has have having he her here hers him his how i
    if in into is it its itself just me more most my myself no nor not now of off on once only or other our ours out
    over own same she should so some such than that the their theirs them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with would you your yours
    yourself please hi hello thanks thank tell know want wanted like get got need let lets id im ive youre dont cant
    much many also really still ever way thing things something anything someone one ones shop store
    whats ur u r pls plz wait hey ok okay hmm um so
    """.strip().splitlines()
    for word in line.split()
)


def decide(dialog: Dialog) -> Step:
    event = dialog.just_ran_tool
    if event is not None and event.name == HANDOFF_TOOL:
        return escalation.decide(dialog)
    if event is not None and event.name == KNOWLEDGE_TOOL:
        return answer(dialog, event)
    turn = dialog.last_turn
    if turn is None:
        return Say(dialog.reply("support.greeting"))
    if accepts_human(dialog, turn):
        return escalation.decide(dialog)
    if turn.nlu.intent == "authenticate" or (event is not None and event.name.startswith("find_user_id")):
        # a customer who introduces themselves here is verified here (and their details never go to a search)
        return identify(dialog) or Say(dialog.reply("support.verified"))
    nlu = turn.nlu
    if nlu.intent in SMALL_TALK:
        # other specialists hand small talk here too: these replies need no tool
        return Say(dialog.reply("support.clarify" if nlu.clarify else f"support.{nlu.intent}"))
    if nlu.reason == "other_language":
        return Say(dialog.reply("support.other_language"), expects=HUMAN)
    if nlu.intent == "out_of_scope" and nlu.reason in (None, "out_of_scope"):
        return Say(dialog.reply("support.out_of_scope"))
    if nlu.general_question and nlu.reason in ("low_confidence", "ambiguous", None):
        # "how can I apply a discount code?": the help pages may answer what the classifier cannot place (and the
        # knowledge answer says so when they do not)
        return knowledge(dialog, turn)
    if nlu.reason == "ambiguous" and all(_answered_from_help_pages(dialog, intent) for intent, _ in nlu.top[:2]):
        # torn between two questions the help pages answer ("do you have a loyalty program?": contact or payment?):
        # the search of the help pages tells them apart, or the answer says it does not know
        return knowledge(dialog, turn)
    if nlu.clarify or nlu.intent == "out_of_scope":
        return Say(dialog.reply("support.clarify"))
    return knowledge(dialog, turn)


def _answered_from_help_pages(dialog: Dialog, intent: str) -> bool:
    return intent in dialog.nlu.taxonomy and dialog.nlu.taxonomy.handling_for(intent) == "knowledge"


def accepts_human(dialog: Dialog, turn: Turn) -> bool:
    """A yes to the assistant's offer of a human colleague."""
    return turn.nlu.intent == "affirm" and turn.expects == HUMAN


# knowledge answers ---------------------------------------------------------------------------------------------


def knowledge(dialog: Dialog, turn: Turn) -> Step:
    """Look the customer's question up in the knowledge base (once per message), then answer from it."""
    question = turn.text.strip()
    for event in reversed(dialog.events):
        if event.index < turn.index:
            break
        if event.name == KNOWLEDGE_TOOL and event.args.get("question") == question:
            return answer(dialog, event)
    return Call(KNOWLEDGE_TOOL, {"question": question})


def answer(dialog: Dialog, event: ToolEvent) -> Say:
    if not event.ok:
        return Say(dialog.reply("support.cannot_look_up"), expects=HUMAN)
    question = str(event.args.get("question", ""))
    asked = content_words(question)
    passages: list[dict[str, Any]] = event.data.get("passages", []) if isinstance(event.data, dict) else []
    covered = [
        (shared(asked, content_words(_searchable(p))) / max(len(asked), 1), -rank, p)
        for rank, p in enumerate(passages)
        if p["score"] >= MIN_SCORE
    ]
    covered = [c for c in covered if c[0] >= MIN_COVERAGE or (c[2].get("similarity") or 0.0) >= CLOSE_MEANING]
    if not covered:
        return Say(dialog.reply("support.not_sure"), expects=HUMAN)
    best = max(covered, key=lambda c: (c[0], c[1]))[2]
    quote = key_sentences(best, asked, question)
    turn = dialog.last_turn
    offers_human = turn is not None and turn.nlu.intent in OFFER_HUMAN_AFTER
    text = dialog.reply("support.quote", title=best["title"], quote=quote, source=best["source"])
    if turn is not None and turn.asker not in ("", "support") and turn.nlu.general_question:
        # a question asked in the middle of another flow: answer it, then ask that flow's question again
        return Say(
            dialog.reply("support.back_to_flow", answer=text, question=turn.question),
            awaits=turn.asker,
            expects=turn.expects,
        )
    if offers_human:
        return Say(f"{text} {dialog.reply('base.human_offer')}", expects=HUMAN)
    return Say(f"{text} {dialog.reply('base.anything_else')}")


def _searchable(passage: dict[str, Any]) -> str:
    return f"{passage.get('title', '')} {passage.get('section') or ''} {passage['text']}"


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1}


def _same_word(a: str, b: str) -> bool:
    """ "cancel" ~ "cancellation" ~ "cancelling", "deliver" ~ "delivery": one is a prefix of the other (4+ letters)."""
    short, long_ = sorted((a, b), key=len)
    return long_.startswith(short) and (len(short) >= 4 or short == long_)


def shared(asked: set[str], words: set[str]) -> int:
    """How many of the question's words the text has."""
    return sum(1 for a in asked if any(_same_word(a, w) for w in words))


def key_sentences(passage: dict[str, Any], asked: set[str], question: str = "") -> str:
    """The passage's sentences that share the most words with the question (at most two, in their order); a sentence
    that states what kind of answer the question wants (a duration for "how long", an amount for "how much") counts
    as one more shared word. A page's introduction about itself ("This page explains...") is the last choice."""
    text = str(passage["text"])
    section = passage.get("section")
    if section and text.startswith(section):
        text = text[len(section) :]
    sentences = [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]
    if not sentences:
        return text.strip()
    shape = next((answer for asks, answer in _ANSWER_SHAPES if asks.search(question.lower())), None)
    overlap = [shared(asked, content_words(s)) + bool(shape and shape.search(s)) for s in sentences]
    ranked = sorted(range(len(sentences)), key=lambda n: ("this page" in sentences[n].lower(), -overlap[n], n))
    chosen = [ranked[0]]
    for n in ranked[1:QUOTE_SENTENCES]:
        fits = len(sentences[chosen[0]]) + len(sentences[n]) <= MAX_QUOTE_CHARS
        if overlap[n] and fits and "this page" not in sentences[n].lower():
            chosen.append(n)
    return " ".join(sentences[n] for n in sorted(chosen))
