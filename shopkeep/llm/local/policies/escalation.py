"""Escalation: hand the conversation to a human agent with a summary, then tell the customer."""

from __future__ import annotations

from shopkeep.llm.local.dialog import Dialog
from shopkeep.llm.local.policies.base import Call, Say, Step

HANDOFF_TOOL = "transfer_to_human_agents"


def summary_of(dialog: Dialog) -> str:
    """What a human agent needs first: who, what they asked for, and what was already done."""
    asked = " / ".join(t.text for t in dialog.turns[-3:])
    done = ", ".join(f"{e.name}({'ok' if e.ok else 'failed'})" for e in dialog.events[-5:]) or "nothing yet"
    who = dialog.customer_id or "not verified"
    return f"Customer: {who}. Asked: {asked[:600]}. Tools so far: {done}."


def decide(dialog: Dialog) -> Step:
    event = dialog.just_ran_tool
    if event is not None and event.name == HANDOFF_TOOL:
        if not event.ok:
            return Say(dialog.reply("escalation.unreachable"))
        if dialog.shop.support_hours:
            return Say(dialog.reply("escalation.handed_off"))
        return Say(dialog.reply("escalation.handed_off_any_time"))
    return Call(HANDOFF_TOOL, {"summary": summary_of(dialog)})
