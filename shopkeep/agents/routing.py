"""The local router: the intent of the customer's message picks the specialist (see data/nlu/TAXONOMY.md).

Messages that only answer a question ("yes", an email, an order id) or that the classifier is unsure about stay
with the specialist that asked (or the one already in charge), so a flow is never dropped because of a short
answer. A question about how things work ("what's your refund policy?", "do gift cards expire?") is never a request
to do them: it goes to the knowledge answers of support, even in the middle of another flow.
"""

from __future__ import annotations

import re
from typing import cast

from langchain_core.messages import AIMessage

from shopkeep.agents.deps import Route
from shopkeep.agents.state import AGENTS, AgentName, ConversationState
from shopkeep.llm.local.dialog import analyze, asks_for_answer, expected_after
from shopkeep.llm.local.nlu import NLU, NLUResult
from shopkeep.llm.local.policies._shop import CHANGE_QUANTITY, POLICY_QUESTION
from shopkeep.llm.local.policies.base import ADD, HUMAN, IDENTITY
from shopkeep.llm.local.policies.flow import asks_own_record
from shopkeep.llm.local.split import split_requests

STAY_INTENTS = frozenset({"affirm", "deny", "authenticate", "out_of_scope", "chitchat", "thanks"})
STAY_BELOW_CONFIDENCE = 0.55
ANSWER_WORDS = 12
SWITCH_WHILE_ANSWERING = 0.85
# Agents whose flows answer policy questions themselves and then carry on (checkout's asides, the shopping dialog's
# knowledge answers): a general question asked while they are in charge stays with them.
ANSWER_ASIDES = frozenset({"checkout", "catalog", "cart"})
# Agents whose intents start flows that need the customer's identity: a general question about them is support's.
VERIFYING_AGENTS = frozenset({"orders", "account"})


SHOPPING = frozenset({"catalog", "cart"})
LEAVING_SHOPPING_FOR = frozenset({"checkout", "orders", "account"})
NOT_LEAVING = frozenset({"change_payment_method", "payment_issue", "authenticate"})
"""Intents of those agents that a shopping answer can read as ("my visa" is no change of an order's payment)."""
NEW_REQUEST_CONFIDENCE = 0.6
IDENTIFYING = frozenset({"email", "person_name", "zip", "user_id"})
SHOPPING_ANSWERS = frozenset({"product", "option", "quantity", "price_range", "money"})
# Questions the policy answers the same for every order: naming one ("is there a fee if I cancel #W...?") does not
# make them a request to act on it.
POLICY_ANSWERS = frozenset({"check_cancellation_fee"})
ORDER_TASK_WORDS = re.compile(
    r"\b(cancel\w*|cancle\w*|cansel\w*|return\w*|refund\w*|exchang\w*|swap|send (?:it|them) back|track\w*)\b",
    re.IGNORECASE,
)
"""A task on an order named outright: with an order, a product or a reason in the message, it is the orders
specialist's even when the classifier cannot place the whole message ("juan gonzalez zip 32182. please cancel my
order with the camera, ordered by mistake")."""
ORDER_DETAILS = frozenset({"order_id", "product", "cancel_reason", "person_name", "email"})
SHOPPING_REQUEST = re.compile(
    r"\b(do you (?:have|sell|carry|stock)|looking for|show me|recommend|suggest|add\b.*\bcart|buy|purchase|shop for|"
    r"in stock)\b",
    re.IGNORECASE,
)
"""Words that start shopping even in the middle of an order task; products named without them are about the order."""
PLACED_ORDER = re.compile(r"\b(orders?|purchases?|bought|ordered)\b", re.IGNORECASE)
"""A payment change about an order already placed ("switch the payment on my last order to paypal"), not the choice
of how to pay for the cart at checkout."""


def _changes_cart_quantity(result: NLUResult) -> bool:
    return not result.entities_of("order_id") and CHANGE_QUANTITY.search(result.text) is not None


def _asking_agent(state: ConversationState) -> AgentName | None:
    """The agent whose specific question the assistant's last reply asked (None for an open "anything else?")."""
    for message in reversed(state.get("messages", [])[:-1]):
        if isinstance(message, AIMessage) and message.content:
            if not asks_for_answer(str(message.content)):
                return None
            agent = message.response_metadata.get("agent")
            return cast(AgentName, agent) if agent in AGENTS else state.get("active_agent")
    return None


class LocalRouter:
    def __init__(self, nlu: NLU) -> None:
        self._nlu = nlu

    def route(self, text: str, state: ConversationState) -> Route:
        """The specialist for the message; for a message holding two requests, the first one's, the second
        queued."""
        parts = None if state.get("queued_request") else split_requests(self._nlu, text)
        if parts is None:
            return self._route(text, state)
        first = self._route(parts[0], state)
        return Route(agent=first.agent, intent=first.intent, confidence=first.confidence, queued=parts[1])

    def _route(self, text: str, state: ConversationState) -> Route:
        result = analyze(self._nlu, text)  # the brain reads the same message: analyzed once
        active = state.get("active_agent")
        asking = _asking_agent(state)
        expects = expected_after(state.get("messages", [])[:-1])
        if expects == HUMAN and result.intent not in ("affirm", "deny") and result.confidence >= SWITCH_WHILE_ANSWERING:
            # The offer of a human is a yes/no question: "show me kettles" after it is a new request, not an answer.
            asking = None
        agent = self._nlu.taxonomy.agent_for(result.intent)
        named = {e.type for e in result.entities}
        wants_human = self._nlu.taxonomy.agent_for(result.intent) == "escalation"
        if (
            expects == IDENTITY
            and asking is not None
            and named & IDENTIFYING
            and "order_id" not in named
            and not wants_human
        ):
            # who the customer is, asked for a request that waits on it: the answer goes back to that request's agent,
            # however the classifier reads a long introduction
            return Route(agent=asking, intent=result.intent, confidence=result.confidence)
        if asking in SHOPPING and self._new_request(result, agent):
            # "ok let me check out" or "actually I need to cancel an order" after "Would you like details on one of
            # them?": the shopping question is left, not answered
            asking = None
        if self._knowledge_question(result):
            agent = active if active in ANSWER_ASIDES else "support"
        elif active is not None and (
            result.intent in STAY_INTENTS
            or result.confidence < STAY_BELOW_CONFIDENCE
            or (
                asking is not None and (len(text.split()) <= ANSWER_WORDS or result.confidence < SWITCH_WHILE_ANSWERING)
            )
        ):
            agent = asking or active
        if asking in VERIFYING_AGENTS and agent in SHOPPING and not SHOPPING_REQUEST.search(text):
            agent = asking  # "the tea kettle and the green backpack, we don't need them" answers the orders question
        unplaced = agent not in AGENTS or agent == "support"
        if unplaced and self._order_task_named(result):
            agent = "orders"
        elif unplaced and self._product_named(result):
            agent = "catalog"  # "tell me more about the boots" read as nothing in particular: it is about the boots
        if agent in SHOPPING and result.intent == "affirm" and expects == ADD:
            agent = "cart"  # a yes to "Shall I add it to your cart?" is the cart's to carry out
        if active in SHOPPING and agent == "orders" and _changes_cart_quantity(result):
            agent = active  # "change the kettles to 1" while shopping is about the cart, not an order
        if (
            result.entities_of("order_id")
            and agent in ("account", "support", "catalog", "cart", "checkout")
            and result.intent not in POLICY_ANSWERS
        ):
            agent = "orders"  # a message naming an order is about that order, whatever else it says
        if agent == "checkout" and result.intent == "change_payment_method" and self._placed_order(result, state):
            agent = "orders"
        if agent != "orders" and asks_own_record(text) and not result.general_question:
            agent = "orders"  # "which card did I pay my last order with?": read from the customer's orders
        if agent not in AGENTS:
            agent = "account" if result.intent == "authenticate" else "support"
        return Route(agent=cast(AgentName, agent), intent=result.intent, confidence=result.confidence)

    def _new_request(self, result: NLUResult, agent: str | None) -> bool:
        """A request for a task of checkout, orders or account, read with confidence, that no shopping question
        could be answered by (it names no product, option, quantity or price)."""
        if agent not in LEAVING_SHOPPING_FOR or result.intent in NOT_LEAVING or result.general_question:
            return False
        if result.confidence < NEW_REQUEST_CONFIDENCE or self._nlu.taxonomy.handling_for(result.intent) != "tool_flow":
            return False
        return not {e.type for e in result.entities} & SHOPPING_ANSWERS

    @staticmethod
    def _placed_order(result: NLUResult, state: ConversationState) -> bool:
        """Changing how an order already placed is paid is the orders specialist's task; during a checkout, "pay
        the order with paypal" is the choice for the order being placed."""
        if state.get("active_agent") == "checkout":
            return False
        return state.get("active_agent") == "orders" or PLACED_ORDER.search(result.text) is not None

    @staticmethod
    def _order_task_named(result: NLUResult) -> bool:
        unsure = result.clarify and result.reason not in ("other_language", "gibberish", "empty")
        named = {e.type for e in result.entities} & ORDER_DETAILS
        return unsure and bool(named) and ORDER_TASK_WORDS.search(result.text) is not None

    @staticmethod
    def _product_named(result: NLUResult) -> bool:
        unsure = result.clarify and result.reason not in ("other_language", "gibberish", "empty")
        return unsure and bool(result.entities_of("product")) and POLICY_QUESTION.search(result.text) is None

    def _knowledge_question(self, result: NLUResult) -> bool:
        """A general question about what an identity-bound flow (orders, account) does, or about a policy."""
        if not result.general_question or result.entities_of("order_id"):
            return False
        agent = self._nlu.taxonomy.agent_for(result.intent)
        return agent in VERIFYING_AGENTS or self._nlu.taxonomy.handling_for(result.intent) == "knowledge"
