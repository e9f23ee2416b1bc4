"""The ``Embedder`` seam: text in, unit-length vectors out, batched."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Embedder(Protocol):
    """Turns texts into vectors of ``dimensions`` floats. ``name`` identifies the model (it keys the cache)."""

    name: str
    dimensions: int

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for documents, in order; batched internally."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """The vector of one query."""
        ...
