"""The remote embedders at their HTTP boundary, and the embedding cache.

``openai``: any OpenAI-compatible ``/v1/embeddings`` server, answered by ``httpx.MockTransport``: batching, order,
normalization, retries on 429/5xx/transport errors, clear errors otherwise. ``oci``: the real OCI SDK client
(requests signed with a key made for the test) whose transport replays recorded ``embedText`` exchanges.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter

from shopkeep.errors import EmbedderRetryableError, EmbedderUnavailableError
from shopkeep.retrieval.embedders import (
    BatchingEmbedder,
    EmbeddingCache,
    LocalEmbedder,
    RecentEmbeddings,
    cache_key,
    get_embedder,
)
from shopkeep.retrieval.embedders.oci import OciEmbedder
from shopkeep.retrieval.embedders.openai import OpenAIEmbedder
from shopkeep.settings import RetrievalSettings, Settings
from shopkeep.store import open_store

RECORDINGS = Path(__file__).parent / "recordings"

# openai-compatible -------------------------------------------------------------------------------------------------


def _vector(text: str, size: int = 4) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [float(b) + 1.0 for b in digest[:size]]


def _server(failures: Sequence[int | Exception] = (), size: int = 4) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """An embeddings server that first answers with ``failures`` (status codes or exceptions), then succeeds;
    it returns rows in reverse order, as servers may."""
    seen: list[httpx.Request] = []
    pending = list(failures)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if pending:
            failure = pending.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return httpx.Response(failure, json={"error": {"message": f"status {failure} from the test server"}})
        body = json.loads(request.content)
        rows = [{"index": i, "embedding": _vector(text, size)} for i, text in enumerate(body["input"])]
        return httpx.Response(200, json={"data": list(reversed(rows)), "model": body["model"]})

    return httpx.MockTransport(handle), seen


def _openai(transport: httpx.MockTransport, **kwargs: Any) -> OpenAIEmbedder:
    options: dict[str, Any] = {
        "model": "test-embed",
        "dimensions": 4,
        "base_url": "http://embed.test/v1",
        "api_key": "sk-test",
        "batch_size": 2,
        "retry_wait_s": 0,
    }
    return OpenAIEmbedder(transport=transport, **{**options, **kwargs})


def test_openai_batches_keeps_order_and_normalizes() -> None:
    transport, seen = _server()
    embedder = _openai(transport)
    texts = ["a", "b", "c", "d", "e"]
    vectors = embedder.embed_documents(texts)
    assert len(seen) == 3
    assert [json.loads(r.content)["input"] for r in seen] == [["a", "b"], ["c", "d"], ["e"]]
    assert all(r.url.path == "/v1/embeddings" and r.headers["authorization"] == "Bearer sk-test" for r in seen)
    assert json.loads(seen[0].content)["model"] == "test-embed"
    for text, vector in zip(texts, vectors, strict=True):
        raw = _vector(text)
        norm = math.sqrt(sum(x * x for x in raw))
        assert vector == pytest.approx([x / norm for x in raw])
    assert embedder.embed_query("c") == pytest.approx(vectors[2])
    assert embedder.name == "openai:test-embed" and embedder.dimensions == 4


@pytest.mark.parametrize("failure", [429, 503, httpx.ConnectError("refused")])
def test_openai_retries_transient_failures(failure: int | Exception) -> None:
    transport, seen = _server([failure, failure])
    assert len(_openai(transport, max_retries=2).embed_documents(["x"])) == 1
    assert len(seen) == 3


def test_openai_gives_up_after_its_retries_with_a_retryable_error() -> None:
    transport, seen = _server([429, 429, 429])
    with pytest.raises(EmbedderRetryableError, match="429"):
        _openai(transport, max_retries=1).embed_query("x")
    assert len(seen) == 2


def test_openai_reports_a_refused_request_with_the_servers_reason() -> None:
    transport, seen = _server([401])
    with pytest.raises(EmbedderUnavailableError, match="status 401 from the test server") as raised:
        _openai(transport).embed_query("x")
    assert "API_KEY" in raised.value.install
    assert len(seen) == 1


def test_openai_checks_the_vector_size_and_knows_common_models() -> None:
    transport, _ = _server(size=3)
    with pytest.raises(EmbedderUnavailableError, match="size 3, expected 4"):
        _openai(transport).embed_query("x")
    assert OpenAIEmbedder(model="text-embedding-3-small").dimensions == 1536
    with pytest.raises(EmbedderUnavailableError, match="unknown") as raised:
        OpenAIEmbedder(model="my-own-model")
    assert "SHOPKEEP_RETRIEVAL__DIMENSIONS" in raised.value.install


# oci -------------------------------------------------------------------------------------------------------------

TENANCY = "ocid1.tenancy.oc1..aaaaaaaatestonlytenancy"
USER = "ocid1.user.oc1..aaaaaaaatestonlyuser"
FINGERPRINT = ":".join(["3f"] * 16)
ENDPOINT = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaatestonlycompartment"


class Replay(BaseAdapter):
    """Answers the SDK's requests from a recording, checking method, path and signature."""

    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        super().__init__()
        self.exchanges = exchanges
        self.requests: list[PreparedRequest] = []

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        assert self.exchanges, f"unexpected request {request.method} {request.url}"
        exchange = self.exchanges.pop(0)
        assert (request.method, urlsplit(request.url or "").path) == (
            exchange["request"]["method"],
            exchange["request"]["path"],
        )
        signature = request.headers.get("authorization", "")
        assert signature.startswith("Signature ") and f'keyId="{TENANCY}/{USER}/{FINGERPRINT}"' in signature
        self.requests.append(request)
        response = Response()
        response.status_code = exchange["response"]["status"]
        response._content = json.dumps(exchange["response"]["body"]).encode()
        response.headers.update({"content-type": "application/json", "opc-request-id": "test"})
        response.url, response.request, response.encoding = request.url or "", request, "utf-8"
        return response

    def close(self) -> None:
        pass

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body or b"{}") for r in self.requests]


def _oci(recording: str, **kwargs: Any) -> tuple[OciEmbedder, Replay]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    config = {
        "tenancy": TENANCY,
        "user": USER,
        "fingerprint": FINGERPRINT,
        "key_file": "unused",
        "region": "us-chicago-1",
    }
    signer = oci.signer.Signer(TENANCY, USER, FINGERPRINT, None, private_key_content=pem)
    client = oci.generative_ai_inference.GenerativeAiInferenceClient(
        config, signer=signer, service_endpoint=ENDPOINT, retry_strategy=oci.retry.NoneRetryStrategy()
    )
    replay = Replay(json.loads((RECORDINGS / recording).read_text())["exchanges"])
    client.base_client.session.mount("https://", replay)
    options: dict[str, Any] = {"compartment_id": COMPARTMENT, "dimensions": 4, "batch_size": 2, "retry_wait_s": 0}
    return OciEmbedder(client=client, **{**options, **kwargs}), replay


def test_oci_shapes_requests_for_documents_and_queries() -> None:
    embedder, replay = _oci("oci_embed.json")
    vectors = embedder.embed_documents(["Tea Kettle", "Electric Kettle", "Returns policy"])
    query = embedder.embed_query("kettle for the stove")
    assert not replay.exchanges
    bodies = replay.bodies()
    assert [b["inputs"] for b in bodies] == [
        ["Tea Kettle", "Electric Kettle"],
        ["Returns policy"],
        ["kettle for the stove"],
    ]
    assert [b["inputType"] for b in bodies] == ["SEARCH_DOCUMENT", "SEARCH_DOCUMENT", "SEARCH_QUERY"]
    assert all(b["compartmentId"] == COMPARTMENT for b in bodies)
    assert all(b["servingMode"] == {"servingType": "ON_DEMAND", "modelId": "cohere.embed-english-v3.0"} for b in bodies)
    assert all(np.linalg.norm(v) == pytest.approx(1.0) for v in [*vectors, query])
    assert embedder.name == "oci:cohere.embed-english-v3.0"


def test_oci_retries_throttling_then_succeeds() -> None:
    embedder, replay = _oci("oci_embed_throttled.json", max_retries=2)
    assert len(embedder.embed_query("kettle")) == 4
    assert not replay.exchanges and len(replay.requests) == 2


def test_oci_reports_a_refused_request() -> None:
    embedder, _ = _oci("oci_embed_refused.json")
    with pytest.raises(EmbedderUnavailableError, match="404") as raised:
        embedder.embed_query("kettle")
    assert "COMPARTMENT_ID" in raised.value.install


def test_oci_needs_a_compartment() -> None:
    with pytest.raises(EmbedderUnavailableError, match="compartment"):
        OciEmbedder(compartment_id="", client=object())


# the factory and the cache ------------------------------------------------------------------------------------------


def test_get_embedder_follows_the_settings() -> None:
    local = get_embedder(Settings())
    assert isinstance(local, RecentEmbeddings) and isinstance(local.inner, BatchingEmbedder)
    assert isinstance(local.inner.inner, LocalEmbedder)
    openai = get_embedder(Settings(retrieval=RetrievalSettings(embedder="openai", model="text-embedding-3-large")))
    assert isinstance(openai, OpenAIEmbedder) and openai.dimensions == 3072
    with pytest.raises(EmbedderUnavailableError, match="compartment"):
        get_embedder(Settings(retrieval=RetrievalSettings(embedder="oci")))
    with pytest.raises(EmbedderUnavailableError, match="ships only"):
        get_embedder(Settings(retrieval=RetrievalSettings(model="bge-large")))


class Counting:
    """A stand-in model that counts the texts it is asked to embed."""

    def __init__(self, name: str = "test:counting") -> None:
        self.name, self.dimensions, self.embedded = name, 4, 0

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded += len(texts)
        return [_vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_the_cache_embeds_each_text_once_per_model(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'cache.db'}")
    try:
        model = Counting(f"test:{tmp_path.name}")
        cache = EmbeddingCache(model, store.engine)
        done: list[int] = []
        progress: Callable[[int], None] = done.append
        first = cache.vectors(["a", "b", "a"], batch_size=1, progress=progress)
        assert model.embedded == 2 and sum(done) == 3
        assert np.array_equal(first[0], first[2])
        again = EmbeddingCache(model, store.engine).vectors(["b", "a", "c"])
        assert model.embedded == 3
        assert np.array_equal(again[1], first[0])
        other = Counting(f"test:other-{tmp_path.name}")
        EmbeddingCache(other, store.engine).vectors(["a"])
        assert other.embedded == 1
        assert cache_key("m", "text") == hashlib.sha256(b"m\ntext").hexdigest()
    finally:
        store.close()
