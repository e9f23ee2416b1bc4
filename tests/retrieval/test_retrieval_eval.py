"""The retrieval eval's metrics on hand-made rankings whose scores are worked out by hand (see the relevance rules
in ``shopkeep/evals/retrieval.py``), and one run through a stand-in search."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from shopkeep.evals.retrieval import (
    Hit,
    Judgment,
    KnowledgeCase,
    ProductCase,
    evaluate_search,
    load_knowledge_cases,
    load_product_cases,
    score_knowledge,
    score_products,
)

KETTLE = Judgment("kettle", None, 3)
CHEAPEST = Judgment("tea", frozenset({"t1"}), 2)
MUG = Judgment("mug", None, 1)


def test_product_metrics_worked_by_hand() -> None:
    hits = [
        Hit("tea", None),  # the product of a judgment that lists items: grade - 1 = 1
        Hit("lamp", None),  # not judged: 0
        Hit("kettle", "k9"),  # any variant of a null-items judgment: 3
        Hit("kettle", None),  # the same judgment again: 0
        Hit("tea", "t2"),  # tea is already credited: 0
    ]
    scores = score_products(hits, [KETTLE, CHEAPEST, MUG])
    dcg = 1 / math.log2(2) + 3 / math.log2(4)
    ideal = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert scores.ndcg_10 == pytest.approx(dcg / ideal)
    assert scores.recall_5 == pytest.approx(2 / 3)
    assert scores.recall_10 == pytest.approx(2 / 3)
    assert scores.mrr == 1.0


def test_the_wrong_variant_gains_nothing_and_recall_cuts_at_k() -> None:
    hits = [Hit("tea", "t2"), *[Hit(f"other{n}", None) for n in range(4)], Hit("tea", "t1"), Hit("mug", "m1")]
    scores = score_products(hits, [CHEAPEST, MUG])
    assert scores.recall_5 == 0.0
    assert scores.recall_10 == 1.0
    assert scores.mrr == pytest.approx(1 / 6)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert scores.ndcg_10 == pytest.approx((2 / math.log2(7) + 1 / math.log2(8)) / ideal)
    assert score_products([], [CHEAPEST]).ndcg_10 == 0.0


def test_knowledge_metrics_need_source_and_section() -> None:
    case = KnowledgeCase("k1", "how long do refunds take", "refunds", "Refund timing")
    ranked = [("refunds", "Checking on a refund"), ("returns", "Refund timing"), ("refunds", "Refund timing")]
    scores = score_knowledge(ranked, case)
    assert (scores.recall_5, scores.mrr) == (1.0, pytest.approx(1 / 3))
    assert scores.ndcg_10 == pytest.approx(1 / math.log2(4))
    assert score_knowledge(ranked[:2], case).recall_10 == 0.0


@dataclass
class _Results:
    hits: list[Hit]


@dataclass
class _Passage:
    source: str
    section: str | None


@dataclass
class StandIn:
    """Answers every catalog query with the same hits and every question with the same passages."""

    hits: list[Hit] = field(default_factory=list)
    passages: list[_Passage] = field(default_factory=list)

    def search(self, query: str, *, limit: int) -> _Results:
        return _Results(self.hits[:limit])

    def search_knowledge(self, question: str, *, limit: int) -> list[_Passage]:
        return self.passages[:limit]


def test_evaluate_search_averages_per_kind() -> None:
    cases = [
        ProductCase("p1", "kettle", "exact", (KETTLE,)),
        ProductCase("p2", "mug", "exact", (MUG,)),
        ProductCase("p3", "tea", "price", (CHEAPEST,)),
    ]
    search = StandIn(hits=[Hit("kettle", None), Hit("tea", "t1")], passages=[_Passage("refunds", "Refund timing")])
    questions = [KnowledgeCase("k1", "q", "refunds", "Refund timing"), KnowledgeCase("k2", "q", "x", "y")]
    report = evaluate_search(search, cases, questions)
    products = report["products"]
    assert products["by_kind"]["exact"]["recall@10"] == pytest.approx(0.5)
    assert products["by_kind"]["price"]["mrr"] == pytest.approx(0.5)
    assert products["overall"]["queries"] == 3
    assert report["knowledge"]["overall"]["recall@5"] == pytest.approx(0.5)


def test_the_labelled_sets_are_big_enough_and_well_formed() -> None:
    products, knowledge = load_product_cases(), load_knowledge_cases()
    assert len(products) >= 150 and len(knowledge) >= 60
    assert {"paraphrase", "misspelling", "option", "price"} <= {case.kind for case in products}
    assert all(case.judgments and all(1 <= j.grade <= 3 for j in case.judgments) for case in products)
