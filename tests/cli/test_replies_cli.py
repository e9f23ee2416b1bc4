"""``shopkeep replies list|check``: the groups with their versions and counts, and the checks a product team runs
after editing the wording (a broken file, an include of nothing, a reply the code needs that is gone)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from shopkeep.cli.main import app
from shopkeep.replies import REPLIES_DIR, default_replies

runner = CliRunner()


def _copy(tmp_path: Path) -> Path:
    directory = tmp_path / "replies"
    shutil.copytree(REPLIES_DIR, directory)
    return directory


def test_list_gives_every_group_with_its_version_and_count() -> None:
    result = runner.invoke(app, ["replies", "list", "--json"])
    assert result.exit_code == 0, result.output
    groups = {row["group"]: row for row in json.loads(result.stdout)["groups"]}
    replies = default_replies()
    assert groups.keys() == replies.versions.keys()
    assert sum(row["replies"] for row in groups.values()) == len(replies.templates)
    assert groups["checkout"]["ref"] == f"checkout@{replies.versions['checkout']}"
    table = runner.invoke(app, ["replies", "list"])
    assert table.exit_code == 0 and "guardrails" in table.stdout


def test_check_passes_on_the_shipped_replies_and_a_new_version(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    cart = directory / "cart.yaml"
    cart.write_text(cart.read_text().replace("version: 1", "version: 2", 1), encoding="utf-8")
    result = runner.invoke(app, ["replies", "check", "--dir", str(directory)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok: {len(default_replies().templates)} replies")
    listed = json.loads(runner.invoke(app, ["replies", "list", "--dir", str(directory), "--json"]).stdout)
    assert {row["ref"] for row in listed["groups"]} >= {"cart@2", "base@1"}


def test_check_fails_with_what_is_wrong(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    checkout = directory / "checkout.yaml"
    original = checkout.read_text(encoding="utf-8")

    checkout.write_text(original.replace("{@base.anything_else}", "{@base.anything_more}"), encoding="utf-8")
    included = runner.invoke(app, ["replies", "check", "--dir", str(directory)])
    assert included.exit_code == 1 and "base.anything_more" in included.output

    checkout.write_text(original.replace("  empty_cart:", "  cart_is_empty:"), encoding="utf-8")
    renamed = runner.invoke(app, ["replies", "check", "--dir", str(directory)])
    assert renamed.exit_code == 1 and "checkout.empty_cart" in renamed.output

    checkout.write_text(original + "  broken: [unclosed\n", encoding="utf-8")
    unreadable = runner.invoke(app, ["replies", "check", "--dir", str(directory)])
    assert unreadable.exit_code == 1 and "checkout.yaml" in unreadable.output

    missing = runner.invoke(app, ["replies", "check", "--dir", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "no replies directory" in missing.output
