"""A card vault (Redis) that is down: the message carrying a card number is a 503 with ``Retry-After``, like the
other dependency failures, and nothing of the message (least of all the number) is recorded."""

from __future__ import annotations

import socket
from pathlib import Path

from fastapi.testclient import TestClient

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.api.app import create_app
from shopkeep.llm.local.nlu import NLU
from shopkeep.payments.vault import RedisCardVault
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore
from tests.api.helpers import say, start

CARD = "4242 4242 4242 4242"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_card_message_with_the_redis_vault_down_is_a_503_and_records_nothing(
    settings: Settings, sqlite_store: SqlCommerceStore, nlu: NLU, tmp_path: Path
) -> None:
    vault = RedisCardVault.from_url(f"redis://127.0.0.1:{closed_port()}/0")
    with open_checkpointer(f"sqlite:///{tmp_path / 'cp.db'}") as checkpointer:
        service = build_service(settings, sqlite_store, checkpointer, nlu=nlu, vault=vault)
        with TestClient(create_app(settings, sqlite_store, service=service)) as client:
            cid = start(client)
            say(client, cid, "hi")
            response = client.post(f"/v1/conversations/{cid}/messages", json={"text": f"my card is {CARD}"})
            transcript = client.get(f"/v1/conversations/{cid}").json()
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "service_unavailable"
    assert "4242" not in response.text and "redis" not in response.text.lower()
    recorded = str(transcript)
    assert "hi" in recorded and "4242" not in recorded and "my card is" not in recorded
