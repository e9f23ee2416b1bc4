"""``shopkeep agents add|list|remove``: the token is printed once, stored only as an Argon2 hash, and works."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from shopkeep.cli.main import app
from shopkeep.inbox.accounts import AgentAccounts
from shopkeep.store import open_store
from shopkeep.store import schema as t


def test_agents_add_list_remove(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    added = runner.invoke(app, ["agents", "add", "Ana Lopez", "--role", "supervisor", "--store", url])
    assert added.exit_code == 0, added.output
    issued = json.loads(added.stdout)
    assert set(issued) == {"name", "role", "token"}
    assert issued["name"] == "Ana Lopez" and issued["role"] == "supervisor"
    assert issued["token"].startswith("ska_")
    plain = runner.invoke(app, ["agents", "add", "Ben", "--store", url])
    assert json.loads(plain.stdout)["role"] == "agent"
    again = runner.invoke(app, ["agents", "add", "Ben", "--store", url])
    assert again.exit_code == 2 and "already exists" in again.output
    assert runner.invoke(app, ["agents", "add", "Bad/Name", "--store", url]).exit_code == 2
    assert runner.invoke(app, ["agents", "add", "Cy", "--role", "admin", "--store", url]).exit_code == 2

    listed = runner.invoke(app, ["agents", "list", "--store", url])
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["name"], r["role"]) for r in rows] == [("Ana Lopez", "supervisor"), ("Ben", "agent")]
    assert "ska_" not in listed.stdout

    store = open_store(url)
    try:
        with store.session() as session:
            stored = session.connection.execute(select(t.human_agents)).all()
        secret = issued["token"].split(".", 1)[1]
        assert all(row.token_hash.startswith("$argon2id$") for row in stored)
        assert not any(secret in " ".join(str(v) for v in row) for row in stored)
        assert AgentAccounts(store).authenticate(issued["token"]).name == "Ana Lopez"
        removed = runner.invoke(app, ["agents", "remove", "Ana Lopez", "--store", url])
        assert removed.exit_code == 0 and json.loads(removed.stdout) == {"removed": "Ana Lopez"}
        missing = runner.invoke(app, ["agents", "remove", "Ana Lopez", "--store", url])
        assert missing.exit_code == 2 and "No agent named" in missing.output
        assert [a.name for a in AgentAccounts(store).list()] == ["Ben"]
    finally:
        store.close()
