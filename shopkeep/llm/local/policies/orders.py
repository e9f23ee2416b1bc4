"""The orders specialist's dialog policy: status and tracking, cancel, change (address, items, payment), return,
exchange, refunds. Each task is a flow of ``data/flows/`` run by the flow interpreter (``policies/flow.py``):
identify the customer, find the order and the items, collect what the action needs, then call the one write tool
that does it (the graph turns that call into a proposal the customer must confirm).
"""

from __future__ import annotations

from shopkeep.llm.local.dialog import Dialog
from shopkeep.llm.local.policies import escalation, flow, support
from shopkeep.llm.local.policies.base import Say, Step
from shopkeep.llm.local.policies.identity import identify


def decide(dialog: Dialog) -> Step:
    event = dialog.just_ran_tool
    if event is not None and flow.writes(event):
        return flow.after_write(dialog, event)
    last = dialog.last_turn
    if (event is not None and event.name == escalation.HANDOFF_TOOL) or (
        last is not None and support.accepts_human(dialog, last)
    ):
        return escalation.decide(dialog)
    step = identify(dialog)
    if step is not None:
        return step
    task = flow.active_task(dialog)
    if task is None and last is not None and last.nlu.intent in support.SMALL_TALK:
        return support.decide(dialog)
    if task is None:
        return Say(dialog.reply("orders.menu"))
    return flow.run(dialog, task)
