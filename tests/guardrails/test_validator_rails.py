"""A shop's own guardrails-ai validators as rails: a real validator package from PyPI (guardrails-ai-regex-match)
as an input rail and a shop's own ``@register_validator`` validator as an output rail that fixes replies, through
one adapter; their trips are recorded like our rails; guardrails-ai is imported only when configured, offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.toolkit import agent_registry
from shopkeep.guardrails.facts import Facts
from shopkeep.guardrails.rails import INPUT_RAILS, OUTPUT_RAILS
from shopkeep.guardrails.validators import ValidatorRail, validator_rails
from shopkeep.settings import PROJECT_ROOT, Settings
from shopkeep.store import SqlCommerceStore
from tests.llm.providers.support import FixedRouter
from tests.support.scripted_model import ScriptedChatModel, say

COMPETITORS = ("Acme Outfitters", "Trailhead Co")

NO_MARKUP = {
    "name": "no_markup",
    "validator": "guardrails_ai.regex_match:RegexMatch",
    "stage": "input",
    "args": {"regex": r"[^<>]*", "match_type": "fullmatch"},
    "message": "Please send your message as plain text, without HTML.",
}
NO_COMPETITORS = {
    "name": "no_competitors",
    "validator": "tests.guardrails.shop_validators:NoCompetitors",
    "stage": "output",
    "args": {"competitors": list(COMPETITORS)},
    "on_fail": "fix",
}


@pytest.fixture(scope="module")
def rails(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[ValidatorRail], list[ValidatorRail]]:
    # guardrails-ai 0.11 pins typer<0.20 and rich<15; installed by its extra next to everything else, they bring a
    # Click whose deprecation warnings fail this suite, so CI's venv goes without it (the shared dev venv has it).
    pytest.importorskip(
        "guardrails_ai.regex_match", reason="pip install 'shopkeep[guardrails]' guardrails-ai-regex-match"
    )
    settings = Settings(var_dir=tmp_path_factory.mktemp("var"), guardrails={"validators": [NO_MARKUP, NO_COMPETITORS]})
    return validator_rails(settings)


def test_a_pypi_validator_is_an_input_rail(rails: tuple[list[ValidatorRail], list[ValidatorRail]]) -> None:
    (markup,), _ = rails
    passed = markup("Do you have the linen shirt in blue?")
    assert not passed.tripped and passed.text == "Do you have the linen shirt in blue?"
    tripped = markup("<script>alert(1)</script> hi")
    assert tripped.tripped and tripped.blocked and tripped.stage.value == "input"
    assert tripped.reason == "Please send your message as plain text, without HTML."
    assert tripped.event() == {
        "rail": "no_markup",
        "stage": "input",
        "reason": "Please send your message as plain text, without HTML.",
        "blocked": True,
        "detail": tripped.detail,
    }
    assert tripped.detail.startswith("RegexMatch: ")


def test_a_shops_own_validator_fixes_replies(rails: tuple[list[ValidatorRail], list[ValidatorRail]]) -> None:
    _, (competitors,) = rails
    fixed = competitors("Our lantern is brighter than the one Acme Outfitters sells.", Facts())
    assert fixed.tripped and not fixed.blocked
    assert fixed.text == "Our lantern is brighter than the one another shop sells."
    assert not competitors("Our lantern runs 40 hours.", Facts()).tripped


def test_telemetry_is_off_whatever_the_machine_says(rails: tuple[list[ValidatorRail], list[ValidatorRail]]) -> None:
    from guardrails.settings import settings

    assert settings.rc.enable_metrics is False and settings.disable_tracing is True
    assert all(rail._guard._allow_metrics_collection is False for rail in [*rails[0], *rails[1]])


def test_they_run_in_the_graph_and_are_recorded_like_ours(
    rails: tuple[list[ValidatorRail], list[ValidatorRail]], sqlite_store: SqlCommerceStore
) -> None:
    inputs, outputs = rails
    model = ScriptedChatModel(steps=[say("Trailhead Co has nothing like our Storm Lantern.")])
    deps = AgentDeps(
        store=sqlite_store,
        brains=lambda _agent: model,
        router=FixedRouter("support"),
        registry=agent_registry(),
        input_rails=(*INPUT_RAILS, *inputs),
        output_rails=(*OUTPUT_RAILS, *outputs),
    )
    service = ConversationService(build_graph(deps, checkpointer=InMemorySaver()), sqlite_store)
    cid = service.start()
    refused = service.send(cid, "<b>hello</b>")
    assert refused.reply == "Please send your message as plain text, without HTML."
    assert model.calls == []  # the withheld message reached no model
    answered = service.send(cid, "Is your lantern any good?")
    assert answered.reply == "another shop has nothing like our Storm Lantern."
    model.assert_done()
    trips = [event.payload for event in service.transcript(cid) if event.kind == "rail"]
    assert [(t["rail"], t["stage"], t["blocked"]) for t in trips] == [
        ("no_markup", "input", True),
        ("no_competitors", "output", False),
    ]


def test_nothing_configured_imports_nothing() -> None:
    assert validator_rails(Settings()) == ([], [])
    script = (
        "import sys\n"
        "from shopkeep.agents.factory import build_deps\n"
        "from shopkeep.guardrails.validators import validator_rails\n"
        "from shopkeep.settings import Settings\n"
        "validator_rails(Settings())\n"
        "print('guardrails' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=240)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


def test_a_missing_validator_package_says_what_to_install(tmp_path: Path) -> None:
    missing: dict[str, Any] = {**NO_MARKUP, "validator": "guardrails_ai.no_such_validator:Nope"}
    with pytest.raises(ImportError, match=r"pip install 'shopkeep\[guardrails\]'"):
        validator_rails(Settings(var_dir=tmp_path, guardrails={"validators": [missing]}))
