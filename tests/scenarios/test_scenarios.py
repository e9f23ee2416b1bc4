"""Scripted multi-turn conversations (tests/scenarios/**/*.yaml) through the real service and local brain.

One NLU per session; every scenario gets a fresh copy of the seeded demo store, indexed for catalog and knowledge
search (the index is built once per session). See README.md for the format; the checks live in
``shopkeep.evals.scenarios`` (``shopkeep eval run scenarios`` judges them the same way).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.evals.scenarios import load_scenario, run_scenario, scenario_files, scenario_id
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore
from tests.conftest import TAU2_DIR, fresh_sqlite_store

HERE = Path(__file__).parent
SCENARIOS = scenario_files(HERE)


@pytest.fixture(scope="session")
def demo_db() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TAU2_DIR / "db.json").read_text())
    return data


@pytest.fixture
def store(indexed_sqlite_template: Path, tmp_path: Path) -> Iterator[SqlCommerceStore]:
    opened = fresh_sqlite_store(indexed_sqlite_template, tmp_path)
    yield opened
    opened.close()


@pytest.mark.parametrize("path", SCENARIOS, ids=[scenario_id(p, HERE) for p in SCENARIOS])
def test_scenario(
    path: Path,
    store: SqlCommerceStore,
    tmp_path: Path,
    nlu: NLU,
    demo_db: dict[str, Any],
    request: pytest.FixtureRequest,
) -> None:
    scenario = load_scenario(path)
    if scenario.get("xfail"):
        # A known brain bug: the scenario is the spec. Strict, so a fixed brain fails here until the mark goes.
        request.applymarker(pytest.mark.xfail(strict=True, reason=str(scenario["xfail"])))
    settings = Settings(var_dir=tmp_path)
    with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
        service = build_service(settings, store, checkpointer, nlu=nlu)
        run = run_scenario(scenario, service, store, demo_db)
    assert run.passed, "\n".join(run.failures)
