"""The embedding cache: document vectors kept in the store's database, keyed by sha256(model name + text).

Re-indexing a text that was embedded before (by the same model) costs one indexed lookup instead of a model call,
so an unchanged catalog re-indexes for free and switching back to a previous model is free too. A bounded
in-process memo (same keys) also spares the model when one process indexes several stores with the same texts
(a test session, an eval over several backends).
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, insert, select

from shopkeep.retrieval import schema as rs
from shopkeep.retrieval.embedders.base import Embedder

Vector = npt.NDArray[np.float32]
LOOKUP_CHUNK = 500
MEMO_SIZE = 50_000

_memo: OrderedDict[str, Vector] = OrderedDict()
_memo_lock = threading.Lock()


def _remember(vectors: dict[str, Vector]) -> None:
    with _memo_lock:
        for key, vector in vectors.items():
            _memo[key] = vector
            _memo.move_to_end(key)
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)


def _recall(keys: Sequence[str]) -> dict[str, Vector]:
    with _memo_lock:
        return {key: _memo[key] for key in keys if key in _memo}


def cache_key(model: str, text: str) -> str:
    """The cache key of a text under a model: sha256 of the model name, a newline, and the text."""
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()


def to_vector(values: Sequence[float] | Vector) -> Vector:
    return np.asarray(values, dtype=np.float32)


class EmbeddingCache:
    """Looks texts up in ``retrieval_embeddings``; embeds and stores the misses, one batch per transaction."""

    def __init__(self, embedder: Embedder, engine: Engine) -> None:
        self.embedder = embedder
        self._engine = engine
        self.hits = 0
        self.misses = 0

    def key(self, text: str) -> str:
        return cache_key(self.embedder.name, text)

    def lookup(self, keys: Sequence[str]) -> dict[str, Vector]:
        """The cached vectors among ``keys``."""
        found: dict[str, Vector] = {}
        table = rs.embeddings
        with self._engine.connect() as conn:
            for start in range(0, len(keys), LOOKUP_CHUNK):
                chunk = list(keys[start : start + LOOKUP_CHUNK])
                query = select(table.c.vector_key, table.c.vector).where(
                    table.c.vector_key.in_(chunk), table.c.model == self.embedder.name
                )
                for key, blob in conn.execute(query):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def vectors(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> list[Vector]:
        """One vector per text, in order; ``progress(n)`` is called as each batch of n texts is done."""
        keys = [self.key(text) for text in texts]
        uses = Counter(keys)
        known = self.lookup(list(uses))
        remembered = _recall([k for k in uses if k not in known])
        if remembered:
            self._store(remembered)
            known.update(remembered)
        missing = [k for k in uses if k not in known]
        text_of = dict(zip(keys, texts, strict=True))
        cached = sum(n for k, n in uses.items() if k in known)
        self.hits += cached
        if progress is not None and cached:
            progress(cached)
        for start in range(0, len(missing), batch_size):
            batch = missing[start : start + batch_size]
            embedded = dict(
                zip(
                    batch,
                    (to_vector(v) for v in self.embedder.embed_documents([text_of[k] for k in batch])),
                    strict=True,
                )
            )
            self._store(embedded)
            _remember(embedded)
            known.update(embedded)
            self.misses += len(batch)
            if progress is not None:
                progress(sum(uses[k] for k in batch))
        return [known[k] for k in keys]

    def _store(self, vectors: dict[str, Vector]) -> None:
        now = datetime.now(UTC)
        rows = [
            {
                "vector_key": key,
                "model": self.embedder.name,
                "dimensions": int(vector.shape[0]),
                "vector": vector.astype(np.float32).tobytes(),
                "created_at": now,
            }
            for key, vector in vectors.items()
        ]
        with self._engine.connect() as conn:
            conn.execution_options(shopkeep_write=True)
            with conn.begin():
                keys = list(vectors)
                have: set[str] = set()
                for start in range(0, len(keys), LOOKUP_CHUNK):
                    chunk = keys[start : start + LOOKUP_CHUNK]
                    found = conn.scalars(
                        select(rs.embeddings.c.vector_key).where(rs.embeddings.c.vector_key.in_(chunk))
                    )
                    have.update(found)
                fresh = [row for row in rows if row["vector_key"] not in have]
                if fresh:
                    conn.execute(insert(rs.embeddings), fresh)
