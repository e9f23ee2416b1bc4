"""The account specialist: identify the customer, show the profile or gift card balances, change the default
address, and hand an account deletion to a human colleague (the assistant cannot delete accounts). Each request is
a flow of ``data/flows/`` whose agent is ``account`` (their answers: ``policies/account_answers.py``); the change
of the default address is the orders specialist's flow ``user_address``."""

from __future__ import annotations

from shopkeep.llm.local.dialog import Dialog, Turn
from shopkeep.llm.local.flows import Flow
from shopkeep.llm.local.policies import escalation, flow, orders
from shopkeep.llm.local.policies.base import Say, Step
from shopkeep.llm.local.policies.identity import identify

AGENT = "account"
REQUEST_CONFIDENCE = 0.6


def decide(dialog: Dialog) -> Step:
    event = dialog.just_ran_tool
    if event is not None and flow.writes(event):
        return orders.decide(dialog)
    if event is not None and event.name == escalation.HANDOFF_TOOL:
        return escalation.decide(dialog)
    step = identify(dialog)
    if step is not None:
        return step
    task = flow.active_task(dialog)
    if task is not None and task.kind == "user_address":
        return orders.decide(dialog)
    request = _request(dialog)
    if request is not None:
        started = _account_flow(request)
        return flow.run(dialog, flow.Task(started.name if started else flow.PROFILE_FLOW, request))
    if event is not None and event.name.startswith("find_user_id") and event.ok:
        return Say(dialog.reply("account.verified_now"))
    return Say(dialog.reply("account.verified"))


def _account_flow(turn: Turn) -> Flow | None:
    return flow.flows().for_intent(turn.nlu.intent, agent=AGENT)


def _request(dialog: Dialog) -> Turn | None:
    """The account request the customer is waiting on: one an account flow's intent names (a hand-off, a gift
    card balance), or a question about their own account ("what's my default address?", "show me my profile").
    Messages that only identify the customer are skipped; anything else ends the search."""
    for turn in reversed(dialog.turns):
        nlu = turn.nlu
        if nlu.intent == "authenticate" or (turn.answering and turn.short and _identifies(turn)):
            continue
        sure = nlu.confidence >= REQUEST_CONFIDENCE
        if sure and _account_flow(turn) is not None and not nlu.general_question:
            return turn
        if nlu.act == "own_question":
            return turn
        return None
    return None


def _identifies(turn: Turn) -> bool:
    return any(e.type in ("email", "person_name", "zip", "user_id") for e in turn.nlu.entities)
