"""The flow interpreter runs a flow file as written, on the real tools of a seeded store: an order in a status the
flow does not allow gets the flow's ``refused`` reply, a flow ``becomes`` another on the order's status (its slots
kept), and the tool call's arguments come from the slots the file names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopkeep.llm.local.nlu import NLU
from shopkeep.llm.local.policies import account
from shopkeep.llm.local.policies.base import Call, Say, Step
from shopkeep.llm.local.policies.flow import Task, active_task, flows, run
from shopkeep.store import SqlCommerceStore
from shopkeep.tools import ToolContext, ToolKind, retail_registry
from tests.conftest import fresh_sqlite_store
from tests.support.dialogs import Conversation, ToolError, demo_reply

EMMA = "emma_smith_8564"
DELIVERED_CAMERA_ORDER = "#W5605613"
PENDING_LAPTOP_ORDER = "#W2417020"
REGISTRY = retail_registry()


@pytest.fixture
def store(sqlite_template: Path, tmp_path: Path) -> Iterator[SqlCommerceStore]:
    opened = fresh_sqlite_store(sqlite_template, tmp_path)
    yield opened
    opened.close()


def _run_flow(kind: str, text: str, store: SqlCommerceStore, nlu: NLU) -> Step:
    """Run the flow ``kind`` started by ``text`` (Emma verified), answering its read calls with the real tools,
    until it speaks or calls a write tool."""
    talk = Conversation().tool("find_user_id_by_email", {"email": "emma.smith3991@example.com"}, EMMA).user(text)
    ctx = ToolContext(store=store)
    for _ in range(10):
        dialog = talk.dialog(nlu, agent="orders")
        step = run(dialog, Task(kind, dialog.turns[-1]))
        if isinstance(step, Say) or REGISTRY.get(step.name).kind is ToolKind.WRITE:
            return step
        outcome = REGISTRY.call(step.name, step.args, ctx)
        talk.tool(step.name, step.args, outcome.output if outcome.ok else ToolError(outcome.text))
    raise AssertionError("the flow neither spoke nor wrote in 10 steps")


def test_an_order_in_a_status_the_flow_does_not_allow_gets_its_refused_reply(store: SqlCommerceStore, nlu: NLU) -> None:
    step = _run_flow("cancel", f"please cancel order {DELIVERED_CAMERA_ORDER}, no longer needed", store, nlu)
    expected = demo_reply(
        "orders.cancel_refused", order_id=DELIVERED_CAMERA_ORDER, status="delivered", needed="pending"
    )
    assert step == Say(expected)
    assert flows()["cancel"].requires.order_status == ("pending",)


def test_a_change_of_items_on_a_delivered_order_becomes_an_exchange(store: SqlCommerceStore, nlu: NLU) -> None:
    step = _run_flow(
        "modify_items",
        f"change the digital camera in order {DELIVERED_CAMERA_ORDER} to the 24MP, 3x zoom, SD card one, use my paypal",
        store,
        nlu,
    )
    assert flows()["modify_items"].becomes == {"delivered": "exchange"}
    assert isinstance(step, Call) and step.name == "exchange_delivered_order_items"
    assert step.args["order_id"] == DELIVERED_CAMERA_ORDER and step.args["item_ids"] == ["7195021808"]
    assert step.args["payment_method_id"] == "paypal_6228291" and step.args["new_item_ids"] == ["5996159312"]


def test_the_tool_call_takes_its_arguments_from_the_slots_the_file_names(store: SqlCommerceStore, nlu: NLU) -> None:
    step = _run_flow("cancel", f"cancel order {PENDING_LAPTOP_ORDER}, I ordered it by mistake", store, nlu)
    assert flows()["cancel"].tool is not None and flows()["cancel"].tool.args == {
        "order_id": "order.order_id",
        "reason": "reason",
    }
    assert step == Call("cancel_pending_order", {"order_id": PENDING_LAPTOP_ORDER, "reason": "ordered by mistake"})


def test_a_missing_slot_is_asked_with_the_flow_s_question(store: SqlCommerceStore, nlu: NLU) -> None:
    step = _run_flow("cancel", f"cancel order {PENDING_LAPTOP_ORDER}", store, nlu)
    assert step == Say(demo_reply("orders.ask_cancel_reason", order_id=PENDING_LAPTOP_ORDER))


def _account_says(text: str, store: SqlCommerceStore, nlu: NLU) -> Step:
    """The account specialist's answer to ``text`` from Emma (verified), its read calls answered by the tools."""
    talk = Conversation().tool("find_user_id_by_email", {"email": "emma.smith3991@example.com"}, EMMA).user(text)
    ctx = ToolContext(store=store)
    for _ in range(5):
        step = account.decide(talk.dialog(nlu, agent="account"))
        if isinstance(step, Say) or step.name == "transfer_to_human_agents":
            return step
        outcome = REGISTRY.call(step.name, step.args, ctx)
        talk.tool(step.name, step.args, outcome.output)
    raise AssertionError("the account specialist did not answer in 5 steps")


def test_the_account_s_requests_run_its_flows(store: SqlCommerceStore, nlu: NLU) -> None:
    assert flows().for_intent("gift_card_balance", agent="account") is flows()["gift_card_balance"]
    balance = _account_says("how much is left on my gift card?", store, nlu)
    assert isinstance(balance, Say) and balance.text.startswith("Your gift card: gift_card_8541487: balance $")
    handed = _account_says("please delete my account", store, nlu)
    assert isinstance(handed, Call) and handed.name == "transfer_to_human_agents"
    own = _account_says("what's my default address?", store, nlu)
    assert isinstance(own, Say) and own.text.startswith("Your account: Emma Smith, emma.smith3991@example.com")


def test_a_flow_that_became_another_ends_with_the_other_s_tool(nlu: NLU) -> None:
    started = f"change the digital camera in order {DELIVERED_CAMERA_ORDER} to the 24MP one"
    talk = Conversation().user(started)
    assert active_task(talk.dialog(nlu, agent="orders")) == Task("modify_items", talk.dialog(nlu).turns[0])
    done = {"order_id": DELIVERED_CAMERA_ORDER, "status": "exchange requested"}
    talk.tool("exchange_delivered_order_items", {"order_id": DELIVERED_CAMERA_ORDER}, done)
    talk.bot(demo_reply("orders.exchange_done", order_id=DELIVERED_CAMERA_ORDER)).user("ok great")
    assert active_task(talk.dialog(nlu, agent="orders")) is None
