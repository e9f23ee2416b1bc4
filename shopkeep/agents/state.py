"""The conversation's graph state: small, typed, and the only memory a conversation has (it is checkpointed)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

AgentName = Literal["catalog", "cart", "checkout", "orders", "account", "support", "escalation"]
AGENTS: tuple[AgentName, ...] = ("catalog", "cart", "checkout", "orders", "account", "support", "escalation")


class ConversationState(TypedDict, total=False):
    """What the graph carries between nodes and turns.

    ``customer_id`` is set only by the tools node after a successful authentication tool; nothing a model writes
    can set it. ``mode`` is ``human`` once the conversation is handed to a person: the bot then stays silent; the
    person gives it back (``bot``, with ``handback``: their name and note for the bot's next turns) or closes it
    (``closed``). ``rail_trips`` are the conversation's guardrail trips (``RailResult.event()``), appended by any node
    (its update lists only its new trips); the service records each turn's new ones as events.
    """

    messages: Annotated[list[AnyMessage], add_messages]
    conversation_id: str
    customer_id: str | None
    cart_id: str
    active_agent: AgentName | None
    intent: str | None
    confidence: float
    mode: Literal["bot", "human", "closed"]
    handback: dict[str, Any] | None
    locale: str
    variant: str | None
    steps: int
    notices: list[str]
    rail_trips: Annotated[list[dict[str, Any]], operator.add]
    reroute: bool
    last_proposal: dict[str, Any] | None
    queued_request: str | None
    """The second of two requests in one customer message, taken up once the first is done (see
    ``shopkeep.llm.local.split``)."""
