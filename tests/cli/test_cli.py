"""The ``shopkeep`` command: seed (idempotent), export (τ² layout round trip), tools list / call / replay, and the
clear failures for bad formats, unknown tools, bad JSON and bad replay files."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog
from typer.testing import CliRunner, Result

from shopkeep.cli.main import app
from shopkeep.settings import get_settings
from shopkeep.store import open_store
from shopkeep.store.seed import export, tau2_hash
from tests.conftest import TAU2_DIR
from tests.tau2 import dump_path, expected_record, expected_states, to_cents

INITIAL_HASH = "b25c9cb211f5efcaee5dd646054a73c4a9f43f4f5acc32c10713cd9f9ac20e9c"
TOOL_NAMES = [
    "find_user_id_by_email",
    "find_user_id_by_name_zip",
    "get_user_details",
    "get_order_details",
    "get_product_details",
    "get_item_details",
    "list_all_product_types",
    "calculate",
    "cancel_pending_order",
    "modify_pending_order_address",
    "modify_pending_order_items",
    "modify_pending_order_payment",
    "modify_user_address",
    "return_delivered_order_items",
    "exchange_delivered_order_items",
    "transfer_to_human_agents",
]

runner = CliRunner()


@contextmanager
def restored_logging() -> Iterator[None]:
    """Every command sets up logging on the runner's (soon closed) stderr: put the previous set-up back."""
    saved_structlog = structlog.get_config()
    root, alembic = logging.getLogger(), logging.getLogger("alembic")
    saved = (list(root.handlers), root.level, alembic.level)
    try:
        yield
    finally:
        structlog.configure(**saved_structlog)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        alembic.setLevel(saved[2])


def isolated_var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings read from a var dir under tmp_path (``get_settings`` is cached: cleared before and after)."""
    var = tmp_path / "var"
    monkeypatch.setenv("SHOPKEEP_VAR_DIR", str(var))
    monkeypatch.delenv("SHOPKEEP_STORE_URL", raising=False)
    get_settings.cache_clear()
    with restored_logging():
        yield var
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from isolated_var_dir(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store seeded through the CLI once, for the commands that only read it."""
    base = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{base / 'seeded.db'}"
    with pytest.MonkeyPatch.context() as patch, restored_logging():
        patch.setenv("SHOPKEEP_VAR_DIR", str(base / "var"))
        get_settings.cache_clear()
        result = runner.invoke(app, ["seed", "--store", url])
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return url


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def json_lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_settings_come_from_the_environment(var_dir: Path) -> None:
    assert get_settings().var_dir == var_dir
    assert get_settings().resolved_store_url() == f"sqlite:///{var_dir / 'shopkeep.db'}"


def test_seed_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    first = invoke("seed", "--store", url)
    assert first.exit_code == 0, first.output
    assert "+50 products, +500 customers, +1000 orders" in flat(first.stderr)
    second = invoke("seed", "--store", url)
    assert second.exit_code == 0, second.output
    assert "+0 products, +0 customers, +0 orders" in flat(second.stderr)
    store = open_store(url)
    try:
        assert tau2_hash(export(store)) == INITIAL_HASH
    finally:
        store.close()


def test_seed_of_a_missing_source_fails_clearly(tmp_path: Path) -> None:
    result = invoke("seed", "--store", f"sqlite:///{tmp_path / 'shop.db'}", "--source", str(tmp_path / "nope.json"))
    assert result.exit_code != 0
    assert "no such file" in flat(result.stderr)
    assert "nope.json" in flat(result.stderr)


def test_export_round_trips_the_demo_db(seeded_url: str, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    result = invoke("store", "export", "--format", "tau2", str(out), "--store", seeded_url)
    assert result.exit_code == 0, result.output
    exported = json.loads(out.read_text())
    assert exported == json.loads((TAU2_DIR / "db.json").read_text())
    assert tau2_hash(exported) == INITIAL_HASH


def test_export_in_an_unknown_format_fails_clearly(seeded_url: str, tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    result = invoke("store", "export", "--format", "csv", str(out), "--store", seeded_url)
    assert result.exit_code != 0
    assert "unknown format 'csv'" in flat(result.stderr)
    assert "tau2" in flat(result.stderr)
    assert not out.exists()


def test_tools_list_json() -> None:
    result = invoke("tools", "list", "--json")
    assert result.exit_code == 0, result.output
    tools = json.loads(result.stdout)
    assert [t["name"] for t in tools] == TOOL_NAMES
    assert {t["kind"] for t in tools} == {"read", "write", "generic"}
    kinds = [t["kind"] for t in tools]
    assert (kinds.count("read"), kinds.count("generic"), kinds.count("write")) == (7, 2, 7)
    assert all(t["arguments"]["type"] == "object" for t in tools)
    by_name = {t["name"]: t for t in tools}
    assert list(by_name["cancel_pending_order"]["arguments"]["properties"]) == ["order_id", "reason"]


def test_tools_list_table() -> None:
    result = invoke("tools", "list")
    assert result.exit_code == 0, result.output
    for name in TOOL_NAMES:
        assert name in result.stdout


def test_tools_call_prints_one_json_line(seeded_url: str) -> None:
    result = invoke("tools", "call", "get_order_details", "--args", '{"order_id": "#W2611340"}', "--store", seeded_url)
    assert result.exit_code == 0, result.output
    (record,) = json_lines(result)
    assert set(record) == {"name", "ok", "output", "error"}
    assert (record["name"], record["ok"], record["error"]) == ("get_order_details", True, None)
    assert record["output"]["order_id"] == "#W2611340"
    expected = json.loads((TAU2_DIR / "db.json").read_text())["orders"]["#W2611340"]
    assert {k: v for k, v in record["output"].items() if v is not None} == expected


def test_tools_call_of_a_failing_tool_exits_1_with_the_error(seeded_url: str) -> None:
    result = invoke("tools", "call", "get_order_details", "--args", '{"order_id": "#W0"}', "--store", seeded_url)
    assert result.exit_code == 1
    (record,) = json_lines(result)
    assert record == {"name": "get_order_details", "ok": False, "output": None, "error": "Error: Order not found"}


def test_tools_call_without_store_uses_the_seeded_default_under_var_dir(var_dir: Path) -> None:
    result = invoke("tools", "call", "find_user_id_by_email", "--args", '{"email": "james.johnson7869@example.com"}')
    assert result.exit_code == 0, result.output
    assert json_lines(result)[0]["output"] == "james_johnson_9321"
    assert (var_dir / "shopkeep.db").is_file()


def test_tools_call_of_an_unknown_tool_lists_the_tools() -> None:
    result = invoke("tools", "call", "nope")
    assert result.exit_code != 0
    message = flat(result.stderr)
    assert "Tool 'nope' not found." in message
    for name in TOOL_NAMES:
        assert name in message
    assert result.stdout == ""


def test_tools_call_with_bad_json_names_the_problem(seeded_url: str) -> None:
    result = invoke("tools", "call", "get_order_details", "--args", "not json", "--store", seeded_url)
    assert result.exit_code != 0
    message = flat(result.stderr)
    assert "--args is not valid JSON" in message
    assert "line 1, column 1" in message
    assert result.stdout == ""


def test_tools_call_on_an_unreachable_store_fails_clearly() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    result = invoke("tools", "call", "get_order_details", "--args", '{"order_id": "#W2611340"}', "--store", url)
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert "unavailable" in flat(result.stderr)


def task_calls(task_id: str) -> list[dict[str, Any]]:
    return [{"name": a["name"], "arguments": a["arguments"]} for a in expected_states()["tasks"][task_id]["actions"]]


def test_replay_prints_one_line_per_call_and_exports_the_end_state(var_dir: Path, tmp_path: Path) -> None:
    task = expected_states()["tasks"]["0"]
    calls = dump_path(tmp_path, "calls.json", task_calls("0"))
    out = tmp_path / "final.json"
    result = invoke("tools", "replay", str(calls), "--export", str(out))
    assert result.exit_code == 0, result.output
    lines = json_lines(result)
    assert len(lines) == len(task["actions"])
    for line, action in zip(lines, task["actions"], strict=True):
        assert set(line) == {"name", "ok", "output", "error"}
        assert line["name"] == action["name"]
        assert line["ok"] is not action["error"]
        assert to_cents(line["output"]) == to_cents(action["output"])
    final = json.loads(out.read_text())
    for key, record in task["changed_records"]["orders"].items():
        assert to_cents(final["orders"][key]) == expected_record(task, "orders", key, record)
    assert final["orders"]["#W2378156"]["status"] == "exchange requested"
    # the replay ran on a throw-away copy: the default store was never created
    assert not (var_dir / "shopkeep.db").exists()


def test_replay_reports_failing_calls_and_goes_on(tmp_path: Path) -> None:
    calls = [
        {"name": "nope", "arguments": {}},
        {"name": "get_order_details", "arguments": {"order_id": 7}},
        {"name": "get_order_details", "arguments": {"order_id": "#W2611340"}},
    ]
    result = invoke("tools", "replay", str(dump_path(tmp_path, "calls.json", calls)))
    assert result.exit_code == 0, result.output
    lines = json_lines(result)
    assert [line["ok"] for line in lines] == [False, False, True]
    assert lines[0]["error"] == "Error: Tool 'nope' not found."
    assert "order_id" in lines[1]["error"]


@pytest.mark.parametrize(
    "content",
    [{"name": "get_order_details"}, [1, 2], [{"arguments": {}}], "calls"],
    ids=["object", "numbers", "no-name", "string"],
)
def test_replay_of_a_file_that_is_not_a_list_of_calls_fails_clearly(content: Any, tmp_path: Path) -> None:
    result = invoke("tools", "replay", str(dump_path(tmp_path, "calls.json", content)))
    assert result.exit_code != 0
    assert "must hold a JSON list" in flat(result.stderr)
    assert result.stdout == ""


def test_replay_of_bad_json_or_a_missing_file_fails_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    result = invoke("tools", "replay", str(bad))
    assert result.exit_code != 0
    assert "is not valid JSON" in flat(result.stderr)
    missing = invoke("tools", "replay", str(tmp_path / "missing.json"))
    assert missing.exit_code != 0
    assert "no such file" in flat(missing.stderr)


def test_replay_with_store_mutates_that_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'target.db'}"
    assert invoke("seed", "--store", url).exit_code == 0
    calls = [{"name": "cancel_pending_order", "arguments": {"order_id": "#W1006327", "reason": "no longer needed"}}]
    result = invoke("tools", "replay", str(dump_path(tmp_path, "calls.json", calls)), "--store", url)
    assert result.exit_code == 0, result.output
    assert json_lines(result)[0]["ok"] is True
    store = open_store(url)
    try:
        with store.session() as session:
            order = session.get_order("#W1006327")
        assert order is not None
        assert order.status == "cancelled"
        assert order.cancel_reason == "no longer needed"
    finally:
        store.close()
