"""The knowledge eval's contamination check: questions that near-copy an indexed ``asked:`` line are found, the
retrieval eval reports without them, and a question that newly overlaps fails here until it is rewritten (or,
knowingly, listed in ``evals/retrieval/asked_overlap.txt``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopkeep.evals.contamination import ACCEPTED, THRESHOLD, accepted_overlap, closest_asked, overlapping
from shopkeep.evals.retrieval import KnowledgeCase, evaluate_search, load_knowledge_cases
from shopkeep.retrieval.embedders import LocalEmbedder
from tests.conftest import DATA_DIR


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


def test_no_new_question_overlaps_an_asked_line(embedder: LocalEmbedder) -> None:
    cases = load_knowledge_cases()
    found = overlapping([(k.id, k.question) for k in cases], DATA_DIR / "kb", embedder)
    accepted = accepted_overlap()
    new = [f"{o.question_id} ({o.similarity:.3f}): {o.question!r} ~ {o.page}: {o.asked!r}" for o in found]
    new = [line for line, o in zip(new, found, strict=True) if o.question_id not in accepted]
    assert not new, f"knowledge-eval questions within {THRESHOLD} of an asked: line (rewrite them):\n" + "\n".join(new)
    assert accepted <= {k.id for k in cases}, f"{ACCEPTED} lists unknown question ids"


def test_copies_and_near_copies_overlap_and_other_questions_do_not(tmp_path: Path, embedder: LocalEmbedder) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "passwords.md").write_text(
        "# Passwords\n\n## Resetting\n<!-- asked: forgot my password | the reset email never came -->\n"
        "Use the link on the sign-in page.\n"
    )
    questions = [
        ("copy", "Forgot my password!"),
        ("near", "the reset email never came to me"),
        ("other", "do you ship to canada"),
    ]
    closest = {o.question_id: o for o in closest_asked(questions, [("passwords", "forgot my password")], embedder)}
    assert closest["copy"].similarity == 1.0  # the same words, whatever the case and punctuation
    found = {o.question_id for o in overlapping(questions, kb, embedder)}
    assert found == {"copy", "near"}
    assert closest["other"].similarity < THRESHOLD


class _FixedSearch:
    """A search whose knowledge answers are fixed per question (the catalog is not asked)."""

    def __init__(self, answers: dict[str, tuple[str, str]]) -> None:
        self.answers = answers

    def search_knowledge(self, question: str, limit: int) -> list[object]:
        source, section = self.answers[question]
        return [type("P", (), {"source": source, "section": section})()]


def test_the_figures_without_overlap_leave_the_overlapping_questions_out() -> None:
    cases = [KnowledgeCase("a", "q1", "p", "s"), KnowledgeCase("b", "q2", "p", "s")]
    search = _FixedSearch({"q1": ("p", "s"), "q2": ("other", "x")})
    report = evaluate_search(search, [], cases, overlap=frozenset({"a"}))
    assert report["knowledge"]["overall"]["recall@10"] == 0.5
    assert report["knowledge_without_overlap"]["overall"] == {
        "queries": 1,
        **dict.fromkeys(("recall@5", "recall@10", "ndcg@10", "mrr"), 0.0),
    }
    assert [q["overlap"] for q in report["queries"]] == [True, False]
