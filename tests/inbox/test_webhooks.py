"""Escalation webhooks: signed bodies (HMAC-SHA256), retries with back-off on failures, never in the chat's path;
the app sends one on a new escalation, a claim and a resolution."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.api.app import create_app, escalation_webhooks
from shopkeep.inbox.webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, WebhookNotifier, sign
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import EscalationSettings, Settings
from shopkeep.store import SqlCommerceStore
from tests.api.inbox_helpers import agent_token, bearer, escalate, ticket_of

SECRET = "whsec-test"
URL = "https://hooks.example.com/shopkeep"


class Recorder:
    """A webhook receiver behind httpx.MockTransport: answers with the given statuses in turn, then 200."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)


def _notifier(handler: Any, attempts: int = 4) -> WebhookNotifier:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return WebhookNotifier(URL, SECRET, attempts=attempts, wait_s=0.01, client=client)


def _verified(request: httpx.Request) -> dict[str, Any]:
    expected = "sha256=" + hmac.new(SECRET.encode(), request.content, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers[SIGNATURE_HEADER], expected)
    body: dict[str, Any] = json.loads(request.content)
    assert request.headers[EVENT_HEADER] == body["event"]
    assert request.headers[DELIVERY_HEADER] == body["id"]
    return body


def test_a_delivery_is_signed_over_the_exact_body() -> None:
    recorder = Recorder()
    notifier = _notifier(recorder)
    assert notifier.send("escalation.created", {"id": "T-1", "summary": "ça va"}).result(timeout=5) is True
    notifier.close()
    (request,) = recorder.requests
    assert request.method == "POST" and str(request.url) == URL
    body = _verified(request)
    assert body["event"] == "escalation.created" and body["data"] == {"id": "T-1", "summary": "ça va"}
    assert sign(SECRET, b"{}") != sign("other", b"{}")


def _deliveries(outcome: str) -> float:
    return REGISTRY.get_sample_value("shopkeep_webhook_deliveries_total", {"outcome": outcome}) or 0.0


def test_failures_are_retried_then_given_up() -> None:
    before = {outcome: _deliveries(outcome) for outcome in ("delivered", "failed", "refused")}
    flaky = Recorder(503, 429)
    notifier = _notifier(flaky)
    assert notifier.send("escalation.claimed", {"id": "T-1"}).result(timeout=5) is True
    assert len(flaky.requests) == 3
    assert len({r.headers[DELIVERY_HEADER] for r in flaky.requests}) == 1  # one delivery id across retries
    down = Recorder(500, 500, 500, 500, 500)
    assert _notifier(down, attempts=3).send("escalation.claimed", {}).result(timeout=5) is False
    assert len(down.requests) == 3

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    assert _notifier(unreachable, attempts=2).send("escalation.resolved", {}).result(timeout=5) is False
    refused = Recorder(400)
    assert _notifier(refused).send("escalation.resolved", {}).result(timeout=5) is False
    assert len(refused.requests) == 1  # a 4xx is final
    counted = {outcome: _deliveries(outcome) - before[outcome] for outcome in before}
    assert counted == {"delivered": 1, "failed": 2, "refused": 1}
    notifier.close()


def test_sending_never_waits_for_the_receiver() -> None:
    release = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        release.wait(10)
        return httpx.Response(200)

    notifier = _notifier(slow)
    started = time.monotonic()
    future = notifier.send("escalation.created", {"id": "T-1"})
    returned_after = time.monotonic() - started
    assert not future.done()
    release.set()
    assert future.result(timeout=5) is True
    assert returned_after < 5  # far below the receiver's 10 s hold: send() only queued it
    notifier.close()


def test_the_webhook_needs_its_secret() -> None:
    assert escalation_webhooks(Settings()) is None
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        escalation_webhooks(Settings(escalation=EscalationSettings(webhook_url=URL)))
    configured = escalation_webhooks(Settings(escalation=EscalationSettings(webhook_url=URL, webhook_secret=SECRET)))
    assert isinstance(configured, WebhookNotifier)
    configured.close()


@pytest.fixture
def hooked(sqlite_store: SqlCommerceStore, nlu: NLU, tmp_path: Path) -> Iterator[tuple[TestClient, Recorder]]:
    settings = Settings(var_dir=tmp_path / "var")
    recorder = Recorder(500)  # the first delivery fails once: retried in the background
    with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
        service = build_service(settings, sqlite_store, checkpointer, nlu=nlu)
        app = create_app(settings, sqlite_store, service=service, webhooks=_notifier(recorder))
        with TestClient(app) as client:
            yield client, recorder


def test_the_app_sends_new_claimed_and_resolved_escalations(
    hooked: tuple[TestClient, Recorder], sqlite_store: SqlCommerceStore
) -> None:
    client, recorder = hooked
    ana = agent_token(sqlite_store, "Ana")
    conversation_id, _ = escalate(client)
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    client.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana))
    client.post(f"/v1/escalations/{ticket_id}/messages", json={"text": "hello"}, headers=bearer(ana))
    client.post(f"/v1/escalations/{ticket_id}/resolve", json={"note": "ok", "hand_back": True}, headers=bearer(ana))
    deadline = time.monotonic() + 10
    while len(recorder.requests) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    bodies = [_verified(request) for request in recorder.requests]
    delivered = sorted((b["event"], b["data"]["id"], b["data"]["status"]) for b in bodies)
    assert delivered == [
        ("escalation.claimed", ticket_id, "claimed"),
        ("escalation.created", ticket_id, "open"),
        ("escalation.created", ticket_id, "open"),  # the retry after the receiver's 500
        ("escalation.resolved", ticket_id, "resolved"),
    ]
    assert {b["data"]["conversation_id"] for b in bodies} == {conversation_id}
