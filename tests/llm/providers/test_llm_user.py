"""The τ² LLM user (scripted model at the boundary) and pass^k."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from shopkeep.agents.service import ToolCallRecord, TurnResult
from shopkeep.evals.tau2 import converse, load_tasks
from shopkeep.evals.tau2.llm_user import STOP, TRANSFER, LLMUser, llm_user_factory, system_prompt
from shopkeep.evals.tau2.passk import pass_hat_k, pass_hat_ks
from shopkeep.settings import Settings
from tests.conftest import TAU2_DIR
from tests.llm.providers.support import ServiceFor
from tests.support.scripted_model import ScriptedChatModel, say

TASK = load_tasks(TAU2_DIR / "tasks_train.json", limit=1)[0]


def turn(reply: str, **fields: object) -> TurnResult:
    values: dict[str, object] = {"tool_calls": [], "awaiting_confirmation": False, **fields}
    return TurnResult(conversation_id="c", reply=reply, agent="orders", intent=None, **values)  # type: ignore[arg-type]


def test_the_system_prompt_is_written_from_the_task() -> None:
    prompt = system_prompt(TASK)
    assert TASK.instructions.reason_for_call in prompt
    assert TASK.instructions.known_info in prompt
    assert STOP in prompt and TRANSFER in prompt


def test_the_user_sees_the_assistant_as_the_other_side() -> None:
    model = ScriptedChatModel(steps=[say("Hi, I want to return something."), say("My email is a@b.c")])
    user = LLMUser(TASK, model)
    assert user.opening() == "Hi, I want to return something."
    assert user.respond(turn("Sure, what's your email?")) == "My email is a@b.c"
    sent = model.calls[1]
    assert isinstance(sent[0], SystemMessage)
    assert [type(m) for m in sent[1:]] == [HumanMessage, AIMessage, HumanMessage]
    assert sent[-1].content == "Sure, what's your email?"
    assert not user.finished
    model.assert_done()


def test_the_stop_word_ends_the_conversation_without_sending_it() -> None:
    model = ScriptedChatModel(steps=[say("Hello"), say("Great, thanks! ###STOP###")])
    user = LLMUser(TASK, model)
    user.opening()
    assert user.respond(turn("Done. Anything else?")) is None
    assert user.finished and user.ending == STOP
    assert user.respond(turn("Hello?")) is None


def test_a_handoff_ends_the_conversation() -> None:
    user = LLMUser(TASK, ScriptedChatModel(steps=[say("Hello")]))
    user.opening()
    handed = turn(
        "A colleague will join.", tool_calls=[ToolCallRecord(name="transfer_to_human_agents", arguments={}, ok=True)]
    )
    assert user.respond(handed) is None and user.ending == TRANSFER and user.handed_off


def test_the_harness_loop_runs_with_the_llm_user(service_for: ServiceFor) -> None:
    agent = ScriptedChatModel(steps=[say("Hello! What's your email?"), say("Thanks. Anything else?")])
    customer = ScriptedChatModel(steps=[say("Hi, I need help."), say("It's a@b.c"), say(STOP)])
    transcript, ended = converse(service_for(agent, "support"), LLMUser(TASK, customer))  # type: ignore[arg-type]
    assert [t["user"] for t in transcript] == ["Hi, I need help.", "It's a@b.c"]
    assert ended == "user"
    agent.assert_done()
    customer.assert_done()


def test_the_user_model_must_be_an_llm(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the LLM user needs an LLM"):
        llm_user_factory(Settings(var_dir=tmp_path))


def test_the_user_model_comes_from_the_user_overrides(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path,
        llm={
            "provider": "local",
            "agents": {"user": {"provider": "openai", "model": "sim-1", "base_url": "http://127.0.0.1:9/v1"}},
        },  # type: ignore[arg-type]
    )
    user = llm_user_factory(settings)(TASK, {}, None)
    assert isinstance(user, LLMUser)
    assert user._model.model_name == "sim-1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("rewards", "k", "expected"),
    [([1, 1, 1, 1], 4, 1.0), ([1, 1, 0, 1], 1, 0.75), ([1, 1, 0, 1], 2, 0.5), ([1, 1, 0, 1], 4, 0.0), ([0, 0], 1, 0.0)],
)
def test_pass_hat_k(rewards: list[int], k: int, expected: float) -> None:
    assert pass_hat_k(rewards, k) == pytest.approx(expected)


def test_pass_hat_ks_average_over_tasks() -> None:
    assert pass_hat_ks({"1": [1, 1, 1], "2": [1, 0, 0]}) == {1: round((1 + 1 / 3) / 2, 4), 2: 0.5, 3: 0.5}
    with pytest.raises(ValueError, match="needs at least 3 trials"):
        pass_hat_k([1, 1], 3)
