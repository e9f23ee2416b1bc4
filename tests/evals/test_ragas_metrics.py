"""ragas metrics on a small fixed set, checked against values computed by hand (offline: no model, no network)."""

from __future__ import annotations

import pytest

from shopkeep.evals import ragas_metrics

pytestmark = pytest.mark.skipif(not ragas_metrics.available(), reason="ragas is not installed (shopkeep[ragas])")

STANDARD = ("shipping#Standard", "Standard shipping costs $5.99 and is free over $100.")
EXPRESS = ("shipping#Express", "Express shipping costs $14.99 and arrives in two days.")
RETURNS = ("returns#Window", "You can return unused items within 30 days of delivery.")


def test_context_metrics_of_a_ranking_with_one_irrelevant_passage_in_the_middle() -> None:
    scores = ragas_metrics.knowledge_metrics(
        retrieved=[STANDARD, RETURNS, EXPRESS],
        reference=[STANDARD, EXPRESS],
        response="Standard shipping costs $5.99 and is free over $100.",
    )
    # average precision over the relevant ranks 1 and 3: (1/1 + 2/3) / 2
    assert scores["context_precision"] == pytest.approx(5 / 6, abs=1e-6)
    assert scores["context_recall"] == 1.0  # both reference passages were retrieved
    assert scores["id_context_precision"] == pytest.approx(2 / 3)  # 2 of the 3 retrieved ids are references
    assert scores["id_context_recall"] == 1.0
    # Levenshtein: the reply is the first reference line exactly; the second line (and the newline) is missing
    joined = STANDARD[1] + "\n" + EXPRESS[1]
    assert scores["string_similarity"] == pytest.approx(len(STANDARD[1]) / len(joined))


def test_context_metrics_when_the_answer_was_not_retrieved() -> None:
    scores = ragas_metrics.knowledge_metrics(retrieved=[RETURNS], reference=[STANDARD], response="no idea")
    assert scores["context_precision"] == pytest.approx(0.0, abs=1e-6)
    assert scores["context_recall"] == 0.0
    assert scores["id_context_precision"] == 0.0 and scores["id_context_recall"] == 0.0


def test_tool_call_accuracy_and_f1() -> None:
    turns = [
        ("cancel my order", "Which order?", [("find_user_id_by_email", {"email": "a@b.c"})]),
        ("#W1", "Cancel it?", [("get_order_details", {"order_id": "#W1"}), ("view_cart", {})]),
    ]
    reference = [("find_user_id_by_email", {"email": "a@b.c"}), ("get_order_details", {"order_id": "#W1"})]
    scores = ragas_metrics.tool_call_metrics(turns, reference)
    # 2 of 3 calls are expected (precision 2/3), both expected calls were made (recall 1): F1 = 0.8
    assert scores["tool_call_f1"] == pytest.approx(0.8)
    # an extra call breaks the exact sequence: ragas' strict accuracy scores it 0
    assert scores["tool_call_accuracy"] == 0.0
    exact = ragas_metrics.tool_call_metrics([*turns[:1], ("#W1", "Cancel it?", [reference[1]])], reference)
    assert exact == {"tool_call_accuracy": 1.0, "tool_call_f1": 1.0}
    wrong_argument = ragas_metrics.tool_call_metrics(
        [("x", "y", [("get_order_details", {"order_id": "#W2"})])], reference[1:]
    )
    assert wrong_argument["tool_call_f1"] == 0.0
