"""``RecentEmbeddings``: the model is asked once for a text, by any wrapper of that model in the process."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from shopkeep.retrieval.embedders import recent
from shopkeep.retrieval.embedders.recent import RecentEmbeddings, forget_recent


class FakeModel:
    """A fake at the model boundary: a vector per text from its length, every call recorded."""

    dimensions = 2

    def __init__(self, name: str = "fake:model") -> None:
        self.name = name
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[float(len(text)), 1.0] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@pytest.fixture(autouse=True)
def _nothing_remembered() -> None:
    forget_recent()


def test_a_text_goes_to_the_model_once_across_wrappers_of_one_model() -> None:
    model = FakeModel()
    screen, search = RecentEmbeddings(model), RecentEmbeddings(model)
    assert screen.embed_documents(["hi", "bye", "hi"]) == [[2.0, 1.0], [3.0, 1.0], [2.0, 1.0]]
    assert search.embed_query("hi") == [2.0, 1.0]
    assert screen.embed_documents(["bye", "hello"]) == [[3.0, 1.0], [5.0, 1.0]]
    assert model.calls == [["hi", "bye"], ["hello"]]
    assert (screen.name, screen.dimensions) == ("fake:model", 2)


def test_models_do_not_share_vectors_and_old_texts_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recent, "RECENT_SIZE", 2)
    one, other = FakeModel("fake:one"), FakeModel("fake:other")
    RecentEmbeddings(one).embed_documents(["a", "b"])
    RecentEmbeddings(other).embed_documents(["a"])
    RecentEmbeddings(one).embed_documents(["c"])  # "a" is the oldest of three: dropped
    RecentEmbeddings(one).embed_documents(["a", "c"])
    assert one.calls == [["a", "b"], ["c"], ["a"]]
    assert other.calls == [["a"]]


def test_callers_get_their_own_lists() -> None:
    embedder = RecentEmbeddings(FakeModel())
    embedder.embed_query("hi").append(9.0)
    assert embedder.embed_query("hi") == [2.0, 1.0]
