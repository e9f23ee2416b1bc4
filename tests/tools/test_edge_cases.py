"""τ²'s edge-case probes (``edge_cases.json``): each probe's calls, outputs, errors and end state on a fresh store.

Three probes differ from τ² on purpose (SEMANTICS.md, "Where this project differs"): the multi-item modification
is compared with the corrected expectation, and the two "modify payment, then cancel" probes are checked against
Shopkeep's own rule (one refund per method of its net paid amount; the customer ends whole).
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from shopkeep.store import SqlCommerceStore
from shopkeep.store.seed import export
from shopkeep.tools import ToolContext, retail_registry
from tests.conftest import TAU2_DIR, fresh_sqlite_store
from tests.tau2 import corrected_order, edge_cases, to_cents

REGISTRY = retail_registry()
PROBES = {probe["title"]: probe for probe in edge_cases()}

MULTI_ITEM = "modify items: two items at once, paid with the order's gift card (note price/options of modified items)"
PAYMENT_THEN_CANCEL = (
    "modify payment: credit card -> gift card, then cancel (a refund line per history line; gift card re-credited)",
    "modify payment: gift card -> credit card, then cancel (old gift card credited at modify AND twice more at cancel)",
)
DIFFERENT_ON_PURPOSE = {MULTI_ITEM, *PAYMENT_THEN_CANCEL}
COMPARED_WITH_TAU2 = [title for title in PROBES if title not in DIFFERENT_ON_PURPOSE]


@cache
def initial_state() -> dict[str, Any]:
    """db.json to the cent: what a fresh store exports (orders carry no unset optional field there)."""
    return to_cents(json.loads((TAU2_DIR / "db.json").read_text()))


def expected_state(changed: dict[str, dict[str, Any]], calls: list[dict[str, Any]]) -> dict[str, Any]:
    """The initial state overlaid with a probe's changed records (orders without None fields, to the cent)."""
    state = {kind: dict(records) for kind, records in initial_state().items()}
    for kind, records in changed.items():
        for key, record in records.items():
            if kind == "orders":
                record = {k: v for k, v in corrected_order(record, calls).items() if v is not None}
            state[kind][key] = to_cents(record)
    return state


def differing_records(actual: dict[str, Any], expected: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, key) of every record that differs, is missing or is extra."""
    return [
        (kind, key)
        for kind in ("products", "users", "orders")
        for key in sorted(set(actual[kind]) | set(expected[kind]))
        if actual[kind].get(key) != expected[kind].get(key)
    ]


def run_and_compare_calls(ctx: ToolContext, calls: list[dict[str, Any]]) -> list[Any]:
    """Run the calls in order; the ok flag, exact error text and outputs (to the cent) must match τ²'s."""
    outputs = []
    for n, call in enumerate(calls):
        outcome = REGISTRY.call(call["name"], call["arguments"], ctx)
        assert outcome.ok is not call["error"], (n, call["name"], outcome.error)
        if call["error"]:
            assert outcome.output is None
            assert outcome.error == call["output"], n
        else:
            assert outcome.error is None
            expected = call["output"]
            if call["name"] == "modify_pending_order_items":
                expected = corrected_order(expected, calls)
            assert to_cents(outcome.output) == to_cents(expected), (n, call["name"])
            if isinstance(expected, str):
                assert outcome.text == expected
            else:  # what the model reads is the record's JSON
                assert to_cents(json.loads(outcome.text)) == to_cents(expected)
        outputs.append(outcome.output)
    return outputs


@pytest.fixture
def fresh_store(sqlite_template: Path, tmp_path: Path) -> Any:
    store = fresh_sqlite_store(sqlite_template, tmp_path)
    yield store
    store.close()


def test_all_probes_are_covered() -> None:
    assert len(PROBES) == 51
    assert set(PROBES) >= DIFFERENT_ON_PURPOSE
    assert len(COMPARED_WITH_TAU2) == 48


def test_a_fresh_store_exports_the_initial_state(fresh_store: SqlCommerceStore) -> None:
    assert differing_records(to_cents(export(fresh_store)), initial_state()) == []


@pytest.mark.parametrize("title", COMPARED_WITH_TAU2)
def test_probe_matches_tau2(title: str, fresh_store: SqlCommerceStore) -> None:
    probe = PROBES[title]
    run_and_compare_calls(ToolContext(store=fresh_store), probe["calls"])
    expected = expected_state(probe["changed_records"], probe["calls"])
    assert differing_records(to_cents(export(fresh_store)), expected) == []
    assert probe["db_unchanged"] is (expected == initial_state())


def test_multi_item_modification_gives_each_line_its_own_variant(fresh_store: SqlCommerceStore) -> None:
    """Difference 1: compare with τ²'s expectation corrected line by line (and everything else exactly)."""
    probe = PROBES[MULTI_ITEM]
    call = probe["calls"][0]
    (output,) = run_and_compare_calls(ToolContext(store=fresh_store), probe["calls"])
    new_ids = call["arguments"]["new_item_ids"]
    lines = {item["item_id"]: item for item in output["items"]}
    # the two new variants have different prices and options: τ² would have given both the last one's
    assert lines[new_ids[0]]["options"] != lines[new_ids[1]]["options"]
    assert lines[new_ids[0]]["price"] != lines[new_ids[1]]["price"]
    assert to_cents(output) != to_cents(call["output"])
    expected = expected_state(probe["changed_records"], probe["calls"])
    assert differing_records(to_cents(export(fresh_store)), expected) == []


def _dec(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.01"))


def _net_by_method(history: list[dict[str, Any]]) -> dict[str, Decimal]:
    net: dict[str, Decimal] = {}
    for entry in history:
        sign = 1 if entry["transaction_type"] == "payment" else -1
        net[entry["payment_method_id"]] = net.get(entry["payment_method_id"], Decimal("0.00")) + sign * _dec(
            entry["amount"]
        )
    return net


def _gift_cards(user: dict[str, Any]) -> dict[str, Decimal]:
    return {m["id"]: _dec(m["balance"]) for m in user["payment_methods"].values() if m["source"] == "gift_card"}


@pytest.mark.parametrize("title", PAYMENT_THEN_CANCEL)
def test_cancel_after_payment_change_refunds_what_was_paid(title: str, fresh_store: SqlCommerceStore) -> None:
    """Difference 3: one refund per method with a positive net paid amount; gift cards make the customer whole."""
    probe = PROBES[title]
    change, cancel = probe["calls"]
    order_id = change["arguments"]["order_id"]
    ctx = ToolContext(store=fresh_store)
    before_order = REGISTRY.call("get_order_details", {"order_id": order_id}, ctx).output
    user_id = before_order["user_id"]
    before_user = REGISTRY.call("get_user_details", {"user_id": user_id}, ctx).output
    initial_cards = _gift_cards(before_user)
    assert initial_cards, "the probe involves a gift card"
    paid_before = _net_by_method(before_order["payment_history"])  # what the order had taken before the probe

    # the payment change itself is τ²-compatible
    (changed,) = run_and_compare_calls(ctx, [change])
    net = _net_by_method(changed["payment_history"])
    owed = {method: amount for method, amount in net.items() if amount > 0}
    assert len(owed) == 1

    outcome = REGISTRY.call(cancel["name"], cancel["arguments"], ctx)
    assert outcome.ok, outcome.error
    cancelled = outcome.output
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_reason"] == cancel["arguments"]["reason"]
    history = cancelled["payment_history"]
    assert history[: len(changed["payment_history"])] == changed["payment_history"]
    refunds = history[len(changed["payment_history"]) :]
    assert [(r["transaction_type"], r["payment_method_id"], _dec(r["amount"])) for r in refunds] == [
        ("refund", method, amount) for method, amount in owed.items()
    ]
    assert all(amount == 0 for amount in _net_by_method(history).values())
    assert len(history) < len(cancel["output"]["payment_history"])  # τ² refunds every line (6 lines)

    after_user = REGISTRY.call("get_user_details", {"user_id": user_id}, ctx).output
    for card, balance in _gift_cards(after_user).items():
        assert balance == initial_cards[card] + paid_before.get(card, Decimal("0.00")), card
    if not any(paid_before.get(card) for card in initial_cards):
        # no gift card had paid for the order before the probe: every card ends at its initial balance
        assert _gift_cards(after_user) == initial_cards
    stored = REGISTRY.call("get_order_details", {"order_id": order_id}, ctx).output
    assert stored == cancelled

    # nothing else changed: only this order, and only this user's gift-card balances
    final = to_cents(export(fresh_store))
    assert [key for key in differing_records(final, initial_state()) if key != ("orders", order_id)] == (
        [] if _gift_cards(after_user) == initial_cards else [("users", user_id)]
    )
    without_balances = {k: v for k, v in after_user.items() if k != "payment_methods"}
    assert without_balances == {k: v for k, v in before_user.items() if k != "payment_methods"}
