"""The NLU eval's metrics on a tiny example whose figures were worked out by hand."""

from __future__ import annotations

import pytest

from shopkeep.evals.nlu import NLUCase, item_results, score
from shopkeep.llm.local.nlu import NLUResult

# gold, final intent (after the gate), classifier's raw top-1
_ROWS = [
    ("a", "a", "a"),
    ("a", "b", "b"),
    ("a", "b", "b"),
    ("b", "b", "b"),
    ("b", "out_of_scope", "b"),  # rejected by the gate: a false out-of-scope
    ("out_of_scope", "out_of_scope", "out_of_scope"),
    ("out_of_scope", "b", "b"),  # missed by the gate
]


def _example() -> tuple[list[NLUCase], list[NLUResult]]:
    cases = [NLUCase(text=f"message {n}", intent=gold) for n, (gold, _, _) in enumerate(_ROWS)]
    results = [
        NLUResult(text=f"message {n}", intent=final, confidence=0.6, top=((raw, 0.6), ("c", 0.2)))
        for n, (_, final, raw) in enumerate(_ROWS)
    ]
    return cases, results


def test_accuracy_macro_f1_and_the_gate() -> None:
    cases, results = _example()
    report = score(cases, results)
    assert report.cases == 7
    assert report.accuracy == pytest.approx(3 / 7)
    assert report.raw_accuracy == pytest.approx(4 / 7)
    per_intent = {s.intent: s for s in report.per_intent}
    # a: 1 right of 3, guessed once -> P 1, R 1/3, F1 1/2
    assert (per_intent["a"].precision, per_intent["a"].recall) == pytest.approx((1.0, 1 / 3))
    assert per_intent["a"].f1 == pytest.approx(0.5)
    # b: 1 right of 2, guessed 4 times -> P 1/4, R 1/2, F1 1/3
    assert per_intent["b"].f1 == pytest.approx(1 / 3)
    # out_of_scope: 1 right of 2, guessed twice -> F1 1/2
    assert per_intent["out_of_scope"].f1 == pytest.approx(0.5)
    assert report.macro_f1 == pytest.approx((0.5 + 1 / 3 + 0.5) / 3)
    oos = report.out_of_scope
    assert (oos.cases, oos.in_scope_cases) == (2, 5)
    assert oos.flagged == pytest.approx(1 / 2)  # out-of-scope recall
    assert oos.wrongly_rejected == pytest.approx(1 / 5)  # false-out-of-scope rate


def test_confusions_most_frequent_first() -> None:
    cases, results = _example()
    confusions = [(c.expected, c.predicted, c.count) for c in score(cases, results).confusions]
    assert confusions == [("a", "b", 2), ("b", "out_of_scope", 1), ("out_of_scope", "b", 1)]
    assert score(cases, results).confusions[0].examples == ["message 1", "message 2"]


def test_item_results() -> None:
    cases, results = _example()
    items = item_results(cases, results)
    assert [item.correct for item in items] == [True, False, False, True, False, True, False]
    assert items[4].expected == "b"
    assert items[4].predicted == "out_of_scope"
    assert items[4].raw == "b"


def test_empty_set_scores_zero() -> None:
    report = score([], [])
    assert (report.cases, report.accuracy, report.macro_f1) == (0, 0.0, 0.0)
