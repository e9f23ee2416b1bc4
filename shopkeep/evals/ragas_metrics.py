"""ragas metrics for knowledge answers and tool use, computed offline (no model, no network).

- Knowledge answers: ``NonLLMContextPrecisionWithReference`` and ``NonLLMContextRecall`` (the passages the
  assistant retrieved against the section that answers the question, matched by string similarity),
  ``IDBasedContextPrecision`` / ``IDBasedContextRecall`` (the same by passage id, ``source#section``), and
  ``NonLLMStringSimilarity`` (Levenshtein) between the reply and that section's text.
- Tool use: ``ToolCallAccuracy`` (the calls in the expected order) and ``ToolCallF1`` over a conversation's tool
  calls against a reference list. Scenario files name the tools, not their arguments, so both sides are compared by
  name only there.

The LLM-judged ragas metrics need a model, the *judge* (``judge_model``: the configured provider, or the one of
``SHOPKEEP_LLM__AGENTS__JUDGE__...``), and run only when one is configured:

- ``Faithfulness``: the share of the reply's statements the retrieved passages support (the judge splits the reply
  into statements, then gives each a verdict against the passages);
- ``ResponseRelevancy`` (answer relevancy): the judge writes ``STRICTNESS`` questions the reply answers; the score is
  their mean cosine similarity to the customer's question (local MiniLM embeddings), 0 when the reply is
  noncommittal;
- ``AgentGoalAccuracyWithoutReference``: the judge reads the conversation (customer, assistant, tool calls), names
  the customer's goal and the end state, and says whether the goal was reached (1 or 0).

They are ragas' LangChain-based metrics, because Shopkeep's providers are LangChain chat models (ragas' newer
metrics take an OpenAI-style client only, which OCI's model is not). A judged figure is the judge's opinion: it
moves with the judge model and its prompt, so compare runs judged by the same model only.

ragas is the optional extra ``shopkeep[ragas]``; its telemetry is switched off before it is imported.
"""

from __future__ import annotations

import asyncio
import math
import os
import warnings
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from shopkeep.settings import Settings

T = TypeVar("T")

STRICTNESS = 3
"""Questions the judge writes per reply for answer relevancy (ragas' default)."""
JUDGE_AGENT = "judge"
"""The agent name whose overrides pick the judge model: ``SHOPKEEP_LLM__AGENTS__JUDGE__MODEL=...``."""

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


def _run(scores: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Await ragas' scoring: on this thread, or, when this thread already runs an event loop (a notebook, a sync
    Playwright session), on a thread of its own, since ``asyncio.run`` cannot nest."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(scores())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(scores())).result()


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

    return _run(scores)


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

    return _run(scores)


class TextEmbedder(Protocol):
    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def judge_model(settings: Settings) -> BaseChatModel | None:
    """The model that judges answers and conversations, or None when no model is configured (the offline brain
    judges nothing). The provider's own model: a judge never falls back to the local brain."""
    from shopkeep.llm.config import ModelConfig
    from shopkeep.llm.providers import provider_model

    config = ModelConfig.for_agent(settings.llm, JUDGE_AGENT)
    if config.provider == "local":
        return None
    return provider_model(config).model


def judge_name(judge: Any) -> str | None:
    """The judge's model name, for a run's metadata and notes (None without a judge)."""
    if judge is None:
        return None
    return str(getattr(judge, "model_name", None) or getattr(judge, "model_id", None) or type(judge).__name__)


@contextmanager
def _langchain_wrappers() -> Iterator[None]:
    # ragas 0.4 deprecates its LangChain wrappers in favour of OpenAI-style clients; Shopkeep's providers are
    # LangChain chat models (OCI's has no such client), so the wrappers are the way in, and their warning says
    # nothing we can act on
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Langchain\w*Wrapper is deprecated", category=DeprecationWarning)
        yield


def _finite(scores: dict[str, float]) -> dict[str, float]:
    """ragas scores NaN when the judge's answer gave it nothing to score (no statements, no questions): left out."""
    return {name: value for name, value in scores.items() if math.isfinite(value)}


def judged_answer_metrics(
    judge: BaseChatModel, embedder: TextEmbedder, question: str, response: str, contexts: Sequence[str]
) -> dict[str, float]:
    """Faithfulness of ``response`` to ``contexts`` and its relevancy to ``question``, by the judge model."""
    _ragas()
    from langchain_core.embeddings import Embeddings
    from ragas.dataset_schema import SingleTurnSample
    from ragas.embeddings import LangchainEmbeddingsWrapper
    from ragas.llms import LangchainLLMWrapper
    from ragas.metrics._answer_relevance import ResponseRelevancy
    from ragas.metrics._faithfulness import Faithfulness

    class _Embeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text)

    sample = SingleTurnSample(user_input=question, response=response or "-", retrieved_contexts=list(contexts) or [""])
    with _langchain_wrappers():
        llm = LangchainLLMWrapper(judge)
        faithfulness = Faithfulness(llm=llm)
        relevancy = ResponseRelevancy(
            llm=llm, embeddings=LangchainEmbeddingsWrapper(_Embeddings()), strictness=STRICTNESS
        )

    async def scores() -> dict[str, float]:
        return {
            "faithfulness": float(await faithfulness.single_turn_ascore(sample)),
            "answer_relevancy": float(await relevancy.single_turn_ascore(sample)),
        }

    return _finite(_run(scores))


def agent_goal_accuracy(
    judge: BaseChatModel, turns: Sequence[tuple[str, str, Sequence[tuple[str, dict[str, Any], bool]]]]
) -> dict[str, float]:
    """Whether the conversation reached the customer's goal, by the judge model (1.0 or 0.0): ``turns`` are
    (customer message, reply, the turn's calls as (name, arguments, succeeded))."""
    _ragas()
    from ragas.dataset_schema import MultiTurnSample
    from ragas.llms import LangchainLLMWrapper
    from ragas.messages import AIMessage, HumanMessage, ToolCall, ToolMessage
    from ragas.metrics._goal_accuracy import AgentGoalAccuracyWithoutReference

    messages: list[HumanMessage | AIMessage | ToolMessage] = []
    for user, reply, calls in turns:
        messages.append(HumanMessage(content=user))
        if calls:
            messages.append(AIMessage(content="", tool_calls=[ToolCall(name=n, args=dict(a)) for n, a, _ in calls]))
            messages.extend(ToolMessage(content="succeeded" if ok else "failed") for _, _, ok in calls)
        messages.append(AIMessage(content=reply or "-"))
    with _langchain_wrappers():
        metric = AgentGoalAccuracyWithoutReference(llm=LangchainLLMWrapper(judge))
    sample = MultiTurnSample(user_input=messages)
    score = _run(lambda: metric.multi_turn_ascore(sample))
    return _finite({"agent_goal_accuracy": float(score)})
