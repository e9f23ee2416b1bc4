"""Helpers for the API tests: start a conversation, send a message, read an order's status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopkeep.store import CommerceStore, SqlCommerceStore

AppFactory = Callable[[CommerceStore], FastAPI]
DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none"
EMAIL = "mei.ahmed5231@example.com"
PENDING_ORDER = "#W2631563"  # mei_ahmed_5058's only pending order


def start(client: TestClient) -> str:
    response = client.post("/v1/conversations")
    assert response.status_code == 201, response.text
    conversation_id: str = response.json()["id"]
    return conversation_id


def say(client: TestClient, conversation_id: str, text: str, **extra: Any) -> dict[str, Any]:
    response = client.post(f"/v1/conversations/{conversation_id}/messages", json={"text": text, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def order_status(store: SqlCommerceStore, order_id: str) -> str:
    with store.session() as session:
        order = session.get_order(order_id)
    assert order is not None
    return order.status.value
