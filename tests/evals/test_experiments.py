"""``shopkeep experiments report`` (outcomes per variant from the stored events, with Wilson intervals) and
``shopkeep experiments promote`` (blocked while the eval gate fails)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shopkeep.cli.main import app
from shopkeep.domain import ConversationEvent
from shopkeep.settings import get_settings
from shopkeep.store import SqlCommerceStore
from tests.evals.test_eval_compare import make_run

runner = CliRunner()
ENV = {"SHOPKEEP_EXPERIMENT__NAME": "tone", "SHOPKEEP_EXPERIMENT__VARIANTS": '{"control": {}, "terse": {}}'}

CONVERSATIONS: dict[str, tuple[str, list[tuple[str, dict[str, Any]]]]] = {
    # bought something and liked it
    "c1": (
        "control",
        [
            ("user", {"text": "buy"}),
            ("assistant", {"text": "ok"}),
            ("tool", {"name": "place_order", "ok": True}),
            ("order", {"order_id": "#W1", "value": "40.00", "currency": "USD"}),
            ("rating", {"value": "up"}),
        ],
    ),
    # handed to a person after two messages
    "c2": (
        "control",
        [("user", {"text": "a"}), ("user", {"text": "b"}), ("tool", {"name": "transfer_to_human_agents", "ok": True})],
    ),
    # answered, a failed order does not convert, disliked
    "t1": (
        "terse",
        [
            ("user", {"text": "x"}),
            ("user", {"text": "y"}),
            ("user", {"text": "z"}),
            ("tool", {"name": "place_order", "ok": False}),
            ("assistant", {"text": "sorry"}),
            ("rating", {"value": "down"}),
        ],
    ),
}


@pytest.fixture
def store_url(sqlite_store: SqlCommerceStore) -> str:
    with sqlite_store.session() as session:
        for conversation, (variant, events) in CONVERSATIONS.items():
            for kind, payload in events:
                session.append_event(
                    ConversationEvent(
                        conversation_id=conversation,
                        kind=kind,
                        payload=payload,
                        variant=variant,
                        created_at=datetime.now(UTC),
                    )
                )
        session.append_event(  # no variant: not part of any experiment
            ConversationEvent(conversation_id="n", kind="user", payload={}, created_at=datetime.now(UTC))
        )
    return str(sqlite_store.engine.url)


@pytest.fixture(autouse=True)
def _fresh_settings() -> Any:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_report_counts_outcomes_per_variant(store_url: str) -> None:
    result = runner.invoke(app, ["experiments", "report", "tone", "--store", store_url, "--json"], env=ENV)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["variants"]
    control, terse = rows["control"], rows["terse"]
    assert control["conversations"] == 2 and terse["conversations"] == 1
    assert control["converted"]["passed"] == 1 and terse["converted"]["passed"] == 0
    assert control["escalated"]["passed"] == 1 and control["resolved_without_human"]["passed"] == 1
    assert control["thumbs_up"] == {
        "passed": 1,
        "total": 1,
        "rate": 1.0,
        "ci95": pytest.approx([0.2065, 1.0], abs=1e-4),
    }
    assert terse["thumbs_up"]["passed"] == 0 and terse["thumbs_up"]["total"] == 1
    assert control["turns_to_resolution"] == 1.0 and terse["turns_to_resolution"] == 3.0
    # 1 of 2: the Wilson interval by hand, centre (0.5 + 1.92/2) / (1 + 3.84/2) = 0.5, half-width 0.4102
    assert control["converted"]["ci95"] == pytest.approx([0.0945, 0.9055], abs=1e-4)
    # revenue: control's two conversations are worth 40.00 and 0.00; a bootstrap mean is 0, 20 or 40 with
    # probabilities 1/4, 1/2, 1/4, so its 2.5 % and 97.5 % percentiles are 0 and 40
    assert control["revenue"] == {
        "USD": {
            "orders": 1,
            "revenue": "40.00",
            "order_value": "40.00",
            "per_conversation": "20.00",
            "per_conversation_ci95": ["0.00", "40.00"],
        }
    }
    assert terse["revenue"] == {}
    table = runner.invoke(app, ["experiments", "report", "tone", "--store", store_url], env=ENV)
    assert table.exit_code == 0 and "terse" in table.stdout
    assert "USD 20.00 [0.00, 40.00]" in table.stdout and "USD 40.00 (1)" in table.stdout


def test_the_revenue_interval_narrows_with_more_conversations() -> None:
    from decimal import Decimal

    from shopkeep.evals.experiments import bootstrap_interval

    few = bootstrap_interval([Decimal("10.00"), Decimal("0"), Decimal("30.00"), Decimal("0")])
    many = bootstrap_interval([Decimal("10.00"), Decimal("0"), Decimal("30.00"), Decimal("0")] * 50)
    assert few == bootstrap_interval([Decimal("10.00"), Decimal("0"), Decimal("30.00"), Decimal("0")])  # seeded
    for low, high in (few, many):
        assert Decimal(low) <= Decimal("10.00") <= Decimal(high)  # the mean is inside
    assert Decimal(many[1]) - Decimal(many[0]) < Decimal(few[1]) - Decimal(few[0])
    assert bootstrap_interval([Decimal("7.50")] * 3) == ["7.50", "7.50"]


def test_an_experiment_that_is_not_running_is_an_error(store_url: str) -> None:
    result = runner.invoke(app, ["experiments", "report", "other", "--store", store_url], env=ENV)
    assert result.exit_code == 2 and "no running experiment" in result.output


def test_promotion_is_blocked_while_the_eval_gate_fails(tmp_path: Path) -> None:
    baseline = {f"s{n}": True for n in range(30)}
    good, bad = (
        make_run(tmp_path, "good", baseline),
        make_run(tmp_path, "bad", {**baseline, **{f"s{n}": False for n in range(10)}}),
    )
    args = ["experiments", "promote", "tone", "terse", "--baseline", str(good)]
    blocked = runner.invoke(app, [*args, "--candidate", str(bad)], env=ENV)
    assert (
        blocked.exit_code == 1 and "blocked" in blocked.output and "SHOPKEEP_EXPERIMENT__WEIGHTS" not in blocked.stdout
    )
    passed = runner.invoke(app, [*args, "--candidate", str(good)], env=ENV)
    assert passed.exit_code == 0, passed.output
    assert """SHOPKEEP_EXPERIMENT__WEIGHTS='{"control": 0, "terse": 1}'""" in passed.stdout
    unknown = runner.invoke(
        app, ["experiments", "promote", "tone", "loud", "--baseline", str(good), "--candidate", str(good)], env=ENV
    )
    assert unknown.exit_code == 2
