"""Scripted multi-turn conversations (tests/scenarios/**/*.yaml) through the real service and local brain.

One NLU per session; every scenario gets a fresh copy of the seeded demo store, or of its own shop (``shop:``, built
from ``shops/NAME``), indexed for catalog and knowledge search (each index is built once per session). See README.md
for the format; the checks live in ``shopkeep.evals.scenarios`` (``shopkeep eval run scenarios`` judges the demo's
the same way).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.evals.scenarios import build_shop, load_scenario, run_scenario, scenario_files, scenario_id
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings
from shopkeep.store import open_store
from shopkeep.store.seed import export
from tests.conftest import TAU2_DIR, fresh_sqlite_store

HERE = Path(__file__).parent
SCENARIOS = scenario_files(HERE)


@pytest.fixture(scope="session")
def demo_db() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TAU2_DIR / "db.json").read_text())
    return data


ShopTemplate = tuple[Path, dict[str, Any]]


@pytest.fixture(scope="session")
def shop_templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ShopTemplate]:
    """A shop of its own (``shops/NAME``), built and indexed once per session: its SQLite file, copied for every
    scenario, and its data before any conversation (what ``unchanged`` and ``new_orders`` compare with)."""
    from shopkeep.retrieval.embedders import LocalEmbedder
    from shopkeep.retrieval.search import CatalogSearch

    built: dict[str, ShopTemplate] = {}

    def template(name: str) -> ShopTemplate:
        if name not in built:
            path = tmp_path_factory.mktemp(f"shop-{name}") / "shop.db"
            store = open_store(f"sqlite:///{path}")
            build_shop(name, store, HERE)
            CatalogSearch(store, LocalEmbedder()).index_documents()
            built[name] = (path, export(store))
            store.close()
        return built[name]

    return template


@pytest.mark.parametrize("path", SCENARIOS, ids=[scenario_id(p, HERE) for p in SCENARIOS])
def test_scenario(
    path: Path,
    tmp_path: Path,
    nlu: NLU,
    demo_db: dict[str, Any],
    request: pytest.FixtureRequest,
) -> None:
    scenario = load_scenario(path)
    if scenario.get("xfail"):
        # A known brain bug: the scenario is the spec. Strict, so a fixed brain fails here until the mark goes.
        request.applymarker(pytest.mark.xfail(strict=True, reason=str(scenario["xfail"])))
    if scenario.get("shop"):
        template, before = request.getfixturevalue("shop_templates")(str(scenario["shop"]))
    else:
        template, before = request.getfixturevalue("indexed_sqlite_template"), demo_db
    store = fresh_sqlite_store(template, tmp_path)
    settings = Settings(var_dir=tmp_path)
    try:
        with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
            service = build_service(settings, store, checkpointer, nlu=nlu)
            run = run_scenario(scenario, service, store, before)
    finally:
        store.close()
    assert run.passed, "\n".join(run.failures)
