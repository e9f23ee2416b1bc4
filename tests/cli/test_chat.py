"""``shopkeep chat --script``: a JSON transcript with the API's turn fields, on a fresh demo copy unless --store."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from typer.testing import CliRunner

from shopkeep.cli.main import app
from shopkeep.retrieval.demo import demo_cache_key
from shopkeep.settings import get_settings
from shopkeep.store import open_store
from shopkeep.store.seed import demo_db_path, demo_profile, read_tau2_db, seed
from shopkeep.store.shop import shop_records
from tests.cli.test_cli import restored_logging
from tests.conftest import DATA_DIR

runner = CliRunner()
TURN_FIELDS = {
    "user",
    "conversation_id",
    "reply",
    "agent",
    "intent",
    "confidence",
    "tool_calls",
    "awaiting_confirmation",
    "proposal",
    "mode",
    "products",
    "cart",
}
CANCEL_SCRIPT = [
    "I want to cancel my order #W2631563",
    "my email is mei.ahmed5231@example.com",
    "I no longer need it",
    "yes",
]


@pytest.fixture(scope="module", autouse=True)
def indexed_demo_cache(indexed_sqlite_template: Path) -> None:
    """``chat --script`` copies the indexed demo kept in ``var/demo``; the tests' indexed template (the same seed,
    the same index) fills that cache with the demo's profile, so the demo is not embedded a second time."""
    settings = get_settings()
    cached = settings.var_dir / "demo" / f"indexed-{demo_cache_key(settings)}.db"
    cached.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{cached}.lock"):
        if cached.is_file():
            return
        building = cached.with_name(f"{cached.stem}.tests.tmp")
        shutil.copy(indexed_sqlite_template, building)
        store = open_store(f"sqlite:///{building}")
        with store.session(write=True) as session:
            shop_records(session).save_profile(demo_profile(settings.data_dir))
        store.close()
        building.replace(cached)


@pytest.fixture(autouse=True)
def configured_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The configured store is a file that must never be created: scripts run on a copy or on --store.

    The var dir stays the default one, so the local brain's trained NLU is found in its cache."""
    path = tmp_path / "configured.db"
    monkeypatch.setenv("SHOPKEEP_STORE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("SHOPKEEP_CHECKPOINT_URL", f"sqlite:///{tmp_path / 'checkpoints.db'}")
    get_settings.cache_clear()
    with restored_logging():
        yield path
    get_settings.cache_clear()


def run_script(path: Path, *extra: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["chat", "--script", str(path), *extra])
    assert result.exit_code == 0, result.output
    turns: list[dict[str, Any]] = json.loads(result.stdout)
    return turns


def essentials(turns: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(t["user"], t["reply"], t["agent"], t["intent"], t["tool_calls"]) for t in turns]


def order_status(url: str, order_id: str) -> str:
    store = open_store(url)
    try:
        with store.session() as session:
            order = session.get_order(order_id)
        assert order is not None
        return order.status.value
    finally:
        store.close()


def test_a_plain_script_and_the_same_script_as_jsonl_give_the_same_transcript(
    tmp_path: Path, configured_store: Path
) -> None:
    plain = tmp_path / "cancel.txt"
    plain.write_text("\n".join(CANCEL_SCRIPT) + "\n\n", encoding="utf-8")
    jsonl = tmp_path / "cancel.jsonl"
    jsonl.write_text("\n".join(json.dumps({"user": text}) for text in CANCEL_SCRIPT) + "\n", encoding="utf-8")

    turns = run_script(plain)
    assert [t["user"] for t in turns] == CANCEL_SCRIPT
    assert all(set(t) == TURN_FIELDS for t in turns)
    assert turns[0]["intent"] == "cancel_order"
    assert turns[2]["awaiting_confirmation"] is True
    assert turns[2]["proposal"]["tool"] == "cancel_pending_order"
    assert turns[3]["tool_calls"] == [
        {"name": "cancel_pending_order", "arguments": turns[2]["proposal"]["arguments"], "ok": True}
    ]
    assert len({t["conversation_id"] for t in turns}) == 1
    assert essentials(run_script(jsonl)) == essentials(turns)  # a fresh demo copy each run: reproducible
    assert not configured_store.exists()


def test_a_script_runs_on_the_store_it_is_given(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    store = open_store(url)
    seed(store, read_tau2_db(demo_db_path(DATA_DIR)))
    store.close()
    script = tmp_path / "cancel.txt"
    script.write_text("\n".join(CANCEL_SCRIPT) + "\n", encoding="utf-8")
    turns = run_script(script, "--store", url)
    assert turns[-1]["tool_calls"][0]["ok"] is True
    assert order_status(url, "#W2631563") == "cancelled"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("\n \n", "holds no messages"),
        ('{"user": "hi"}\n{"text": "no user key"}\n', ':2: each JSON line must be an object with a "user" string'),
        ('{"user": "hi"}\n{not json\n', ":2: not valid JSON"),
    ],
)
def test_a_bad_script_fails_clearly(tmp_path: Path, content: str | None, message: str) -> None:
    script = tmp_path / "script.txt"
    if content is not None:
        script.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["chat", "--script", str(script)])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_an_overlong_line_is_refused_like_the_api_refuses_it(tmp_path: Path) -> None:
    script = tmp_path / "long.txt"
    script.write_text("hello\n" + "a" * 10_001 + "\n", encoding="utf-8")
    result = runner.invoke(app, ["chat", "--script", str(script)])
    assert result.exit_code == 2
    assert "message 2 is too long: 10,001 characters; at most 10,000" in " ".join(result.stderr.split())


def test_the_interactive_chat_answers_until_quit(configured_store: Path) -> None:
    """Interactive mode runs on the configured store (seeded with the demo store on first use)."""
    result = runner.invoke(app, ["chat"], input="Hi there!\n\n/quit\n")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "Shopkeep Demo Store assistant" in out
    assert configured_store.exists()


def test_a_script_without_a_store_searches_an_indexed_demo_copy(tmp_path: Path, configured_store: Path) -> None:
    script = tmp_path / "browse.txt"
    script.write_text("do you have hiking boots?\nhow long do I have to return something?\n", encoding="utf-8")
    boots, returns = run_script(script)
    assert "not been indexed" not in boots["reply"] + returns["reply"]
    assert any(card["name"] == "Hiking Boots" for card in boots["products"])
    assert "days" in returns["reply"]
    assert list((get_settings().var_dir / "demo").glob("indexed-*.db"))
    assert not configured_store.exists()
