"""``shopkeep eval run``: every suite writes the results schema, and report.html renders its charts in Chromium.

The run uses small subsets (``limit``) and the session's NLU and indexed demo store, so it stays a few minutes on
the CI machines; the figures themselves are not asserted (they belong to the suites' own tests), only that every
suite reports items, a summary and what its report section draws. The screenshot lands in ``var/screenshots/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from typer.testing import CliRunner

from shopkeep.cli.main import app
from shopkeep.evals.results import SUITES, EvalRun
from shopkeep.evals.run import run_suites
from shopkeep.evals.scenarios import scenario_files, scenario_id
from shopkeep.evals.tau2.reward import StoreTemplate
from shopkeep.llm.local.nlu import NLU
from shopkeep.replies import default_replies
from shopkeep.settings import Settings
from tests.api.test_web_chat import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.conftest import service_missing
from tests.support.scripted_model import ScriptedChatModel, say

LIMIT = 2
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]  # the run plays every suite once: minutes


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, nlu: NLU, indexed_sqlite_template: Path) -> Path:
    out = tmp_path_factory.mktemp("eval-run")
    settings = Settings(var_dir=out / "var")
    run_suites(
        list(SUITES),
        settings,
        out,
        limit=LIMIT,
        log=lambda _: None,
        nlu=nlu,
        template=StoreTemplate(indexed_sqlite_template),
    )
    return out


def test_every_suite_writes_the_schema(run_dir: Path) -> None:
    run = EvalRun.read(run_dir)
    assert list(run.suites) == list(SUITES)
    assert run.meta.limit == LIMIT and run.meta.brain == "local"
    assert run.meta.git_commit is not None and len(run.meta.git_commit) == 40
    assert "router" in run.meta.prompts or "orders" in run.meta.prompts
    assert run.meta.replies["checkout"] == default_replies().ref("checkout")
    assert "api_key" not in run.meta.settings["llm"]
    for name, suite in run.suites.items():
        assert suite.items, name
        assert suite.summary, name
        assert len({item.id for item in suite.items}) == len(suite.items), f"{name}: item ids repeat"
    for name in ("nlu", "knowledge", "scenarios", "tau2", "redteam"):
        assert all(item.passed is not None for item in run.suites[name].items), name
    for name in ("knowledge", "scenarios", "tau2", "redteam", "latency"):
        assert all(item.transcript for item in run.suites[name].items), f"{name}: transcripts missing"


def test_suite_tables_agree_with_their_items(run_dir: Path) -> None:
    run = EvalRun.read(run_dir)
    nlu = run.suites["nlu"]
    matrix = nlu.tables["confusion_matrix"]
    assert sum(map(sum, matrix["matrix"])) == len(nlu.items)
    diagonal = sum(matrix["matrix"][n][n] for n in range(len(matrix["labels"])))
    assert diagonal == sum(1 for item in nlu.items if item.passed)
    team = [item for item in nlu.items if item.details["set"] == "team"]
    assert len({item.group for item in team}) == LIMIT, "a subset takes items of several intents"
    assert nlu.summary["team.items"] == len(team)
    scenarios = run.suites["scenarios"]
    known = {scenario_id(path) for path in scenario_files()}
    assert {item.id for item in scenarios.items} <= known
    assert scenarios.summary["passed"] == sum(1 for item in scenarios.items if item.passed)
    latency = run.suites["latency"]
    assert sum(latency.tables["histogram"]) == latency.summary["turns"] == len(latency.items)
    assert latency.summary["p50_ms"] <= latency.summary["p90_ms"] <= latency.summary["max_ms"]
    redteam = run.suites["redteam"]
    assert redteam.tables["categories"]["all"]["attacks"] == len(redteam.items)
    retrieval = run.suites["retrieval"]
    assert set(retrieval.tables["by_kind"]) == {item.group for item in retrieval.items}
    assert any("oracle user" in note for note in run.suites["tau2"].notes)
    assert {item.id.split(":")[0] for item in run.suites["tau2"].items} == {"oracle", "instructions"}
    knowledge = run.suites["knowledge"]
    for item in knowledge.items:
        assert 0.0 <= item.metrics["ragas.id_context_recall"] <= 1.0
        assert item.metrics["ragas.id_context_recall"] == float(bool(item.passed)), "one reference: found or not"
    assert "ragas.tool_call_f1" in scenarios.summary


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        service_missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_the_report_renders_its_charts_offline(run_dir: Path, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((run_dir / "report.html").as_uri())
    charts = {
        "confusion": "rect",
        "retrieval-by-kind": "rect",
        "scenarios-by-area": "rect",
        "redteam-harmless": "rect",
        "latency": "rect",
    }
    for chart, shape in charts.items():
        svg = page.locator(f"svg[data-chart='{chart}']")
        assert svg.count() == 1, chart
        box = svg.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50, chart
        assert svg.locator(shape).count() > 0, chart
    assert page.locator("table[data-table='redteam'] tr").count() >= 2
    first = page.locator("#suite-scenarios ~ table a").first
    target = first.get_attribute("href")
    assert target is not None and page.locator(target).count() == 1, "scenario links lead to their transcripts"
    first.click()
    page.locator(target).locator("summary").click()
    assert page.locator(target).locator(".turn").count() >= 1
    assert requests == [(run_dir / "report.html").as_uri()], f"the report fetched {requests[1:]}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#suite-nlu").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "eval-report.png"), full_page=True)
    context.close()


def test_the_command_refuses_unknown_suites_and_an_llm_brain_without_a_model() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "run", "nlu", "bogus"])
    assert result.exit_code == 2 and "unknown suite 'bogus'" in result.output
    result = runner.invoke(app, ["eval", "run", "nlu", "--brain", "llm"], env={"SHOPKEEP_LLM__PROVIDER": "local"})
    assert result.exit_code == 2 and "needs a model" in result.output


def test_a_configured_judge_adds_the_llm_judged_ragas_metrics(
    tmp_path: Path, nlu: NLU, indexed_sqlite_template: Path
) -> None:
    """The judge is the strict scripted model (the model boundary): one knowledge question gets faithfulness (2
    judge calls) and answer relevancy (3), one scenario agent goal accuracy (2); nothing else asks the judge."""
    answer = json.dumps({"question": "what is your return policy?", "noncommittal": 0})
    judge = ScriptedChatModel(
        steps=[
            say(json.dumps({"statements": ["Items can be returned.", "Returns are free."]})),
            say(
                json.dumps(
                    {
                        "statements": [
                            {"statement": "Items can be returned.", "reason": "in the passage", "verdict": 1},
                            {"statement": "Returns are free.", "reason": "not said", "verdict": 0},
                        ]
                    }
                )
            ),
            *[say(answer)] * 3,
            say(json.dumps({"user_goal": "get help", "end_state": "helped"})),
            say(json.dumps({"reason": "helped", "verdict": "1"})),
        ]
    )
    run = run_suites(
        ["knowledge", "scenarios"],
        Settings(var_dir=tmp_path / "var"),
        tmp_path / "run",
        limit=1,
        log=lambda _: None,
        nlu=nlu,
        template=StoreTemplate(indexed_sqlite_template),
        judge=judge,
    )
    judge.assert_done()
    (knowledge,) = run.suites["knowledge"].items
    assert knowledge.metrics["ragas.faithfulness"] == 0.5
    assert 0.0 <= knowledge.metrics["ragas.answer_relevancy"] <= 1.0  # MiniLM cosines of the scripted question
    (scenario,) = run.suites["scenarios"].items
    assert scenario.metrics["ragas.agent_goal_accuracy"] == 1.0
    assert run.suites["scenarios"].summary["ragas.agent_goal_accuracy"] == 1.0
    assert run.meta.models["judge"] == "ScriptedChatModel"
    assert any("LLM-judged metrics by ScriptedChatModel" in note for note in run.suites["knowledge"].notes)
    assert "ragas.faithfulness" in EvalRun.read(tmp_path / "run").suites["knowledge"].summary
