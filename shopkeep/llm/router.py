"""Routing by an LLM (``SHOPKEEP_LLM__ROUTER=llm``): the router prompt and one ``route`` tool call per message.

The model sees the router prompt and the last few customer and assistant messages (never tool results), and must
call ``route`` with one of the specialists. Anything else (no call, an unknown agent, a failure) falls back to the
offline intent router, so routing never stops a conversation.
"""

from __future__ import annotations

from typing import Any, cast

import structlog
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from shopkeep.agents.deps import Route, Router
from shopkeep.agents.state import AGENTS, AgentName, ConversationState
from shopkeep.llm.prompts import PromptRegistry

log = structlog.get_logger(__name__)

CONTEXT_MESSAGES = 6
ROUTE_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "route",
        "description": "Send the customer's latest message to the specialist that should answer it.",
        "parameters": {
            "type": "object",
            "properties": {
                "agent": {"type": "string", "enum": list(AGENTS)},
                "intent": {"type": "string", "description": "The customer's intent in a few words."},
            },
            "required": ["agent"],
        },
    },
}


def _context(messages: list[Any]) -> list[BaseMessage]:
    said = [
        m
        for m in messages
        if isinstance(m, HumanMessage) or (isinstance(m, AIMessage) and m.content and not m.tool_calls)
    ]
    return [
        HumanMessage(content=str(m.content)) if isinstance(m, HumanMessage) else AIMessage(content=str(m.content))
        for m in said[-CONTEXT_MESSAGES:]
    ]


class LLMRouter:
    def __init__(self, model: BaseChatModel, prompts: PromptRegistry, fallback: Router) -> None:
        self._model = model.bind_tools([ROUTE_TOOL])
        self._prompts = prompts
        self._fallback = fallback

    def route(self, text: str, state: ConversationState) -> Route:
        system = self._prompts.resolve("router", state.get("conversation_id"), state.get("variant"))
        messages = _context(list(state.get("messages", []))) or [HumanMessage(content=text)]
        try:
            reply = self._model.invoke([system.system_message(), *messages])
        except Exception as exc:  # routing must not fail a turn: the offline router decides instead
            log.warning("llm_router_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            return self._fallback.route(text, state)
        calls = [c for c in reply.tool_calls if c["name"] == "route"]
        agent = calls[0]["args"].get("agent") if calls else None
        if agent not in AGENTS:
            log.info("llm_router_no_decision", agent=agent)
            return self._fallback.route(text, state)
        intent = str(calls[0]["args"].get("intent") or "llm_routed")
        return Route(agent=cast(AgentName, agent), intent=intent, confidence=1.0)
