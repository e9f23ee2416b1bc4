"""ragas metrics for knowledge answers and tool use, computed offline (no model, no network).

- Knowledge answers: ``NonLLMContextPrecisionWithReference`` and ``NonLLMContextRecall`` (the passages the
  assistant retrieved against the section that answers the question, matched by string similarity),
  ``IDBasedContextPrecision`` / ``IDBasedContextRecall`` (the same by passage id, ``source#section``), and
  ``NonLLMStringSimilarity`` (Levenshtein) between the reply and that section's text.
- Tool use: ``ToolCallAccuracy`` (the calls in the expected order) and ``ToolCallF1`` over a conversation's tool
  calls against a reference list. Scenario files name the tools, not their arguments, so both sides are compared by
  name only there.

The LLM-judged ragas metrics (faithfulness, answer relevancy, agent goal accuracy) need a model; they are not
computed here. ragas is the optional extra ``shopkeep[ragas]``; its telemetry is switched off before it is imported.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import Sequence
from typing import Any

PassageRef = tuple[str, str]
"""(id, text) of a knowledge passage."""


def _ragas() -> None:
    # ragas reads this when it is imported; nothing of an eval run may leave the machine
    os.environ["RAGAS_DO_NOT_TRACK"] = "true"
    try:
        from ragas._analytics import get_userid
    except ImportError as exc:
        raise ImportError("ragas metrics need the ragas extra: pip install 'shopkeep[ragas]'") from exc
    with warnings.catch_warnings():
        # ragas' log formatter reads its install id from a file it leaves open (ragas 0.4.3); the id is cached
        # after the first read, so reading it here once keeps that ResourceWarning out of every later log line
        warnings.simplefilter("ignore", ResourceWarning)
        get_userid()


def available() -> bool:
    try:
        _ragas()
    except ImportError:
        return False
    return True


def knowledge_metrics(
    retrieved: Sequence[PassageRef], reference: Sequence[PassageRef], response: str
) -> dict[str, float]:
    """Context precision and recall (by string and by id) of ``retrieved`` against ``reference``, and the string
    similarity of ``response`` to the reference passages' text."""
    _ragas()
    from ragas.dataset_schema import SingleTurnSample
    from ragas.metrics._context_precision import IDBasedContextPrecision, NonLLMContextPrecisionWithReference
    from ragas.metrics._context_recall import IDBasedContextRecall, NonLLMContextRecall
    from ragas.metrics.collections import NonLLMStringSimilarity

    sample = SingleTurnSample(
        retrieved_contexts=[text for _, text in retrieved] or [""],
        reference_contexts=[text for _, text in reference],
        retrieved_context_ids=[key for key, _ in retrieved] or [""],
        reference_context_ids=[key for key, _ in reference],
    )

    async def scores() -> dict[str, float]:
        similarity = await NonLLMStringSimilarity().ascore(
            reference="\n".join(text for _, text in reference), response=response
        )
        return {
            "context_precision": float(await NonLLMContextPrecisionWithReference().single_turn_ascore(sample)),
            "context_recall": float(await NonLLMContextRecall().single_turn_ascore(sample)),
            "id_context_precision": float(await IDBasedContextPrecision().single_turn_ascore(sample)),
            "id_context_recall": float(await IDBasedContextRecall().single_turn_ascore(sample)),
            "string_similarity": float(similarity.value),
        }

    return asyncio.run(scores())


def tool_call_metrics(
    turns: Sequence[tuple[str, str, Sequence[tuple[str, dict[str, Any]]]]],
    reference: Sequence[tuple[str, dict[str, Any]]],
) -> dict[str, float]:
    """ToolCallAccuracy and ToolCallF1 of a conversation: ``turns`` are (customer message, reply, the turn's calls
    as (name, arguments)); ``reference`` the calls it should have made, in order."""
    _ragas()
    from ragas.messages import AIMessage, HumanMessage, ToolCall, ToolMessage
    from ragas.metrics.collections import ToolCallAccuracy, ToolCallF1

    messages: list[HumanMessage | AIMessage | ToolMessage] = []
    for user, reply, calls in turns:
        messages.append(HumanMessage(content=user))
        if calls:
            messages.append(AIMessage(content="", tool_calls=[ToolCall(name=n, args=dict(a)) for n, a in calls]))
            messages.extend(ToolMessage(content="done") for _ in calls)
        messages.append(AIMessage(content=reply or "-"))
    wanted = [ToolCall(name=n, args=dict(a)) for n, a in reference]

    async def scores() -> dict[str, float]:
        with warnings.catch_warnings():
            # ragas warns when the counts differ, and scores the sequence 0 then: the figure says it already
            warnings.filterwarnings("ignore", message="Length mismatch", category=UserWarning)
            accuracy = await ToolCallAccuracy().ascore(user_input=messages, reference_tool_calls=wanted)
        f1 = await ToolCallF1().ascore(user_input=messages, reference_tool_calls=wanted)
        return {"tool_call_accuracy": float(accuracy.value), "tool_call_f1": float(f1.value)}

    return asyncio.run(scores())
