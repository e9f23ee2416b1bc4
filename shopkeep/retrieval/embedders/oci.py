"""OCI Generative AI embeddings (Cohere embed models) through langchain-oci's ``OCIGenAIEmbeddings``.

Documents are embedded with ``input_type=SEARCH_DOCUMENT`` and queries with ``SEARCH_QUERY``, as Cohere's v3+
models expect. The OCI SDK's own retry loop is switched off so that tenacity is the one retry policy, the same as
for the OpenAI-compatible embedder: throttling (429), server errors and transport failures are retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from shopkeep.errors import EmbedderRetryableError, EmbedderUnavailableError
from shopkeep.retrieval.embedders.openai import normalized

try:
    import oci
    from langchain_oci import OCIGenAIEmbeddings
    from langchain_oci.common.auth import create_oci_client_kwargs
except ImportError as _import_error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the OCI embedder needs the 'oci' extra (oci, langchain-oci): pip install 'shopkeep[oci]'"
    ) from _import_error

DEFAULT_MODEL = "cohere.embed-english-v3.0"
KNOWN_DIMENSIONS = {
    "cohere.embed-english-v3.0": 1024,
    "cohere.embed-multilingual-v3.0": 1024,
    "cohere.embed-english-light-v3.0": 384,
    "cohere.embed-multilingual-light-v3.0": 384,
    "cohere.embed-v4.0": 1536,
}
MAX_BATCH = 96  # the service's limit on texts per request
RETRY_STATUS = {409, 429, 500, 502, 503, 504}


def oci_client(*, service_endpoint: str, auth_type: str, auth_profile: str, config_file: str, timeout_s: float) -> Any:
    """A ``GenerativeAiInferenceClient`` with the SDK's retries off (tenacity retries instead)."""
    try:
        kwargs = create_oci_client_kwargs(
            auth_type=auth_type,
            service_endpoint=service_endpoint,
            auth_file_location=config_file,
            auth_profile=auth_profile,
            timeout=timeout_s,
        )
    except (oci.exceptions.ConfigFileNotFound, oci.exceptions.ProfileNotFound, oci.exceptions.InvalidConfig) as exc:
        raise EmbedderUnavailableError(
            f"OCI credentials are not usable: {exc}",
            install="create ~/.oci/config (oci setup config) or set SHOPKEEP_RETRIEVAL__OCI_AUTH_TYPE",
        ) from exc
    kwargs["retry_strategy"] = oci.retry.NoneRetryStrategy()
    return oci.generative_ai_inference.GenerativeAiInferenceClient(**kwargs)


class OciEmbedder:
    """Embeddings from OCI Generative AI. Pass ``client`` to reuse (or, in tests, to fake) the HTTP client."""

    def __init__(
        self,
        *,
        compartment_id: str,
        model: str = DEFAULT_MODEL,
        service_endpoint: str = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com",
        auth_type: str = "API_KEY",
        auth_profile: str = "DEFAULT",
        config_file: str = "~/.oci/config",
        dimensions: int | None = None,
        batch_size: int = MAX_BATCH,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        retry_wait_s: float = 0.5,
        client: Any = None,
    ) -> None:
        if not compartment_id:
            raise EmbedderUnavailableError(
                "the OCI embedder needs a compartment", install="set SHOPKEEP_RETRIEVAL__OCI_COMPARTMENT_ID"
            )
        size = dimensions or KNOWN_DIMENSIONS.get(model)
        if size is None:
            raise EmbedderUnavailableError(
                f"the vector size of OCI model {model!r} is unknown",
                install="set SHOPKEEP_RETRIEVAL__DIMENSIONS to the model's output size",
            )
        self.name = f"oci:{model}"
        self.dimensions = size
        self._max_retries = max_retries
        self._retry_wait_s = retry_wait_s
        client = client or oci_client(
            service_endpoint=service_endpoint,
            auth_type=auth_type,
            auth_profile=auth_profile,
            config_file=config_file,
            timeout_s=timeout_s,
        )
        common: dict[str, Any] = {
            "client": client,
            "model_id": model,
            "compartment_id": compartment_id,
            "service_endpoint": service_endpoint,
            "batch_size": min(batch_size, MAX_BATCH),
        }
        self._documents = OCIGenAIEmbeddings(input_type="SEARCH_DOCUMENT", **common)
        self._queries = OCIGenAIEmbeddings(input_type="SEARCH_QUERY", **common)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._checked(self._call(self._documents.embed_documents, list(texts)), len(texts))

    def embed_query(self, text: str) -> list[float]:
        return self._checked(self._call(self._queries.embed_documents, [text]), 1)[0]

    def _call(self, fn: Any, texts: list[str]) -> list[list[float]]:
        def attempt() -> list[list[float]]:
            try:
                result: list[list[float]] = fn(texts)
            except oci.exceptions.ServiceError as exc:
                if exc.status in RETRY_STATUS:
                    raise EmbedderRetryableError(f"OCI Generative AI answered {exc.status}: {exc.message}") from exc
                raise EmbedderUnavailableError(
                    f"OCI Generative AI refused the request ({exc.status} {exc.code}): {exc.message}",
                    install="check SHOPKEEP_RETRIEVAL__MODEL, __OCI_COMPARTMENT_ID and the OCI policies",
                ) from exc
            except (oci.exceptions.RequestException, oci.exceptions.BaseConnectTimeout) as exc:
                raise EmbedderRetryableError(f"OCI Generative AI is unreachable: {exc}") from exc
            return result

        retrying = Retrying(
            retry=retry_if_exception_type(EmbedderRetryableError),
            stop=stop_after_attempt(self._max_retries + 1),
            wait=wait_exponential(multiplier=self._retry_wait_s, max=20 * self._retry_wait_s),
            reraise=True,
        )
        return retrying(attempt)

    def _checked(self, vectors: list[list[float]], expected: int) -> list[list[float]]:
        if len(vectors) != expected:
            raise EmbedderUnavailableError(f"OCI returned {len(vectors)} vectors for {expected} texts")
        if any(len(v) != self.dimensions for v in vectors):
            raise EmbedderUnavailableError(
                f"OCI model returned vectors of size {len(vectors[0])}, expected {self.dimensions}",
                install="set SHOPKEEP_RETRIEVAL__DIMENSIONS to the model's output size",
            )
        return [normalized(v) for v in vectors]
