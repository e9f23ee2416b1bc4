"""The output guard node: the reply is checked against this conversation's facts before the customer sees it.

The facts are the conversation's tool results and the customer's own messages, the authenticated customer's record
(looked up in the store) and the store policy. A reply that the fixing rails could mend goes out mended; one a
checking rail blocked goes back to its brain once with a note of what was ungrounded (LLM brains only: the local
brain composes from tool results and is deterministic, so a trip there is a bug, logged, never retried); if the
second reply fails too, the customer gets the safe template. Input-rail notices are put in front of the reply.

Proposals never pass here: a turn that pauses for a confirmation ends at the interrupt, and its reply is the
proposal's summary, written by typed code from a rehearsal of the action (``agents.proposals``).
"""

from __future__ import annotations

from typing import Any

import structlog
from langchain_core.messages import AIMessage, SystemMessage

from shopkeep import replies
from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.specialists import INSTRUCTIONS
from shopkeep.agents.state import AgentName, ConversationState
from shopkeep.agents.toolkit import tool_schemas
from shopkeep.guardrails.base import RailResult
from shopkeep.guardrails.facts import Facts, conversation_facts
from shopkeep.guardrails.output import ReplyCheck, check_reply, outcome, reask_note
from shopkeep.llm.local.brain import LocalBrain
from shopkeep.llm.prompts import Policy
from shopkeep.llm.remote import METADATA_KEY

log = structlog.get_logger(__name__)


def store_policy(deps: AgentDeps) -> str:
    """The shop's policy text the brains are given now: the promises it makes are permitted in replies."""
    policy = getattr(deps.prompts, "policy", None)
    return policy.text if isinstance(policy, Policy) else ""


def output_guard_node(deps: AgentDeps) -> Any:
    def run(state: ConversationState) -> dict[str, Any]:
        """Checks the reply, repairs or replaces it, and prepends any notices from the input rails."""
        last = state["messages"][-1]
        if not isinstance(last, AIMessage) or last.tool_calls:
            return {}
        facts = conversation_facts(deps.store, state["messages"], state.get("customer_id"), store_policy(deps))
        check = check_reply(str(last.content), facts, deps.output_rails)
        trips = list(check.trips)
        reply = last
        text = check.text
        if not check.passed:
            reply, text, more = _recover(deps, state, last, check, facts)
            trips += more
        notices = state.get("notices") or []
        if notices:
            text = " ".join([*notices, text])
        update: dict[str, Any] = {"rail_trips": [t.event() for t in trips]}
        if text == last.content and reply is last:
            return update
        # Same id (it replaces the reply), same metadata: the turn's token usage and provenance are kept.
        kept = {"usage_metadata": reply.usage_metadata, "response_metadata": reply.response_metadata}
        return {**update, "messages": [AIMessage(content=text, id=last.id, **kept)]}

    return run


def _recover(
    deps: AgentDeps, state: ConversationState, draft: AIMessage, check: ReplyCheck, facts: Facts
) -> tuple[AIMessage, str, list[RailResult]]:
    """Re-ask the brain once, or fall back to the safe template: (reply message, its text, what was done)."""
    agent = state.get("active_agent")
    # no specialist spoke this turn (the input guard answered): typed code wrote the reply, there is no one to ask
    if agent is None or not state.get("steps") or _deterministic(deps, agent, draft):
        log.warning("output_guard_local_brain_tripped", agent=agent, reasons=[t.reason for t in check.blocking])
        return (
            draft,
            replies.reply("guardrails.ungrounded"),
            [outcome("output_fallback", "safe template (the brain cannot be re-asked)", blocked=True)],
        )
    brain = deps.brains(agent).bind_tools(tool_schemas(deps.registry, agent))
    second = brain.invoke([_system_message(deps, agent, state), *state["messages"], reask_note(check)])
    reply = _with_usage_of(draft, second) if isinstance(second, AIMessage) else draft
    if not isinstance(second, AIMessage) or second.tool_calls or not str(second.content).strip():
        return (
            reply,
            replies.reply("guardrails.ungrounded"),
            [outcome("output_fallback", "safe template (re-asked: no text reply)", blocked=True)],
        )
    recheck = check_reply(str(second.content), facts, deps.output_rails)
    if recheck.passed:
        return reply, recheck.text, [*recheck.trips, outcome("output_reask", "re-asked once: passed", blocked=False)]
    done = outcome("output_fallback", "safe template (re-asked: still ungrounded)", blocked=True)
    return reply, replies.reply("guardrails.ungrounded"), [*recheck.trips, done]


def _deterministic(deps: AgentDeps, agent: AgentName, draft: AIMessage) -> bool:
    """The local brain (or a remote brain's local fallback) wrote the draft: asking again gives the same reply."""
    info = draft.response_metadata.get(METADATA_KEY)
    if isinstance(info, dict):
        return bool(info.get("fallback"))
    return isinstance(deps.brains(agent), LocalBrain)


def _system_message(deps: AgentDeps, agent: AgentName, state: ConversationState) -> SystemMessage:
    """The specialist's own system message, so the second reply is written under the same instructions."""
    if deps.prompts is not None:
        return deps.prompts.system_message(agent, state)
    return SystemMessage(content=INSTRUCTIONS[agent], additional_kwargs={"agent": agent})


def _with_usage_of(draft: AIMessage, second: AIMessage) -> AIMessage:
    """The draft's metadata with the second call's tokens and LLM calls added (the turn's usage stays whole)."""
    usage: dict[str, Any] = dict(draft.usage_metadata or {})
    for key, value in (second.usage_metadata or {}).items():
        if isinstance(value, int):
            usage[key] = int(usage.get(key, 0)) + value
    metadata = dict(draft.response_metadata)
    first, extra = metadata.get(METADATA_KEY), second.response_metadata.get(METADATA_KEY)
    if isinstance(first, dict) and isinstance(extra, dict):
        metadata[METADATA_KEY] = {**first, "llm_calls": int(first.get("llm_calls", 0)) + int(extra.get("llm_calls", 0))}
    kept: dict[str, Any] = {"response_metadata": metadata}
    if usage:
        kept["usage_metadata"] = usage
    return AIMessage(content=draft.content, id=draft.id, **kept)
