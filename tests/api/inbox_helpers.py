"""Helpers for the human agents' tests: agents with tokens, a conversation handed to a person."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from shopkeep.domain import AgentRole
from shopkeep.inbox.accounts import AgentAccounts
from shopkeep.store import CommerceStore
from tests.api.helpers import say, start

HANDOFF = "I'd like to talk to a person"


def agent_token(store: CommerceStore, name: str, role: AgentRole = AgentRole.AGENT) -> str:
    return AgentAccounts(store).add(name, role).token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def escalate(client: TestClient, *before: str) -> tuple[str, dict[str, Any]]:
    """A conversation whose customer asked for a person: its id and the turn that handed it over."""
    conversation_id = start(client)
    for text in before:
        say(client, conversation_id, text)
    turn = say(client, conversation_id, HANDOFF)
    assert turn["mode"] == "human", turn
    return conversation_id, turn


def ticket_of(client: TestClient, token: str, conversation_id: str) -> dict[str, Any]:
    response = client.get("/v1/escalations", headers=bearer(token))
    assert response.status_code == 200, response.text
    found = [t for t in response.json() if t["conversation_id"] == conversation_id]
    assert len(found) == 1, response.json()
    ticket: dict[str, Any] = found[0]
    return ticket
