"""``shopkeep scenarios export``: a stored conversation becomes a scenario file that replays and passes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.cli.main import app
from shopkeep.evals.scenarios import SCENARIOS_DIR, load_scenario, run_scenario
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings
from tests.conftest import TAU2_DIR, fresh_sqlite_store

pytestmark = pytest.mark.timeout(1200)  # three conversations through the local brain; slow on a loaded machine
SOURCE = SCENARIOS_DIR / "cart" / "add_two_then_view_remove.yaml"


def test_an_exported_conversation_replays_as_a_passing_scenario(
    indexed_sqlite_template: Path, tmp_path: Path, nlu: NLU
) -> None:
    demo_db: dict[str, Any] = json.loads((TAU2_DIR / "db.json").read_text())
    settings = Settings(var_dir=tmp_path / "var")
    store = fresh_sqlite_store(indexed_sqlite_template, tmp_path)
    url = str(store.engine.url)
    with open_checkpointer(f"sqlite:///{tmp_path / 'a.db'}") as checkpointer:
        service = build_service(settings, store, checkpointer, nlu=nlu)
        conversation = service.start()
        played = [service.send(conversation, turn["user"]) for turn in load_scenario(SOURCE)["turns"]]
    store.close()

    out = tmp_path / "exported.yaml"
    result = CliRunner().invoke(app, ["scenarios", "export", conversation, "--store", url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    exported = load_scenario(out)
    assert [t["user"] for t in exported["turns"]] == [t["user"] for t in load_scenario(SOURCE)["turns"]]
    for turn, result_of_turn in zip(exported["turns"], played, strict=True):
        assert turn["expect"]["tools"] == [c.name + ("" if c.ok else "!") for c in result_of_turn.tool_calls]
        assert turn["expect"]["agent"] == result_of_turn.agent
    assert exported["tickets"] == 0 and isinstance(exported["cart"], dict)

    replay_store = fresh_sqlite_store(indexed_sqlite_template, tmp_path)
    with open_checkpointer(f"sqlite:///{tmp_path / 'b.db'}") as checkpointer:
        run = run_scenario(
            exported, build_service(settings, replay_store, checkpointer, nlu=nlu), replay_store, demo_db
        )
    replay_store.close()
    assert run.passed, run.failures

    # the export is a spec: a store that ends differently fails it
    broken = {**exported, "cart": {**exported["cart"], "0000000000": 1}}
    other = fresh_sqlite_store(indexed_sqlite_template, tmp_path)
    with open_checkpointer(f"sqlite:///{tmp_path / 'c.db'}") as checkpointer:
        failed = run_scenario(broken, build_service(settings, other, checkpointer, nlu=nlu), other, demo_db)
    other.close()
    assert any(f.startswith("cart:") for f in failed.failures)
    printed = CliRunner().invoke(app, ["scenarios", "export", conversation, "--store", url])
    assert yaml.safe_load(printed.stdout)["turns"] == exported["turns"]


def test_an_unknown_conversation_is_an_error(sqlite_template: Path, tmp_path: Path) -> None:
    store = fresh_sqlite_store(sqlite_template, tmp_path)
    url = str(store.engine.url)
    store.close()
    result = CliRunner().invoke(app, ["scenarios", "export", "nope", "--store", url])
    assert result.exit_code == 2 and "not found" in result.output
