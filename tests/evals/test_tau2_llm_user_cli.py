"""``shopkeep eval tau2 --user llm --trials K`` end to end: the customer is an LLM behind an OpenAI-compatible HTTP
server (in process, scripted: the only fake, at the model boundary), the assistant is the real local brain on a fresh
demo store per trial, and the report carries the reward of every trial and pass^k.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopkeep.evals.tau2 import load_tasks
from shopkeep.evals.tau2.llm_user import STOP
from shopkeep.settings import get_settings
from tests.conftest import TAU2_DIR
from tests.evals.test_tau2_eval import invoke_cli
from tests.llm.providers.openai_server import OpenAIServer, reply, running_server

TASK = next(t for t in load_tasks(TAU2_DIR / "tasks_train.json") if t.task_id == "88")
"""Daiki Silva wants the bookshelf at 4 ft; it is out of stock, so the order is cancelled ("ordered by mistake")."""

CUSTOMER_LINES = (
    "I want to change the book shelf in my order to 4 foot, same material and color. If that's not available, "
    "cancel the whole order and I will buy again.",
    "My email is daiki.silva6295@example.com.",
    "Then please cancel order #W8835847, I ordered it by mistake.",
    "Yes, please.",
    f"Thanks, that's all. {STOP}",
)


@pytest.fixture
def user_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    """The simulated customer's model: every agent stays on the local brain, only ``user`` is an LLM."""
    with running_server() as server:
        monkeypatch.setenv("SHOPKEEP_LLM__AGENTS__USER__PROVIDER", "openai")
        monkeypatch.setenv("SHOPKEEP_LLM__AGENTS__USER__MODEL", "customer-sim")
        monkeypatch.setenv("SHOPKEEP_LLM__AGENTS__USER__BASE_URL", server.url)
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


def test_an_llm_customer_completes_a_task_in_every_trial(user_server: OpenAIServer, tmp_path: Path) -> None:
    pytest.importorskip("shopkeep.llm.local.nlu", reason="the local NLU is not there yet")
    trials = 2
    user_server.script(*(reply(line) for _ in range(trials) for line in CUSTOMER_LINES))
    out = tmp_path / "report.json"

    result = invoke_cli("eval", "tau2", "--user", "llm", "--trials", str(trials), "--task-ids", "88", "--out", str(out))

    assert result.exit_code == 0, result.output
    user_server.assert_done()
    report = json.loads(out.read_text())
    assert report["summary"]["user"] == "llm" and report["summary"]["trials"] == trials
    assert report["summary"]["pass^k"] == {"pass^1": 1.0, "pass^2": 1.0}
    runs = report["tasks"]
    assert len(runs) == trials
    for run in runs:
        assert run["reward"] == 1, run.get("diff")
        assert [t["user"] for t in run["transcript"]] == list(CUSTOMER_LINES[:-1])  # the stop line is never sent
    # The customer model was told who it is and what it wants, and heard the assistant as the other side.
    first = user_server.requests[0]["messages"]
    assert first[0]["role"] == "system" and TASK.instructions.known_info in first[0]["content"]
    second = user_server.requests[1]["messages"]
    assert [m["role"] for m in second[1:]] == ["user", "assistant", "user"]
    assert "verify your identity" in second[-1]["content"]
