"""Micro-batching of embeddings (issue 16): callers that arrive while the model is busy are served by its next call,
together; a lone caller goes straight through; a model error reaches every caller of its batch. The model here is a
recording fake (the model boundary); one test checks the real local model gives the same vectors batched or not."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from shopkeep.retrieval.embedders.batching import BatchingEmbedder, shared_batcher
from shopkeep.retrieval.embedders.local import LocalEmbedder


class GatedModel:
    """Answers [len(text), n] per text; its first call waits until ``release`` is set, so callers pile up."""

    name = "gated"
    dimensions = 2

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(timeout=30)
        if self.fail and len(self.calls) > 1:
            raise RuntimeError("model crashed")
        return [[float(len(text)), float(len(self.calls))] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _call_in_threads(batcher: BatchingEmbedder, texts: list[str]) -> tuple[list[threading.Thread], dict[str, object]]:
    results: dict[str, object] = {}

    def call(text: str) -> None:
        try:
            results[text] = batcher.embed_query(text)
        except RuntimeError as error:
            results[text] = error

    threads = [threading.Thread(target=call, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    return threads, results


def _wait_until_queued(batcher: BatchingEmbedder, count: int) -> None:
    for _ in range(3000):
        with batcher._changed:
            if len(batcher._queue) == count:
                return
        threading.Event().wait(0.01)
    pytest.fail(f"{count} callers never queued")


def test_callers_arriving_while_the_model_runs_share_its_next_call() -> None:
    model = GatedModel()
    batcher = BatchingEmbedder(model)
    first, first_result = _call_in_threads(batcher, ["first"])
    assert model.entered.wait(timeout=30)
    later = ["hi", "do you sell boots?", "hi", "where is my order?"]
    threads, results = _call_in_threads(batcher, later)
    _wait_until_queued(batcher, len(later))
    model.release.set()
    for thread in [*first, *threads]:
        thread.join(timeout=30)
    assert model.calls == [["first"], ["hi", "do you sell boots?", "where is my order?"]]
    assert first_result == {"first": [5.0, 1.0]}
    assert results == {text: [float(len(text)), 2.0] for text in later}


def test_a_lone_caller_goes_straight_to_the_model() -> None:
    model = GatedModel()
    model.release.set()
    batcher = BatchingEmbedder(model)
    assert batcher.embed_documents(["a", "bb"]) == [[1.0, 1.0], [2.0, 1.0]]
    assert batcher.embed_documents([]) == []
    assert model.calls == [["a", "bb"]]


def test_a_model_error_reaches_every_caller_of_the_batch_and_the_next_call_runs() -> None:
    model = GatedModel(fail=True)
    batcher = BatchingEmbedder(model)
    first, _ = _call_in_threads(batcher, ["first"])
    assert model.entered.wait(timeout=30)
    threads, results = _call_in_threads(batcher, ["a", "b"])
    _wait_until_queued(batcher, 2)
    model.release.set()
    for thread in [*first, *threads]:
        thread.join(timeout=30)
    assert all(isinstance(result, RuntimeError) for result in results.values()) and len(results) == 2
    model.fail = False
    assert batcher.embed_query("again") == [5.0, 3.0]


def test_one_batcher_per_model_in_a_process() -> None:
    assert shared_batcher(GatedModel()) is shared_batcher(GatedModel())


def test_the_local_model_gives_the_same_vectors_batched_or_alone() -> None:
    model = LocalEmbedder()
    texts = ["do you have wireless headphones?", "cancel my order please", "hi"]
    batched = BatchingEmbedder(model).embed_documents(texts)
    alone = [model.embed_query(text) for text in texts]
    assert np.allclose(np.array(batched), np.array(alone), atol=1e-5)
