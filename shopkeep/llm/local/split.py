"""Two requests in one message ("cancel order #W... and what's your return policy?", "add the boots to my cart and
where is my order #W...?"): where such a message splits into a first request and a second one.

The second is a question of its own ("where is ...", "what's ...", "can you ..."). The router routes the first and
queues the second in the graph state; once the first is done (the assistant's reply waits for nothing), the graph
takes the second up as the customer's next message. A message splits only where both halves read as confident
requests for different specialists and the second names an order or a product of its own, or where the second is a
question about how things work: a single request spread over a conjunction ("return the boots and refund my card",
"add the mat and two kettles") stays whole.
"""

from __future__ import annotations

import re

from shopkeep.llm.local.dialog import analyze
from shopkeep.llm.local.nlu import NLU, NLUResult

_JOIN = re.compile(
    r"(?:[?;!]|\.(?=\s))\s+(?:(?:and|also|plus)\s+)?|,?\s+(?:and(?: also)?|also|plus)\s+(?=\S)", re.IGNORECASE
)
_MIN_WORDS = 3
# The second request is a question of its own ("... and where is my order #W...?"): a fragment after a conjunction
# ("checkout, use my visa and my usual address") or a follow-on demand ("...? tell me the full card number") carries
# on the first.
_QUESTION = re.compile(
    r"^(?:what|what's|whats|where|where's|wheres|when|how|which|who|why|is|are|was|were|can|could|do|does|did|will|"
    r"would|has|have)\b",
    re.IGNORECASE,
)
# A second question that points back ("... broke after a week, can I return it?") continues the first: it is the
# request the first half led up to, not another one.
_POINTS_BACK = re.compile(r"\b(?:it|its|them|they|this|that|these|those|one|ones)\b", re.IGNORECASE)
_CONFIDENCE = 0.6
_NOT_REQUESTS = frozenset(
    {"affirm", "deny", "authenticate", "out_of_scope", "greeting", "goodbye", "thanks", "chitchat", "capabilities"}
)
# catalog and cart share one shopping dialog: "show me kettles and add the black one" is one request
_SAME_DIALOG = {"cart": "catalog"}
# Details of the first request rather than a second one: "... change the kettle to the 2 liter one? charge any
# difference to my visa" says how to pay for it.
_DETAILS = frozenset({"change_payment_method"})
_OBJECTS = ("order_id", "product")


def split_requests(nlu: NLU, text: str) -> tuple[str, str] | None:
    """The message's first and second request, or None when it holds one request."""
    for join in _JOIN.finditer(text):
        first, second = text[: join.start()].strip(), text[join.end() :].strip()
        if len(first.split()) < _MIN_WORDS or len(second.split()) < _MIN_WORDS or not _QUESTION.match(second):
            continue
        if _POINTS_BACK.search(second):
            continue
        a, b = analyze(nlu, first), analyze(nlu, second)
        if not (_request(a) and _request(b)) or a.intent == b.intent or b.intent in _DETAILS:
            continue
        if nlu.taxonomy.handling_for(a.intent) != "tool_flow":
            continue  # a complaint or a story before the request is no request of its own
        if b.general_question or (_dialog(nlu, a) != _dialog(nlu, b) and _names_its_own(a, b)):
            return first, second
    return None


def _names_its_own(first: NLUResult, second: NLUResult) -> bool:
    """A second task names what it is about (an order, a product) and the first does not name it: "... and where
    is my order #W...?" is another request, while "I want to exchange my office chair. Which colours do you have?"
    asks about the exchange's new item, and answering it later, as a request of its own, would lose the exchange."""
    named = {(e.type, str(e.value)) for e in first.entities}
    return any((e.type, str(e.value)) not in named for kind in _OBJECTS for e in second.entities_of(kind))


def _request(result: NLUResult) -> bool:
    return not result.clarify and result.confidence >= _CONFIDENCE and result.intent not in _NOT_REQUESTS


def _dialog(nlu: NLU, result: NLUResult) -> str:
    agent = nlu.taxonomy.agent_for(result.intent)
    return _SAME_DIALOG.get(agent, agent)
