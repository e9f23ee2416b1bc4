"""The tools node: runs the one tool call a specialist proposed, with identity from state, never from the model.

Every call first passes the tool-call rails (``guardrails.tool_rails``): a trip becomes a tool error the model can
explain, nothing runs, and the trip is appended to ``rail_trips``.

Consequential tools (``Tool.confirm``) are rehearsed first; the exact result becomes a proposal and the graph
pauses with ``interrupt()``. The action runs only when the customer's next message is an explicit yes for that same
proposal (same fingerprint); anything else cancels it, and a different message is routed as a new request. No means
no: an action the customer just declined is not proposed again in the same turn. Once a human agent has taken the
conversation over, no tool runs at all.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolCall, ToolMessage
from langgraph.types import interrupt

from shopkeep.agents.confirmation import Reply, classify_reply
from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.proposals import Proposal, fingerprint, summarize
from shopkeep.agents.state import ConversationState
from shopkeep.agents.telemetry import tool_span
from shopkeep.agents.toolkit import AGENT_TOOLS, AUTH_TOOLS, HANDOFF_TOOL
from shopkeep.domain import EscalationTicket
from shopkeep.guardrails.base import RailResult
from shopkeep.guardrails.tool_rails import STORED_RECORD_TOOLS, ToolCallCheck
from shopkeep.tools import ToolContext, ToolOutcome

MAX_ASKS = 3
ONE_AT_A_TIME = "Not executed: tools run one at a time. Call it again if it is still needed."
NOT_CONFIRMED = "Not done: the customer did not confirm, so nothing was changed."
REDIRECTED = (
    "Not done: the customer did not confirm; they answered with something else (read next as a new message), so "
    "nothing was changed."
)
JUST_DECLINED = (
    "Not proposed again: the customer just said no to this. Ask what they would like instead; nothing was changed."
)
TARGETS = ("order_id", "user_id")
"""The arguments that say what a consequential call acts on (a declined cancel of one order is not of another)."""
WITH_A_HUMAN = "Not executed: a human agent has taken over this conversation; the assistant acts no more."
GUEST_ORDER_TOOL = "place_order"
"""The one tool besides the login tools that sets the conversation's customer: a guest's order creates them."""


def _message(call: ToolCall, outcome: ToolOutcome) -> ToolMessage:
    return ToolMessage(
        content=outcome.text,
        tool_call_id=call["id"],
        name=call["name"],
        status="success" if outcome.ok else "error",
        artifact={"ok": outcome.ok, "arguments": call["args"]},
    )


def _refusal(call: ToolCall, text: str) -> ToolMessage:
    return ToolMessage(
        content=f"Error: {text}",
        tool_call_id=call["id"],
        name=call["name"],
        status="error",
        artifact={"ok": False, "arguments": call["args"]},
    )


def _rail_refusal(call: ToolCall, trip: RailResult) -> ToolMessage:
    """A tripped rail reads like a tool error (the model explains it); the artifact names the rail."""
    return ToolMessage(
        content=f"Error: {trip.text}",
        tool_call_id=call["id"],
        name=call["name"],
        status="error",
        artifact={"ok": False, "arguments": call["args"], "rail": trip.name},
    )


def tools_node(deps: AgentDeps) -> Any:
    def run(state: ConversationState) -> dict[str, Any]:
        last = state["messages"][-1]
        assert isinstance(last, AIMessage) and last.tool_calls
        call, *extra = last.tool_calls
        messages: list[Any] = [_refusal(c, ONE_AT_A_TIME) for c in extra]
        agent = state.get("active_agent") or "orders"
        ctx = ToolContext(
            store=deps.store,
            scope="customer",
            customer_id=state.get("customer_id"),
            conversation_id=state.get("conversation_id"),
            cart_id=state.get("cart_id"),
            retrieval=deps.retrieval,
            currency=deps.currency(),
        )
        updates: dict[str, Any] = {}
        if state.get("mode") == "human":
            messages.insert(0, _refusal(call, WITH_A_HUMAN))
            return {"messages": messages}
        if call["name"] not in AGENT_TOOLS[agent]:
            messages.insert(0, _refusal(call, f"Tool '{call['name']}' is not available to the {agent} agent."))
            return {"messages": messages}
        tool = deps.registry.get(call["name"])
        said, stored = _conversation_sources(state)
        trip = deps.tool_rails.check(ToolCallCheck(tool, call["args"], ctx, said=said, stored=stored))
        if trip is not None:
            # A confirmable call trips before its proposal, so the customer is never asked about what cannot run.
            messages.insert(0, _rail_refusal(call, trip))
            return {"messages": messages, "rail_trips": [trip.event()]}
        if tool.confirm and _declined_this_turn(state, call):
            messages.insert(0, _refusal(call, JUST_DECLINED))
            return {"messages": messages}
        if tool.confirm:
            messages[:0], updates = _confirm_then_run(deps, ctx, call)
            return {"messages": messages, **updates}
        outcome = _execute(deps, call, ctx)
        messages.insert(0, _message(call, outcome))
        if outcome.ok and call["name"] in AUTH_TOOLS:
            updates["customer_id"] = outcome.output
        if outcome.ok and call["name"] == HANDOFF_TOOL:
            _open_ticket(deps, state, str(call["args"].get("summary", "")))
            updates["mode"] = "human"
        return {"messages": messages, **updates}

    return run


def _execute(deps: AgentDeps, call: ToolCall, ctx: ToolContext, *, rehearsal: bool = False) -> ToolOutcome:
    """One tool call, in its ``execute_tool`` span (a proposal's dry run is one too, marked as a rehearsal)."""
    with tool_span(call["name"], call.get("id"), rehearsal=rehearsal) as report:
        outcome = deps.registry.call(call["name"], call["args"], ctx)
        report(outcome.ok)
    return outcome


def _declined_this_turn(state: ConversationState, call: ToolCall) -> bool:
    """The customer said no to this tool on this target since their last message: no means no, not "ask again"."""
    for message in reversed(state["messages"]):
        if isinstance(message, HumanMessage):
            return False
        if (
            isinstance(message, ToolMessage)
            and message.name == call["name"]
            and message.content == f"Error: {NOT_CONFIRMED}"
            and all((message.artifact or {}).get("arguments", {}).get(k) == call["args"].get(k) for k in TARGETS)
        ):
            return True
    return False


def _conversation_sources(state: ConversationState) -> tuple[str, str]:
    """What the customer wrote, and what the store returned of their records, in this conversation so far."""
    said = "\n".join(str(m.content) for m in state["messages"] if isinstance(m, HumanMessage))
    stored = "\n".join(
        str(m.content)
        for m in state["messages"]
        if isinstance(m, ToolMessage) and m.name in STORED_RECORD_TOOLS and m.status == "success"
    )
    return said, stored


def _propose(deps: AgentDeps, ctx: ToolContext, call: ToolCall) -> Proposal | ToolOutcome:
    rehearsed = _execute(deps, call, replace(ctx, store=deps.store.rehearsal()), rehearsal=True)
    if not rehearsed.ok:
        return rehearsed
    summary = summarize(call["name"], call["args"], rehearsed.output, deps.store, ctx.currency)
    return Proposal(
        fingerprint=fingerprint(call["name"], call["args"], rehearsed.output),
        tool=call["name"],
        arguments=call["args"],
        summary=summary,
        preview=rehearsed.output,
    )


def _confirm_then_run(deps: AgentDeps, ctx: ToolContext, call: ToolCall) -> tuple[list[Any], dict[str, Any]]:
    """Ask (and re-ask when the answer is unclear or the details changed); run only on a yes to this proposal."""
    for _ in range(MAX_ASKS):
        proposal = _propose(deps, ctx, call)
        if isinstance(proposal, ToolOutcome):
            return [_message(call, proposal)], {}
        answer = interrupt(proposal.model_dump(mode="json"))
        text = str(answer.get("text", "")) if isinstance(answer, dict) else str(answer)
        confirmed_fingerprint = answer.get("fingerprint") if isinstance(answer, dict) else None
        verdict = classify_reply(text, tool=call["name"], proposal=proposal.summary)
        if verdict is Reply.UNCLEAR:
            continue
        if verdict is Reply.YES:
            if confirmed_fingerprint not in (None, proposal.fingerprint):
                continue  # the customer said yes to something else: show the current proposal again
            outcome = _execute(deps, call, ctx)
            return [_message(call, outcome)], {"last_proposal": None, **_guest_became_customer(ctx, outcome)}
        if verdict is Reply.NO:
            return [_refusal(call, NOT_CONFIRMED)], {"last_proposal": None}
        return [_refusal(call, REDIRECTED), HumanMessage(content=text)], {"reroute": True, "last_proposal": None}
    return [_refusal(call, NOT_CONFIRMED)], {"last_proposal": None}


def _guest_became_customer(ctx: ToolContext, outcome: ToolOutcome) -> dict[str, Any]:
    """A guest's placed order created their account: the conversation is that customer's from now on (identity is
    still set only by typed code, from the tool's own result)."""
    if ctx.customer_id is not None or not outcome.ok or outcome.name != GUEST_ORDER_TOOL:
        return {}
    customer_id = outcome.output.get("customer_id") if isinstance(outcome.output, dict) else None
    return {"customer_id": customer_id} if isinstance(customer_id, str) else {}


def _open_ticket(deps: AgentDeps, state: ConversationState, summary: str) -> None:
    now = datetime.now(UTC)
    ticket = EscalationTicket(
        ticket_id=f"T-{uuid.uuid4().hex[:10]}",
        conversation_id=state.get("conversation_id", ""),
        customer_id=state.get("customer_id"),
        reason=state.get("intent") or "handoff",
        summary=summary or "The customer asked for a human agent.",
        created_at=now,
        updated_at=now,
    )
    with deps.store.session(write=True) as session:
        session.save_ticket(ticket)
