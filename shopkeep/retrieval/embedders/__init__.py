"""Embedders behind one seam: ``local`` (offline default), ``oci`` and ``openai``; ``get_embedder`` picks one."""

from __future__ import annotations

from shopkeep.errors import EmbedderUnavailableError
from shopkeep.retrieval.embedders.base import Embedder
from shopkeep.retrieval.embedders.batching import BatchingEmbedder, shared_batcher
from shopkeep.retrieval.embedders.cache import EmbeddingCache, cache_key
from shopkeep.retrieval.embedders.local import LocalEmbedder
from shopkeep.retrieval.embedders.recent import RecentEmbeddings
from shopkeep.settings import Settings

LOCAL_MODELS = ("", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


def get_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings.retrieval`` names. Vendor SDKs are imported only when their embedder is chosen."""
    config = settings.retrieval
    api_key = config.api_key.get_secret_value() if config.api_key else None
    if config.embedder == "openai":
        from shopkeep.retrieval.embedders.openai import DEFAULT_MODEL, OpenAIEmbedder

        return OpenAIEmbedder(
            model=config.model or DEFAULT_MODEL,
            base_url=config.base_url,
            api_key=api_key,
            dimensions=config.dimensions,
            batch_size=config.batch_size,
            timeout_s=config.timeout_s,
            max_retries=config.max_retries,
        )
    if config.embedder == "oci":
        from shopkeep.retrieval.embedders.oci import DEFAULT_MODEL as OCI_MODEL
        from shopkeep.retrieval.embedders.oci import OciEmbedder

        return OciEmbedder(
            compartment_id=config.oci_compartment_id,
            model=config.model or OCI_MODEL,
            service_endpoint=config.oci_service_endpoint,
            auth_type=config.oci_auth_type,
            auth_profile=config.oci_auth_profile,
            config_file=config.oci_config_file,
            dimensions=config.dimensions,
            batch_size=config.batch_size,
            timeout_s=config.timeout_s,
            max_retries=config.max_retries,
        )
    if config.model not in LOCAL_MODELS:
        raise EmbedderUnavailableError(
            f"the local embedder ships only all-MiniLM-L6-v2, not {config.model!r}",
            install="unset SHOPKEEP_RETRIEVAL__MODEL, or choose SHOPKEEP_RETRIEVAL__EMBEDDER=openai|oci",
        )
    # Search's query vector is often the customer's message, which the NLU and the input screen embed too; the
    # messages of concurrent turns meet the model as one batch.
    return RecentEmbeddings(shared_batcher(LocalEmbedder(batch_size=config.batch_size)))


__all__ = [
    "BatchingEmbedder",
    "Embedder",
    "EmbeddingCache",
    "LocalEmbedder",
    "RecentEmbeddings",
    "cache_key",
    "get_embedder",
]
