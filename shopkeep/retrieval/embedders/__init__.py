"""Embedders behind one seam: ``local`` (offline default), ``oci`` and ``openai``."""

from shopkeep.retrieval.embedders.base import Embedder
from shopkeep.retrieval.embedders.local import LocalEmbedder

__all__ = ["Embedder", "LocalEmbedder"]
