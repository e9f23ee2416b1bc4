"""Scripted multi-turn conversations (tests/scenarios/**/*.yaml) through the real service and local brain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore
from shopkeep.store.seed import export
from tests.conftest import TAU2_DIR, fresh_sqlite_store

HERE = Path(__file__).parent
SCENARIOS = sorted(HERE.rglob("*.yaml"))


@pytest.fixture(scope="session")
def demo_db() -> dict[str, Any]:
    return json.loads((TAU2_DIR / "db.json").read_text())


def _check_turn(n: int, expect: dict[str, Any], result: Any) -> None:
    where = f"turn {n + 1} ({result.reply[:200]!r})"
    if "agent" in expect:
        assert result.agent == expect["agent"], where
    if "tools" in expect:
        called = [c.name + ("" if c.ok else "!") for c in result.tool_calls]
        assert called == expect["tools"], where
    if "confirm" in expect:
        assert result.awaiting_confirmation is expect["confirm"], where
    for text in expect.get("reply_contains", []):
        assert text.lower() in result.reply.lower(), f"{where}: missing {text!r}"
    for text in expect.get("reply_excludes", []):
        assert text.lower() not in result.reply.lower(), f"{where}: should not say {text!r}"


def _subset(actual: Any, expected: Any, path: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), path
        for key, value in expected.items():
            _subset(actual.get(key), value, f"{path}/{key}")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


@pytest.fixture
def store(sqlite_template: Path, tmp_path: Path) -> Iterator[SqlCommerceStore]:
    opened = fresh_sqlite_store(sqlite_template, tmp_path)
    yield opened
    opened.close()


@pytest.mark.parametrize("path", SCENARIOS, ids=[str(p.relative_to(HERE).with_suffix("")) for p in SCENARIOS])
def test_scenario(
    path: Path, store: SqlCommerceStore, tmp_path: Path, nlu: NLU, demo_db: dict[str, Any]
) -> None:
    scenario = yaml.safe_load(path.read_text())
    settings = Settings(var_dir=tmp_path)
    with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
        service = build_service(settings, store, checkpointer, nlu=nlu)
        conversation = service.start()
        for n, turn in enumerate(scenario["turns"]):
            result = service.send(conversation, turn["user"])
            _check_turn(n, turn.get("expect", {}), result)
    final = export(store)
    _subset(final, scenario.get("store", {}), "store")
    for ref in scenario.get("unchanged", []):
        kind, key = ref.split("/", 1)
        assert final[kind][key] == demo_db[kind][key], ref
