"""``shopkeep flows list|show|check``: the shipped flows listed, shown with their replies' wording, checked; a
broken flows directory fails ``check`` with exit code 1 and one line per mistake naming the file and the field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from shopkeep.cli.main import app
from shopkeep.llm.local.flows import FLOWS_DIR
from tests.cli.test_cli import restored_logging

runner = CliRunner()


def test_list_shows_every_flow_and_what_starts_it() -> None:
    with restored_logging():
        result = runner.invoke(app, ["flows", "list", "--json"])
    assert result.exit_code == 0, result.output
    flows = {f["name"]: f for f in json.loads(result.stdout)}
    assert set(flows) == {p.stem for p in FLOWS_DIR.glob("*.yaml")}
    assert flows["cancel"]["tool"] == "cancel_pending_order" and "cancel_order" in flows["cancel"]["intents"]
    assert flows["track"]["answer"] == "track" and flows["track"]["tool"] is None


def test_show_gives_the_slots_tool_and_the_replies_wording() -> None:
    with restored_logging():
        result = runner.invoke(app, ["flows", "show", "return"])
    assert result.exit_code == 0, result.output
    assert "tool: return_delivered_order_items(order_id=order.order_id" in result.stdout
    assert "slot refund_method: resolver refund_method - asks orders.ask_refund_method: Where should" in result.stdout
    assert "requires: a verified customer, an order that is delivered" in result.stdout
    with restored_logging():
        missing = runner.invoke(app, ["flows", "show", "teleport"])
    assert missing.exit_code != 0 and "no flow 'teleport'" in missing.output


def test_check_passes_on_the_shipped_flows_and_names_file_and_field_of_each_mistake(tmp_path: Path) -> None:
    with restored_logging():
        ok = runner.invoke(app, ["flows", "check"])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip() == f"{len(list(FLOWS_DIR.glob('*.yaml')))} flows OK"
    broken = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, broken)
    cancel = broken / "cancel.yaml"
    cancel.write_text(cancel.read_text().replace("cancel_pending_order", "cancel_it_all"), encoding="utf-8")
    payment = broken / "payment.yaml"
    payment.write_text(payment.read_text().replace("orders.payment_done", "orders.paid"), encoding="utf-8")
    with restored_logging():
        result = runner.invoke(app, ["flows", "check", "--dir", str(broken)])
    assert result.exit_code == 1
    assert "cancel.yaml: tool.name: unknown tool 'cancel_it_all'" in result.output
    assert "payment.yaml: replies.done: no reply 'orders.paid'" in result.output
