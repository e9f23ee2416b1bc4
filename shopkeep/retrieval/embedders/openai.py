"""Any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama, llama.cpp, LM Studio) over httpx.

Texts go in batches of ``batch_size``; a transport failure, a 429 or a 5xx is retried with exponential backoff
(tenacity), anything else fails at once with the server's own message. Vectors come back L2-normalized so that a
dot product is the cosine similarity, as with the local model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from shopkeep.errors import EmbedderRetryableError, EmbedderUnavailableError

DEFAULT_MODEL = "text-embedding-3-small"
KNOWN_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def normalized(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [float(x) / norm for x in vector] if norm > 0 else [float(x) for x in vector]


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible server. ``transport`` lets tests answer with ``httpx.MockTransport``."""

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 64,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        retry_wait_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        size = dimensions or KNOWN_DIMENSIONS.get(model)
        if size is None:
            raise EmbedderUnavailableError(
                f"the vector size of embedding model {model!r} is unknown",
                install="set SHOPKEEP_RETRIEVAL__DIMENSIONS to the model's output size",
            )
        self.model = model
        self.name = f"openai:{model}"
        self.dimensions = size
        self.batch_size = batch_size
        self._max_retries = max_retries
        self._retry_wait_s = retry_wait_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout_s, transport=transport
        )

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(self._embed_batch(list(texts[start : start + self.batch_size])))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._embed_batch([text])[0]

    def close(self) -> None:
        self._client.close()

    def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        retrying = Retrying(
            retry=retry_if_exception_type(EmbedderRetryableError),
            stop=stop_after_attempt(self._max_retries + 1),
            wait=wait_exponential(multiplier=self._retry_wait_s, max=20 * self._retry_wait_s),
            reraise=True,
        )
        result: list[list[float]] = retrying(self._post, batch)
        return result

    def _post(self, batch: list[str]) -> list[list[float]]:
        payload = {"model": self.model, "input": batch, "encoding_format": "float"}
        try:
            response = self._client.post("embeddings", json=payload)
        except httpx.TransportError as exc:
            raise EmbedderRetryableError(
                f"the embedding server at {self._client.base_url} is unreachable: {exc}"
            ) from exc
        if response.status_code in RETRY_STATUS:
            raise EmbedderRetryableError(f"the embedding server answered {response.status_code}: {_detail(response)}")
        if response.status_code >= 400:
            raise EmbedderUnavailableError(
                f"the embedding server refused the request ({response.status_code}): {_detail(response)}",
                install="check SHOPKEEP_RETRIEVAL__MODEL, __BASE_URL and __API_KEY",
            )
        return self._vectors(response, len(batch))

    def _vectors(self, response: httpx.Response, expected: int) -> list[list[float]]:
        try:
            rows = sorted(response.json()["data"], key=lambda row: int(row["index"]))
            vectors = [normalized(row["embedding"]) for row in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderUnavailableError(f"the embedding server sent an unexpected answer: {exc!r}") from exc
        if len(vectors) != expected:
            raise EmbedderUnavailableError(f"the embedding server returned {len(vectors)} vectors for {expected} texts")
        if any(len(v) != self.dimensions for v in vectors):
            raise EmbedderUnavailableError(
                f"model {self.model!r} returned vectors of size {len(vectors[0])}, expected {self.dimensions}",
                install="set SHOPKEEP_RETRIEVAL__DIMENSIONS to the model's output size",
            )
        return vectors


def _detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", body["error"]))[:200]
    return str(body)[:200]
