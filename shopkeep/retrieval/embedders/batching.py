"""Micro-batching: the messages of concurrent turns reach the embedding model together, as one batch.

Each turn runs in a thread of its own; without this, eight customers writing at once cost eight model calls that
compete for the same cores. ``BatchingEmbedder`` queues the texts of every caller; one caller at a time runs the
model, on everything queued when it starts, and hands each waiting caller its vectors. A lone caller never waits
for company (no batching window, so one client's latency is unchanged); callers that arrive while the model is
busy are batched into the next call.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from shopkeep.retrieval.embedders.base import Embedder


@dataclass
class _Job:
    texts: list[str]
    vectors: list[list[float]] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


class BatchingEmbedder:
    """An ``Embedder`` that batches the concurrent calls of ``inner``. For models whose query vector is their
    document vector (the local one), as ``embed_query`` is one document here."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions
        self._changed = threading.Condition()
        self._queue: list[_Job] = []
        self._busy = False

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        job = _Job(list(texts))
        if not job.texts:
            return []
        with self._changed:
            self._queue.append(job)
            while self._busy and not job.done:
                self._changed.wait()
            if not job.done:
                self._busy = True
                batch, self._queue = self._queue, []
        if not job.done:
            self._run(batch)
        if job.error is not None:
            raise job.error
        return job.vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _run(self, batch: list[_Job]) -> None:
        """One model call for every queued text (each text once), then wake the callers."""
        try:
            unique = list(dict.fromkeys(text for job in batch for text in job.texts))
            by_text = dict(zip(unique, self.inner.embed_documents(unique), strict=True))
            for job in batch:
                job.vectors = [by_text[text] for text in job.texts]
        except BaseException as error:  # every caller of the batch gets the model's error, not a hang
            for job in batch:
                job.error = error
        finally:
            with self._changed:
                for job in batch:
                    job.done = True
                self._busy = False
                self._changed.notify_all()


_shared: dict[str, BatchingEmbedder] = {}
_shared_lock = threading.Lock()


def shared_batcher(inner: Embedder) -> BatchingEmbedder:
    """The process's one batcher for ``inner``'s model (by name): the NLU, the input screen and search each build an
    embedder, and their concurrent calls must meet in one queue to be batched together."""
    with _shared_lock:
        batcher = _shared.get(inner.name)
        if batcher is None:
            batcher = _shared[inner.name] = BatchingEmbedder(inner)
        return batcher
