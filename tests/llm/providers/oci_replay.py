"""Replaying recorded OCI Generative AI HTTP exchanges under the real OCI SDK client (no network, no credentials).

The SDK client is built as in production, signing every request with an RSA key generated for the test run;
only its ``requests`` transport is replaced by an adapter that checks each request's method and path against the
recording and answers with the recorded response.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import oci
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter

RECORDINGS = Path(__file__).parent / "recordings"
ENDPOINT = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com"
TENANCY = "ocid1.tenancy.oc1..aaaaaaaatestonlytenancy"
USER = "ocid1.user.oc1..aaaaaaaatestonlyuser"
FINGERPRINT = ":".join(["3f"] * 16)


class ReplayAdapter(BaseAdapter):
    def __init__(self, recording: str) -> None:
        super().__init__()
        self.exchanges: list[dict[str, Any]] = json.loads((RECORDINGS / recording).read_text())["exchanges"]
        self.requests: list[PreparedRequest] = []

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        assert self.exchanges, f"unexpected request: {request.method} {request.url}"
        exchange = self.exchanges.pop(0)
        expected = exchange["request"]
        assert (request.method, urlsplit(request.url or "").path) == (expected["method"], expected["path"])
        assert request.headers.get("authorization", "").startswith('Signature algorithm="rsa-sha256"')
        self.requests.append(request)
        recorded = exchange["response"]
        response = Response()
        response.status_code = recorded["status"]
        response._content = json.dumps(recorded["body"]).encode()
        response.headers.update(
            {"content-type": "application/json", "content-length": str(len(response._content)), **recorded["headers"]}
        )
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body or b"{}") for r in self.requests]

    def assert_done(self) -> None:
        assert not self.exchanges, f"{len(self.exchanges)} recorded exchanges were never requested"


def replaying_client(recording: str, *, max_retries: int = 0) -> tuple[Any, ReplayAdapter]:
    """A ``GenerativeAiInferenceClient`` answering from ``recording``, with Shopkeep's retry strategy."""
    from shopkeep.llm.oci import retry_strategy

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
        config, signer=signer, service_endpoint=ENDPOINT, retry_strategy=retry_strategy(max_retries)
    )
    adapter = ReplayAdapter(recording)
    client.base_client.session.mount("https://", adapter)
    return client, adapter
