"""``shopkeep eval compare``: item-by-item changes, Wilson intervals and McNemar's exact test, checked against
values computed by hand, and the CI gate's exit code on a planted regression."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopkeep.cli.main import app
from shopkeep.evals.compare import compare_runs, mcnemar_exact, wilson_interval
from shopkeep.evals.results import EvalRun, ItemResult, RunMeta, SuiteResult

runner = CliRunner()


def make_run(tmp_path: Path, name: str, verdicts: dict[str, bool], scores: dict[str, float] | None = None) -> Path:
    items = [
        ItemResult(id=item_id, group="g", passed=passed, score=(scores or {}).get(item_id))
        for item_id, passed in verdicts.items()
    ]
    summary = {"pass_rate": sum(verdicts.values()) / len(verdicts)}
    run = EvalRun(
        meta=RunMeta(suites=["scenarios"]),
        suites={"scenarios": SuiteResult(name="scenarios", items=items, summary=summary)},
    )
    return run.write(tmp_path / name).parent


def test_wilson_interval_matches_hand_computed_values() -> None:
    # 8/10: centre (0.8 + 1.96^2/20) / (1 + 1.96^2/10) = 0.71674; half-width 0.22658
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_mcnemar_exact_matches_the_binomial_tail() -> None:
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    # b=1, c=6: 2 * (C(7,0) + C(7,1)) / 2^7 = 16/128
    assert mcnemar_exact(1, 6) == pytest.approx(0.125)
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 0) == 1.0


def test_items_that_changed_are_named_and_unmatched_ones_kept_apart(tmp_path: Path) -> None:
    a = make_run(tmp_path, "a", {"x": True, "y": False, "z": True, "old": True}, {"x": 0.5, "y": 0.25})
    b = make_run(tmp_path, "b", {"x": False, "y": True, "z": True, "new": False}, {"x": 0.25, "y": 1.0})
    (comparison,) = compare_runs(EvalRun.read(a), EvalRun.read(b))
    assert comparison.improved == ["y"] and comparison.regressed == ["x"]
    assert comparison.only_a == ["old"] and comparison.only_b == ["new"]
    assert comparison.paired == 3
    assert comparison.rate_a.passed == 3 and comparison.rate_b.passed == 2
    assert comparison.p_value == 1.0 and not comparison.significant_regression
    assert comparison.mean_score == {"a": 0.375, "b": 0.625, "paired": 2.0}


def test_the_gate_exits_non_zero_on_a_planted_regression(tmp_path: Path) -> None:
    baseline = {f"s{n}": True for n in range(30)}
    planted = {**baseline, **{f"s{n}": False for n in range(10)}}  # ten scenarios broken, none fixed
    a, b = make_run(tmp_path, "a", baseline), make_run(tmp_path, "b", planted)
    result = runner.invoke(app, ["eval", "compare", str(a), str(b), "--fail-on-regression", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    (suite,) = report["suites"]
    assert suite["regressed"] == [f"s{n}" for n in range(10)] and suite["improved"] == []
    assert suite["mcnemar_p"] == pytest.approx(2 / 1024)
    assert report["significant_regressions"] == ["scenarios"]
    # without the flag the comparison is only reported
    assert runner.invoke(app, ["eval", "compare", str(a), str(b)]).exit_code == 0
    # the reverse direction is an improvement, which never fails the gate
    result = runner.invoke(app, ["eval", "compare", str(b), str(a), "--fail-on-regression"])
    assert result.exit_code == 0, result.output
    assert "better" in result.stdout


def test_one_changed_item_is_not_significant(tmp_path: Path) -> None:
    baseline = {f"s{n}": True for n in range(30)}
    a, b = make_run(tmp_path, "a", baseline), make_run(tmp_path, "b", {**baseline, "s3": False})
    result = runner.invoke(app, ["eval", "compare", str(a), str(b), "--fail-on-regression"])
    assert result.exit_code == 0, result.output
    assert "s3" in result.stdout


def test_a_file_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "results.json"
    bogus.write_text("{}")
    a = make_run(tmp_path, "a", {"x": True})
    result = runner.invoke(app, ["eval", "compare", str(a), str(bogus)])
    assert result.exit_code == 2 and "schema_version" in result.output
