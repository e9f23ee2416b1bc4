"""The τ² eval harness: the end-state reward, the oracle user (first person, answers, confirmations), a run.

The reward is checked with direct tool calls; the conversation loop with the strict scripted model (the only fake,
at the model boundary) and, when the local NLU is there, once with the real local brain (the harness must work;
its pass rate is reported by `shopkeep eval tau2`, not asserted here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from typer.testing import CliRunner, Result

from shopkeep.agents.deps import AgentDeps, Route
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService, ToolCallRecord, TurnResult
from shopkeep.agents.state import ConversationState
from shopkeep.agents.toolkit import agent_registry
from shopkeep.cli.main import app
from shopkeep.evals.tau2 import (
    Action,
    EndState,
    OracleUser,
    StoreTemplate,
    expected_end,
    load_tasks,
    replay,
    reward,
    run_task,
    summarize,
)
from shopkeep.evals.tau2.oracle import DONT_KNOW, GOODBYE, NO, YES
from shopkeep.evals.tau2.phrasing import first_person
from shopkeep.store import SqlCommerceStore
from tests.cli.test_cli import restored_logging
from tests.conftest import TAU2_DIR
from tests.support.scripted_model import ScriptedChatModel, call, say

TASKS = {t.task_id: t for t in load_tasks(TAU2_DIR / "tasks_train.json")}


@pytest.fixture
def template(sqlite_template: Path) -> StoreTemplate:
    return StoreTemplate(sqlite_template)


@pytest.fixture(scope="module")
def db() -> dict[str, Any]:
    """What the oracle knows of the shop: the demo data in τ²'s layout."""
    data: dict[str, Any] = json.loads((TAU2_DIR / "db.json").read_text())
    return data


def turn(reply: str, **fields: Any) -> TurnResult:
    values: dict[str, Any] = {"tool_calls": [], "awaiting_confirmation": False, **fields}
    return TurnResult(conversation_id="c", reply=reply, agent="orders", intent=None, **values)


# The reward ----------------------------------------------------------------------------------------------------


def test_tasks_load_with_their_expected_writes() -> None:
    assert len(TASKS) == 74
    assert [a.name for a in TASKS["113"].expected_writes] == ["cancel_pending_order", "cancel_pending_order"]
    assert TASKS["67"].expected_writes == []


def test_doing_exactly_the_expected_writes_scores_1(template: StoreTemplate, tmp_path: Path) -> None:
    task = TASKS["0"]
    expected = expected_end(template, tmp_path, list(task.actions))
    with template.fresh(tmp_path) as store:
        outcomes = replay(store, task.expected_writes)
        scored = reward(EndState.of(store), expected.state)
    assert [o.ok for o in outcomes] == [True]
    assert (scored.value, scored.diff) == (1, {})


def test_a_wrong_write_scores_0_and_the_diff_names_the_records(template: StoreTemplate, tmp_path: Path) -> None:
    task = TASKS["113"]  # cancel #W5056519 and #W5995614, both "ordered by mistake"
    expected = expected_end(template, tmp_path, list(task.actions))
    with template.fresh(tmp_path) as store:
        replay(store, [Action("cancel_pending_order", {"order_id": "#W5056519", "reason": "no longer needed"})])
        scored = reward(EndState.of(store), expected.state)
    assert scored.value == 0
    assert set(scored.diff) == {"orders"}
    assert set(scored.diff["orders"]) == {"#W5056519", "#W5995614"}
    wrong_reason = {d["path"]: d for d in scored.diff["orders"]["#W5056519"]}["cancel_reason"]
    assert (wrong_reason["actual"], wrong_reason["expected"]) == ("no longer needed", "ordered by mistake")
    assert {d["path"] for d in scored.diff["orders"]["#W5995614"]} >= {"status", "cancel_reason"}


def test_no_writes_on_a_task_without_writes_scores_1(template: StoreTemplate, tmp_path: Path) -> None:
    expected = expected_end(template, tmp_path, list(TASKS["67"].actions))
    with template.fresh(tmp_path) as store:
        untouched = reward(EndState.of(store), expected.state)
        replay(store, [Action("cancel_pending_order", {"order_id": "#W5056519", "reason": "ordered by mistake"})])
        written = reward(EndState.of(store), expected.state)
    assert untouched.value == 1
    assert written.value == 0 and list(written.diff["orders"]) == ["#W5056519"]


def test_a_failing_expected_write_is_ignored_as_in_tau2(template: StoreTemplate, tmp_path: Path) -> None:
    """Task 105's only write fails (gift card too low), so its expected end state is the initial one."""
    expected = expected_end(template, tmp_path, list(TASKS["105"].actions))
    assert [o.ok for o, a in zip(expected.outcomes, TASKS["105"].actions, strict=True) if a.is_write] == [False]
    with template.fresh(tmp_path) as store:
        assert reward(EndState.of(store), expected.state).value == 1


# The oracle: speaking in the first person -----------------------------------------------------------------------

FIRST_PERSON = [
    (
        "You received your order #W2378156 and wish to exchange the mechanical keyboard.",
        "I received my order #W2378156 and I wish to exchange the mechanical keyboard.",
    ),
    ("You are a private person.", "I am a private person."),
    ("You're in a rush and you've previously placed an order.", "I'm in a rush and I've previously placed an order."),
    ("Your goal is to do it yourself, it is yours.", "My goal is to do it myself, it is mine."),
    ("If there is none, you'd go for no backlight.", "If there is none, I'd go for no backlight."),
    ("If the agent asks you for confirmation, say no.", "If you ask me for confirmation, say no."),
    ("The agent's answer tells you that you will pay.", "Your answer tells me that I will pay."),
    ("Ask the agent how much money you can save.", "I ask you how much money I can save."),
    (
        "You want to return the lamp. (Everything but the lamp, but do not reveal it to the agent).",
        "I want to return the lamp.",
    ),
    (
        "The correct hose item id is 5206946487 (do not share this with the agent). You do not want to cancel.",
        "I do not want to cancel.",
    ),
    (".You are angry about the skateboards.", "I am angry about the skateboards."),
]


@pytest.mark.parametrize(("instruction", "said"), FIRST_PERSON)
def test_the_reason_for_calling_is_said_in_the_first_person(instruction: str, said: str) -> None:
    assert first_person(instruction) == said


def test_the_opening_never_says_a_hidden_item_id(db: dict[str, Any]) -> None:
    opening = OracleUser(TASKS["29"], db).opening()
    assert opening.startswith("I want to exchange my skateboard for a shorter bamboo material one.")
    assert "5206946487" not in opening


# The oracle: answering the agent --------------------------------------------------------------------------------

ANSWERS = [
    (
        "6",
        "Could you please provide your email address, or your name and zip code?",
        "I don't remember my email address. My name is Mei Kovacs and my zip code is 28236.",
    ),
    ("6", "What's your zip code?", "My zip code is 28236."),
    ("0", "To verify your identity, what is your first and last name?", "My name is Yusuf Rossi."),
    ("80", "Can I have your email to locate your account?", "My email is amelia.gonzalez4271@example.com."),
    ("6", "Which order is it about?", "It's order #W6390527."),
    ("6", "Which item would you like to exchange?", "The Desk Lamp (white, medium, USB)."),
    (
        "6",
        "What would you like to exchange it for?",
        "I'd like the Desk Lamp (silver, low, battery).",
    ),
    (
        "0",
        "Which options would you like for the new items?",
        "I'd like the Mechanical Keyboard (clicky, none, full size) and the Smart Thermostat (Google Assistant, "
        "black).",
    ),
    (
        "0",
        "The clicky keyboard with RGB backlight is out of stock. Which backlight: none or white?",
        "I'd like the Mechanical Keyboard (clicky, none, full size) and the Smart Thermostat (Google Assistant, "
        "black).",
    ),
    ("6", "Which payment method should I use for any price difference?", "Please use my PayPal."),
    ("0", "How would you like to pay the difference?", "Please use the Mastercard ending in 2478."),
    ("80", "Should the difference go to a card or your gift card?", "Please use my gift card."),
    ("113", "May I know the reason for the cancellation?", "I ordered it by mistake."),
    ("22", "What is the new address?", "The address is 101 Highway, New York, NY 10001, USA."),
    (
        "2",
        "Thanks. Is there anything else I can help you with?",
        "I'd like to return the Vacuum Cleaner (robotic, bagged, cordless), the Headphones (over-ear, wireless, "
        "blue) and the Smart Watch (gold, leather, LCD) from order #W2378156, refunded to the Mastercard ending in "
        "2478.",
    ),
    ("67", "Your last order was $1,236.40. Is there anything else I can help you with?", GOODBYE),
    (
        "6",
        "Sorry, I can only help with shopping at this store. Could you rephrase what you need?",
        "I'd like to exchange the Desk Lamp (white, medium, USB) for Desk Lamp (silver, low, battery) from order "
        "#W6390527, paying any difference with my PayPal.",
    ),
    (
        "113",
        "Great. What would you like to do next?",
        "I'd like to cancel order #W5056519 because I ordered it by mistake.",
    ),
    ("63", "I can cancel order #W5061109. May I ask why: is it no longer needed, or ordered by mistake?", DONT_KNOW),
    (
        "78",
        "What is the new shipping address for order #W5995614?",
        "For order #W5056519: the address is 380 Maple Drive, Suite 960, San Diego, CA 92101, USA.",
    ),
    (
        "78",
        "All right, I haven't changed anything. What would you like to do instead?",
        "I'd like to change the shipping address of order #W5056519 to 380 Maple Drive, Suite 960, San Diego, CA "
        "92101, USA.",
    ),
    ("6", "What is the capital of France?", DONT_KNOW),
    ("6", "Would you like me to transfer you to a human agent?", NO),
]


@pytest.mark.parametrize(("task_id", "question", "answer"), ANSWERS)
def test_the_oracle_answers_only_from_its_task(db: dict[str, Any], task_id: str, question: str, answer: str) -> None:
    assert OracleUser(TASKS[task_id], db).respond(turn(question)) == answer


def test_answers_never_carry_item_or_payment_ids(db: dict[str, Any]) -> None:
    questions = [q for _, q, _ in ANSWERS] + ["Anything else?"] * 3
    for task in TASKS.values():
        oracle = OracleUser(task, db)
        said = " ".join(str(oracle.respond(turn(q))) for q in questions if not oracle.finished)
        ids = [
            i
            for a in task.expected_writes
            for i in (*a.arguments.get("item_ids", []), *a.arguments.get("new_item_ids", []))
        ]
        assert not [i for i in ids if i in said], task.task_id
        assert "credit_card_" not in said and "paypal_" not in said and "gift_card_" not in said, task.task_id


def test_a_second_ask_for_the_email_gets_the_next_one(db: dict[str, Any]) -> None:
    oracle = OracleUser(TASKS["35"], db)
    assert oracle.respond(turn("What is your email?")) == "My email is aarav.santos8321@example.com."
    again = oracle.respond(turn("I couldn't find that account. Could you double-check your email?"))
    assert again == "My email is aarav.santos8320@example.com."


def test_when_every_email_failed_the_name_and_zip_come_next(db: dict[str, Any]) -> None:
    oracle = OracleUser(TASKS["37"], db)
    assert oracle.respond(turn("What is your email?")) == "My email is daikisanchez1479@example.com."
    again = oracle.respond(turn("I couldn't find it. Your email, or your name and zip code?"))
    assert again == "My name is Daiki Sanchez and my zip code is 46236."


def test_the_oracle_hangs_up_on_a_handoff_and_after_goodbye(db: dict[str, Any]) -> None:
    oracle = OracleUser(TASKS["6"], db)
    transfer = ToolCallRecord(name="transfer_to_human_agents", arguments={"summary": "x"}, ok=True)
    assert oracle.respond(turn("A colleague will take over.", tool_calls=[transfer])) is None
    assert oracle.finished
    human = OracleUser(TASKS["6"], db)
    assert human.respond(turn("", mode="human")) is None
    done = OracleUser(TASKS["67"], db)
    assert done.respond(turn("Anything else?")) == GOODBYE
    assert done.respond(turn("Goodbye!")) is None


# The oracle: confirmations --------------------------------------------------------------------------------------


def proposal(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"fingerprint": "f" * 16, "tool": tool, "arguments": arguments, "summary": "…", "preview": None}


EXCHANGE_0 = {
    "order_id": "#W2378156",
    "item_ids": ["1151293680", "4983901480"],
    "new_item_ids": ["7706410293", "7747408585"],
    "payment_method_id": "credit_card_9513926",
}
ADDRESS_22 = {"address1": "101 Highway", "address2": "", "city": "New York", "state": "NY", "country": "USA"}
CONFIRMATIONS = [
    ("0", proposal("exchange_delivered_order_items", **EXCHANGE_0), True),
    (
        "0",
        proposal(
            "exchange_delivered_order_items",
            **{**EXCHANGE_0, "item_ids": ["4983901480", "1151293680"], "new_item_ids": ["7747408585", "7706410293"]},
        ),
        True,
    ),
    ("0", proposal("exchange_delivered_order_items", **{**EXCHANGE_0, "payment_method_id": "paypal_0"}), False),
    ("0", proposal("exchange_delivered_order_items", **{**EXCHANGE_0, "item_ids": ["1151293680"]}), False),
    ("0", proposal("return_delivered_order_items", order_id="#W2378156", item_ids=["1151293680"]), False),
    ("113", proposal("cancel_pending_order", order_id="#W5995614", reason="ordered by mistake"), True),
    ("113", proposal("cancel_pending_order", order_id="#W5995614", reason="no longer needed"), False),
    (
        "22",
        proposal(
            "modify_user_address", user_id="ethan_garcia_1261", **{**ADDRESS_22, "city": " new york"}, zip="10001"
        ),
        True,
    ),
    ("22", proposal("modify_user_address", user_id="ethan_garcia_1261", **ADDRESS_22, zip="10002"), False),
    ("67", proposal("cancel_pending_order", order_id="#W5056519", reason="ordered by mistake"), False),
]


@pytest.mark.parametrize(("task_id", "proposed", "accepted"), CONFIRMATIONS)
def test_yes_exactly_when_the_proposal_is_an_expected_write(
    db: dict[str, Any], task_id: str, proposed: dict[str, Any], accepted: bool
) -> None:
    oracle = OracleUser(TASKS[task_id], db)
    answer = oracle.respond(turn("Shall I go ahead?", awaiting_confirmation=True, proposal=proposed))
    assert answer == (YES if accepted else NO)


def test_a_done_write_is_not_confirmed_twice(db: dict[str, Any]) -> None:
    oracle = OracleUser(TASKS["113"], db)
    cancel = proposal("cancel_pending_order", order_id="#W5056519", reason="ordered by mistake")
    assert [oracle.accept(cancel) for _ in range(2)] == [True, False]
    assert [a.arguments["order_id"] for a in oracle.pending] == ["#W5995614"]


def test_multi_item_modifications_keep_their_pairs(db: dict[str, Any]) -> None:
    args = TASKS["20"].expected_writes[0].arguments
    swapped = [args["new_item_ids"][1], args["new_item_ids"][0], *args["new_item_ids"][2:]]
    oracle = OracleUser(TASKS["20"], db)
    assert not oracle.accept(proposal("modify_pending_order_items", **{**args, "new_item_ids": swapped}))
    assert oracle.accept(proposal("modify_pending_order_items", **args))


def test_two_changes_of_one_address_are_confirmed_in_order(db: dict[str, Any]) -> None:
    """Task 22 changes the default address, then back: the second change cannot come first."""
    oracle = OracleUser(TASKS["22"], db)
    first, _order_address, back = TASKS["22"].expected_writes
    assert not oracle.accept(proposal(back.name, **back.arguments))
    assert oracle.accept(proposal(first.name, **first.arguments))
    assert oracle.accept(proposal(back.name, **back.arguments))


# A whole run ------------------------------------------------------------------------------------------------------


class OrdersRouter:
    def route(self, text: str, state: ConversationState) -> Route:
        return Route(agent="orders", intent="test", confidence=1.0)


def scripted_factory(steps: list[AIMessage]) -> Any:
    model = ScriptedChatModel(steps=steps)

    def build(store: SqlCommerceStore, checkpointer: Any) -> ConversationService:
        deps = AgentDeps(
            store=store, brains=lambda _agent: model, router=OrdersRouter(), registry=agent_registry(), max_steps=6
        )
        return ConversationService(build_graph(deps, checkpointer=checkpointer), store)

    return build, model


def test_a_scripted_agent_that_does_the_task_scores_1(
    template: StoreTemplate, tmp_path: Path, db: dict[str, Any]
) -> None:
    factory, model = scripted_factory(
        [
            say("I can help. Please give me your email, or your name and zip code."),
            call("find_user_id_by_name_zip", first_name="Yara", last_name="Muller", zip="85041"),
            call("cancel_pending_order", order_id="#W5056519", reason="ordered by mistake"),
            say("Order #W5056519 is cancelled. Is there anything else I can help you with?"),
            call("cancel_pending_order", order_id="#W5995614", reason="ordered by mistake"),
            say("Done. Anything else?"),
            say("Goodbye!"),
        ]
    )
    result = run_task(TASKS["113"], template=template, workdir=tmp_path, service_factory=factory, db=db)
    model.assert_done()
    assert result.error is None
    assert [t["user"] for t in result.transcript] == [
        "I want to cancel all pending orders.",
        "I don't remember my email address. My name is Yara Muller and my zip code is 85041.",
        YES,
        "I'd also like to cancel order #W5995614 because I ordered it by mistake.",
        YES,
        GOODBYE,
    ]
    assert (result.reward, result.turns, result.ended, result.diff) == (1, 6, "user", {})
    assert [w["arguments"]["order_id"] for w in result.agent_writes] == ["#W5056519", "#W5995614"]
    assert summarize([result])["per_tool"]["cancel_pending_order"] == {"tasks": 1, "passed": 1, "pass^1": 1.0}


def test_a_scripted_agent_that_does_the_wrong_thing_scores_0(
    template: StoreTemplate, tmp_path: Path, db: dict[str, Any]
) -> None:
    factory, _model = scripted_factory(
        [
            say("What is your email, or name and zip?"),
            call("find_user_id_by_name_zip", first_name="Yara", last_name="Muller", zip="85041"),
            call("cancel_pending_order", order_id="#W5056519", reason="no longer needed"),
            say("OK, I won't. Let me transfer you."),
            call("transfer_to_human_agents", summary="customer wants to cancel"),
            say("A colleague will join."),
        ]
    )
    result = run_task(TASKS["113"], template=template, workdir=tmp_path, service_factory=factory, db=db)
    assert [t["user"] for t in result.transcript][2] == NO
    assert result.ended == "handoff"
    assert result.reward == 0
    assert [(w["name"], w["ok"]) for w in result.agent_writes] == [("cancel_pending_order", False)]  # not confirmed
    assert set(result.diff["orders"]) == {"#W5056519", "#W5995614"}


def invoke_cli(*args: str) -> Result:
    with restored_logging():
        return CliRunner().invoke(app, list(args))


def test_the_llm_user_without_a_configured_llm_is_refused_clearly(tmp_path: Path) -> None:
    result = invoke_cli("eval", "tau2", "--user", "llm", "--out", str(tmp_path / "r.json"))
    assert result.exit_code == 2
    assert "the LLM user needs an LLM: set SHOPKEEP_LLM__PROVIDER" in " ".join(result.output.split())


def test_unknown_task_ids_are_refused(tmp_path: Path) -> None:
    result = invoke_cli("eval", "tau2", "--task-ids", "0,9999", "--out", str(tmp_path / "r.json"))
    assert result.exit_code == 2 and "no task with id 9999" in result.output


def test_the_local_brain_runs_through_the_harness(tmp_path: Path) -> None:
    """``shopkeep eval tau2`` with the real local brain: the harness works; the pass rate is reported, not asserted."""
    pytest.importorskip("shopkeep.llm.local.nlu", reason="the local NLU is not there yet")
    out = tmp_path / "report.json"
    result = invoke_cli("eval", "tau2", "--user", "oracle", "--task-ids", "113,67,6", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "pass^1" in result.output
    report = json.loads(out.read_text())
    assert report["summary"]["tasks"] == 3 and 0.0 <= report["summary"]["pass^1"] <= 1.0
    assert [t["task_id"] for t in report["tasks"]] == ["6", "67", "113"]
    for task in report["tasks"]:
        assert "error" not in task, task["error"]
        assert task["transcript"] and task["reward"] in (0, 1)
        assert set(task["transcript"][0]) >= {"user", "reply", "tool_calls", "awaiting_confirmation"}
        assert set(task) >= {"expected_writes", "agent_writes", "diff", "turns"}


def test_a_conversation_going_round_in_circles_is_stopped(
    template: StoreTemplate, tmp_path: Path, db: dict[str, Any]
) -> None:
    factory, model = scripted_factory([say("Which colour would you like?") for _ in range(4)])
    result = run_task(TASKS["113"], template=template, workdir=tmp_path, service_factory=factory, db=db)
    model.assert_done()
    assert [t["user"] for t in result.transcript][1:] == [DONT_KNOW] * 3
    assert (result.ended, result.turns, result.reward) == ("stuck", 4, 0)


# Without the answer key ------------------------------------------------------------------------------------------


def test_without_the_answer_key_the_customer_says_only_what_the_instructions_say(db: dict[str, Any]) -> None:
    task = TASKS["1"]  # exchange in #W2378156 (named in the instructions), paid by a card they never mention
    assert "credit card" not in " ".join(vars(task.instructions).values()).lower()
    keyed, told = OracleUser(task, db), OracleUser(task, db, answer_key=False)
    payment = "Which payment method should I use for the price difference?"
    assert keyed.respond(turn(payment)).startswith("Please use the")  # type: ignore[union-attr]
    assert told.respond(turn(payment)) == DONT_KNOW
    assert told.respond(turn("What is the order number?")) == "It's order #W2378156."
    # the expected thermostat is "Google Assistant, black": the instructions say "Google Home" and no colour
    options = "Which options would you like instead?"
    assert "google assistant" in str(OracleUser(task, db).respond(turn(options))).lower()
    assert told.respond(turn(options)) == DONT_KNOW


def test_without_the_answer_key_a_request_names_no_hidden_detail(db: dict[str, Any]) -> None:
    hidden = [t for t in TASKS.values() if t.expected_writes and "#w" not in t.instructions.reason_for_call.lower()]
    assert hidden, "some tasks never name their order"
    for task in hidden[:10]:
        told = OracleUser(task, db, answer_key=False)
        request = told.respond(turn("Is there anything else I can help you with?"))
        assert request is not None
        order_ids = {str(a.arguments.get("order_id")) for a in task.expected_writes if a.arguments.get("order_id")}
        said_ids = [i for i in order_ids if i in request and i.lower() not in vars(task.instructions)["known_info"]]
        assert not said_ids, (task.task_id, request)
        keyed = OracleUser(task, db).respond(turn("Is there anything else I can help you with?"))
        assert keyed != request, task.task_id
