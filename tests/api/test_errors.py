"""Errors map to statuses in one place: a dead store is 503 with Retry-After, a crash is an opaque 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.agents.service import ConversationService, TurnResult
from shopkeep.api.app import create_app
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore
from tests.api.helpers import AppFactory, say, start


def test_a_dead_store_is_503_with_retry_after_and_no_details(app_for: AppFactory, down_store: SqlCommerceStore) -> None:
    with TestClient(app_for(down_store)) as client:
        started = client.post("/v1/conversations")
        transcript = client.get("/v1/conversations/0123456789abcdef")
        message = client.post("/v1/conversations/0123456789abcdef/messages", json={"text": "hi"})
    for response in (started, transcript, message):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["code"] == "service_unavailable"
        assert "127.0.0.1" not in response.text and "postgres" not in response.text


class BrokenService(ConversationService):
    """The real service, except that a turn crashes with a message that must not reach the client."""

    def send(self, conversation_id: str, text: str, *, confirm: str | None = None, **_: Any) -> TurnResult:
        raise RuntimeError("secret internals: /var/lib/db password=hunter2")


@pytest.fixture
def broken_client(settings: Settings, sqlite_store: SqlCommerceStore, nlu: NLU, tmp_path: Path) -> Any:
    with open_checkpointer(f"sqlite:///{tmp_path / 'cp.db'}") as checkpointer:
        real = build_service(settings, sqlite_store, checkpointer, nlu=nlu)
        broken = BrokenService(real._graph, sqlite_store)
        app = create_app(settings, sqlite_store, service=broken)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client


def test_an_unexpected_error_is_an_opaque_500_with_a_logged_id(broken_client: TestClient) -> None:
    cid = start(broken_client)
    with capture_logs() as logs:
        response = broken_client.post(f"/v1/conversations/{cid}/messages", json={"text": "hi"})
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert len(body["error_id"]) == 12
    assert "secret" not in response.text and "hunter2" not in response.text
    assert any(entry.get("error_id") == body["error_id"] for entry in logs)


def test_a_crash_mid_stream_is_an_error_event(broken_client: TestClient) -> None:
    cid = start(broken_client)
    response = broken_client.post(
        f"/v1/conversations/{cid}/messages", json={"text": "hi"}, headers={"Accept": "text/event-stream"}
    )
    assert response.status_code == 200
    assert response.text.startswith("event: turn.started\n")
    assert "event: error\n" in response.text
    assert '"status":500' in response.text and '"code":"internal_error"' in response.text
    assert "hunter2" not in response.text


def test_the_app_builds_its_own_service_and_checkpointer_at_start_up(
    sqlite_store: SqlCommerceStore, nlu: NLU, tmp_path: Path
) -> None:
    """Without an injected service the lifespan opens the configured checkpointer and builds the service.

    The settings keep the default var dir, so ``NLU.load`` finds the session's already trained instance."""
    checkpoints = tmp_path / "lifespan" / "checkpoints.db"
    settings = Settings(checkpoint_url=f"sqlite:///{checkpoints}")
    assert NLU.load(settings) is nlu
    with TestClient(create_app(settings, sqlite_store)) as client:
        cid = start(client)
        assert say(client, cid, "Hello!")["reply"]
    assert checkpoints.is_file()
