"""Recent embeddings: one model call per customer message, however many parts of a turn read it.

In one turn the input screen, the NLU (router and brain) and the catalog or help-page search each ask for the
vector of the customer's message; without this each asked the model again (three to four calls a turn, about a
third of a turn's time on the local brain). ``RecentEmbeddings`` wraps any embedder and remembers the vectors of
the last ``RECENT_SIZE`` texts, process-wide per model (a vector is a function of the model's name and the text),
so every wrapper of one model in a process shares them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from shopkeep.retrieval.embedders.base import Embedder

RECENT_SIZE = 512
"""Texts remembered per model: the messages of the turns in flight and a few before, not a document cache
(documents have the store's ``EmbeddingCache``). Kept as float32 arrays: 512 x 384 dimensions is under 1 MB."""

_recent: dict[str, OrderedDict[str, npt.NDArray[np.float32]]] = {}
_lock = threading.Lock()


class RecentEmbeddings:
    """An ``Embedder`` that asks ``inner`` only for texts it has not embedded recently.

    For models whose query vector is their document vector (the local one: ``embed_query`` is one document) and
    whose vectors are float32, as they are kept so."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        with _lock:
            memo = _recent.setdefault(self.name, OrderedDict())
            found = {text: memo[text] for text in texts if text in memo}
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            vectors = self.inner.embed_documents(missing)
            found.update(
                (text, np.asarray(vector, dtype=np.float32)) for text, vector in zip(missing, vectors, strict=True)
            )
        with _lock:
            for text in texts:
                memo[text] = found[text]
                memo.move_to_end(text)
            while len(memo) > RECENT_SIZE:
                memo.popitem(last=False)
        return [found[text].tolist() for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def forget_recent() -> None:
    """Drop every remembered vector (tests that count model calls start from nothing)."""
    with _lock:
        _recent.clear()
