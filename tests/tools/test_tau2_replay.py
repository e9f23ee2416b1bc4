"""Replaying τ²'s train tasks reproduces their expected outputs and end states (documented differences aside)."""

from __future__ import annotations

from typing import Any

import pytest

from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.seed import StoreData, export, seed
from shopkeep.tools import ToolContext, retail_registry
from tests.conftest import fresh_sqlite_store
from tests.tau2 import MULTI_ITEM_TASKS, expected_record, expected_states, to_cents

TASKS = expected_states()["tasks"]
REGISTRY = retail_registry()


def replay_and_compare(store: SqlCommerceStore, task: dict[str, Any]) -> None:
    ctx = ToolContext(store=store)
    for action in task["actions"]:
        outcome = REGISTRY.call(action["name"], action["arguments"], ctx)
        assert outcome.ok is not action["error"], (action["action_id"], outcome.error)
        if action["error"]:
            assert outcome.error == action["output"]
        elif action["name"] == "modify_pending_order_items" and task["task_id"] in MULTI_ITEM_TASKS:
            assert outcome.output["status"] == action["output"]["status"]
        else:
            assert to_cents(outcome.output) == to_cents(action["output"]), action["action_id"]
    final = export(store)
    for kind, records in task["changed_records"].items():
        for key, record in records.items():
            assert to_cents(final[kind][key]) == expected_record(task, kind, key, record), (kind, key)


def test_every_train_task_is_replayed() -> None:
    assert len(TASKS) == 74


@pytest.mark.parametrize("task_id", list(TASKS))
def test_replay_on_sqlite(task_id: str, sqlite_template: Any, tmp_path: Any) -> None:
    store = fresh_sqlite_store(sqlite_template, tmp_path)
    replay_and_compare(store, TASKS[task_id])
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("task_id", list(TASKS))
def test_replay_on_postgres(task_id: str, postgres_database: str, demo_data: StoreData) -> None:
    store = open_store(postgres_database)
    seed(store, demo_data, reset=True)
    replay_and_compare(store, TASKS[task_id])
    store.close()


def test_unchanged_tasks_leave_the_store_equal_to_the_demo_data(sqlite_template: Any, tmp_path: Any) -> None:
    store = fresh_sqlite_store(sqlite_template, tmp_path)
    before = export(store)
    for task in TASKS.values():
        if task["db_unchanged"]:
            replay_and_compare(store, task)
    assert export(store) == before
    store.close()
