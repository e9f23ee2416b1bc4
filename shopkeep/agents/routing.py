"""The local router: the intent of the customer's message picks the specialist (see data/nlu/TAXONOMY.md).

Messages that only answer a question ("yes", an email, an order id) or that the classifier is unsure about stay
with the specialist already in charge, so a flow is never dropped because of a short answer.
"""

from __future__ import annotations

from typing import cast

from langchain_core.messages import AIMessage

from shopkeep.agents.deps import Route
from shopkeep.agents.state import AGENTS, AgentName, ConversationState
from shopkeep.llm.local.dialog import asks_for_answer
from shopkeep.llm.local.nlu import NLU

STAY_INTENTS = frozenset({"affirm", "deny", "authenticate", "out_of_scope", "chitchat", "thanks"})
STAY_BELOW_CONFIDENCE = 0.55
ANSWER_WORDS = 12
SWITCH_WHILE_ANSWERING = 0.85


def _asked_a_question(state: ConversationState) -> bool:
    """The assistant's last reply asked something specific, so the new message most likely answers it."""
    for message in reversed(state.get("messages", [])[:-1]):
        if isinstance(message, AIMessage) and message.content:
            return asks_for_answer(str(message.content))
    return False


class LocalRouter:
    def __init__(self, nlu: NLU) -> None:
        self._nlu = nlu

    def route(self, text: str, state: ConversationState) -> Route:
        result = self._nlu.analyze(text)
        active = state.get("active_agent")
        agent = self._nlu.taxonomy.agent_for(result.intent)
        if active is not None and (
            result.intent in STAY_INTENTS
            or result.confidence < STAY_BELOW_CONFIDENCE
            or (
                _asked_a_question(state)
                and (len(text.split()) <= ANSWER_WORDS or result.confidence < SWITCH_WHILE_ANSWERING)
            )
        ):
            agent = active
        if result.entities_of("order_id") and agent in ("account", "support", "catalog", "cart", "checkout"):
            agent = "orders"  # a message naming an order is about that order, whatever else it says
        if agent not in AGENTS:
            agent = "account" if result.intent == "authenticate" else "support"
        return Route(agent=cast(AgentName, agent), intent=result.intent, confidence=result.confidence)
