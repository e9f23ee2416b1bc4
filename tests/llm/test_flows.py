"""Flows as data: the shipped flows load and check, a good file loads, and each kind of mistake in a flow file (an
unknown tool, argument, intent, entity type, resolver, answer, reply, or a reply needing a field the flow does not
give) fails when the flows load, with a message naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopkeep.llm.local.flows import FLOWS_DIR, FlowCatalog, FlowError, load_flows
from shopkeep.llm.local.policies.flow import KEYWORD_FLOWS, check_flows, flow_catalog
from shopkeep.tools import ToolKind, retail_registry

GOOD = """\
agent: orders
description: Cancel a pending order.
intents: [cancel_order]
requires:
  order_status: [pending]
slots:
  - name: order
    resolver: order
  - name: reason
    resolver: cancel_reason
    ask: orders.ask_cancel_reason
corrected_by: [cancel_reason]
tool:
  name: cancel_pending_order
  args:
    order_id: order.order_id
    reason: reason
replies:
  done: orders.cancel_done
  declined: orders.declined
  failed: orders.failed
  refused: orders.cancel_refused
"""


_ORDER_SLOT = "  - name: order\n    resolver: order\n"
_REASON_SLOT = "  - name: reason\n    resolver: cancel_reason\n    ask: orders.ask_cancel_reason\n"
_ORDER_THEN_REASON = _ORDER_SLOT + _REASON_SLOT
_REASON_THEN_ORDER = _REASON_SLOT + _ORDER_SLOT


@pytest.fixture(scope="module")
def catalog() -> FlowCatalog:
    return flow_catalog()


def _write(directory: Path, body: str, name: str = "cancel") -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_shipped_flows_check_and_cover_every_write_tool_of_the_orders() -> None:
    flows = check_flows()
    writes = {t.name for t in retail_registry() if t.kind is ToolKind.WRITE} - {"transfer_to_human_agents"}
    assert flows.write_tools == writes
    assert {name for _, name in KEYWORD_FLOWS} <= set(flows.by_name)
    assert flows.for_intent("cancel_order") is flows["cancel"]
    assert flows.for_tool("return_delivered_order_items") is flows["return"]


def test_a_good_file_loads_as_written(tmp_path: Path, catalog: FlowCatalog) -> None:
    _write(tmp_path, GOOD)
    flow = load_flows(catalog, tmp_path)["cancel"]
    assert flow.intents == ("cancel_order",)
    assert flow.tool is not None and flow.tool.args == {"order_id": "order.order_id", "reason": "reason"}
    assert [s.resolver for s in flow.slots] == ["order", "cancel_reason"]


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("name: cancel_pending_order", "name: cancel_everything", "tool.name", "unknown tool 'cancel_everything'"),
        ("    reason: reason", "    why: reason", "tool.args.why", "has no argument 'why'"),
        ("    reason: reason", "", "tool.args", "needs reason"),
        ("[cancel_order]", "[cancel_ordr]", "intents[0]", "unknown intent 'cancel_ordr'"),
        ("[cancel_reason]", "[mood]", "corrected_by[0]", "unknown entity type 'mood'"),
        ("resolver: cancel_reason", "resolver: why_not", "slots[1].resolver", "unknown resolver 'why_not'"),
        ("done: orders.cancel_done", "done: orders.canceled", "replies.done", "no reply 'orders.canceled'"),
        ("ask: orders.ask_cancel_reason", "ask: orders.which_order", "slots[1].ask", "needs listing"),
        ("    reason: reason", "    reason: mood", "tool.args.reason", "'mood' names no slot"),
        ("order_id: order.order_id", "order_id: order.number", "tool.args.order_id", "gives no field 'number'"),
        ("agent: orders", "agent: butler", "agent", "unknown agent 'butler'"),
        ("corrected_by:", "correctd_by:", "correctd_by", "Extra inputs are not permitted"),
        ("    ask: orders.ask_cancel_reason\n", "", "slots[1].ask", "name the reply that asks"),
        ("  refused: orders.cancel_refused\n", "", "replies.refused", "says when the order's status refuses"),
        (_ORDER_THEN_REASON, _REASON_THEN_ORDER, "slots[0].resolver", "reads the slots ['order']"),
    ],
)
def test_each_mistake_fails_naming_the_file_and_the_field(
    tmp_path: Path, catalog: FlowCatalog, old: str, new: str, field: str, message: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(FlowError) as raised:
        load_flows(catalog, tmp_path)
    assert str(path) in str(raised.value)
    assert f": {field}: " in str(raised.value) and message in str(raised.value)


def test_a_read_flow_names_a_known_answer_and_no_tool(tmp_path: Path, catalog: FlowCatalog) -> None:
    _write(tmp_path, "agent: orders\ndescription: x\nintents: [order_status_list]\nanswer: list\n", "list")
    assert load_flows(catalog, tmp_path)["list"].answer == "list"
    _write(tmp_path, "agent: orders\ndescription: x\nintents: [order_status_list]\nanswer: horoscope\n", "list")
    with pytest.raises(FlowError, match=r"list\.yaml: answer: unknown answer 'horoscope'"):
        load_flows(catalog, tmp_path)


def test_every_mistake_of_every_file_is_reported_and_an_intent_starts_one_flow(
    tmp_path: Path, catalog: FlowCatalog
) -> None:
    _write(tmp_path, GOOD)
    _write(tmp_path, GOOD.replace("cancel_pending_order", "cancel_everything"), "cancel_again")
    _write(tmp_path, "agent: [orders\n", "broken")
    with pytest.raises(FlowError) as raised:
        load_flows(catalog, tmp_path)
    lines = str(raised.value).splitlines()
    assert any("broken.yaml: not valid YAML" in line for line in lines)
    assert any("cancel_again.yaml: tool.name: unknown tool" in line for line in lines)
    assert any("cancel_again.yaml: intents: 'cancel_order' already starts flow 'cancel'" in line for line in lines)


def test_the_flows_directory_is_data_flows() -> None:
    assert FLOWS_DIR.parts[-2:] == ("data", "flows")
