"""ragas metrics on a small fixed set, checked against values computed by hand (offline: no network; the LLM-judged
ones with a scripted judge model)."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence

import pytest
from langchain_core.messages import AIMessage

from shopkeep.evals import ragas_metrics
from shopkeep.settings import Settings
from tests.support.scripted_model import ScriptedChatModel, say

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


# The LLM-judged metrics: the judge is the strict scripted model (the only fake, at the model boundary); ragas' own
# prompts and parsing run, and the scores are checked against what the judge's answers give by hand.


class AxisEmbedder:
    """Two-dimensional embeddings that make cosines easy to compute by hand: the question is (1, 0), a generated
    question (1, k) with k = its length mod 3."""

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, float(len(text) % 3)] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0]


def _json(value: object) -> AIMessage:
    return say(json.dumps(value))


def test_faithfulness_and_answer_relevancy_by_a_scripted_judge() -> None:
    reply = "You can return unused items within 30 days. Refunds reach you in 2 days."
    statements = ["Unused items can be returned within 30 days.", "Refunds reach the customer in 2 days."]
    asked = "how long do I have to return things please?"  # 43 characters: k = 1, cosine 1/sqrt(2)
    judge = ScriptedChatModel(
        steps=[
            _json({"statements": statements}),
            _json(
                {
                    "statements": [
                        {"statement": statements[0], "reason": "the passage says so", "verdict": 1},
                        {"statement": statements[1], "reason": "no passage says how fast", "verdict": 0},
                    ]
                }
            ),
            *[_json({"question": asked, "noncommittal": 0})] * ragas_metrics.STRICTNESS,
        ]
    )
    scores = ragas_metrics.judged_answer_metrics(
        judge, AxisEmbedder(), "what is your return policy?", reply, [RETURNS[1]]
    )
    assert scores["faithfulness"] == pytest.approx(1 / 2)  # one of two statements supported
    assert scores["answer_relevancy"] == pytest.approx(1 / math.sqrt(2))
    judge.assert_done()
    assert RETURNS[1] in str(judge.calls[1]) and reply in str(judge.calls[0])  # the judge saw passages and reply

    noncommittal = ScriptedChatModel(
        steps=[
            _json({"statements": ["The assistant does not know."]}),
            _json({"statements": [{"statement": "The assistant does not know.", "reason": "-", "verdict": 0}]}),
            *[_json({"question": asked, "noncommittal": 1})] * ragas_metrics.STRICTNESS,
        ]
    )
    scores = ragas_metrics.judged_answer_metrics(noncommittal, AxisEmbedder(), "returns?", "I don't know.", [])
    assert scores == {"faithfulness": 0.0, "answer_relevancy": 0.0}
    noncommittal.assert_done()


def test_agent_goal_accuracy_by_a_scripted_judge() -> None:
    turns = [
        ("cancel #W1 please", "Cancel #W1?", [("get_order_details", {"order_id": "#W1"}, True)]),
        ("yes", "It is cancelled.", [("cancel_pending_order", {"order_id": "#W1"}, True)]),
    ]
    reached = ScriptedChatModel(
        steps=[
            _json({"user_goal": "cancel order #W1", "end_state": "order #W1 cancelled"}),
            _json({"reason": "the order was cancelled as asked", "verdict": "1"}),
        ]
    )
    assert ragas_metrics.agent_goal_accuracy(reached, turns) == {"agent_goal_accuracy": 1.0}
    workflow = str(reached.calls[0])
    assert "cancel_pending_order" in workflow and "It is cancelled." in workflow  # the judge read the conversation
    reached.assert_done()
    missed = ScriptedChatModel(
        steps=[
            _json({"user_goal": "cancel order #W1", "end_state": "the cancellation failed"}),
            _json({"reason": "not cancelled", "verdict": "0"}),
        ]
    )
    assert ragas_metrics.agent_goal_accuracy(missed, turns) == {"agent_goal_accuracy": 0.0}
    missed.assert_done()


def test_no_judge_without_a_configured_model() -> None:
    assert ragas_metrics.judge_model(Settings(llm={"provider": "local"})) is None
    judged = Settings(llm={"provider": "local", "agents": {"judge": {"provider": "openai", "model": "gpt-x"}}})
    model = ragas_metrics.judge_model(judged)
    assert model is not None and type(model).__name__ == "ChatOpenAI"


def test_metrics_are_computed_inside_a_running_event_loop() -> None:
    """A notebook, or a sync Playwright session in the same thread, runs an event loop: scoring still works."""

    async def inside() -> dict[str, float]:
        return ragas_metrics.knowledge_metrics(retrieved=[RETURNS], reference=[STANDARD], response="no idea")

    assert asyncio.run(inside())["id_context_recall"] == 0.0
