"""Thumbs up or down on a reply: ``POST /v1/conversations/{id}/ratings`` stores a ``rating`` event."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shopkeep.store import SqlCommerceStore


def test_a_rating_is_stored_as_an_event_of_the_conversation(client: TestClient, sqlite_store: SqlCommerceStore) -> None:
    conversation = client.post("/v1/conversations").json()["id"]
    assert client.post(f"/v1/conversations/{conversation}/ratings", json={"value": "down"}).status_code == 204
    assert (
        client.post(f"/v1/conversations/{conversation}/ratings", json={"value": "up", "event_id": 3}).status_code == 204
    )
    with sqlite_store.session() as session:
        ratings = [e.payload for e in session.list_events(conversation) if e.kind == "rating"]
    assert ratings == [{"value": "down", "event_id": None}, {"value": "up", "event_id": 3}]


def test_a_bad_value_or_an_unknown_conversation_is_refused(client: TestClient) -> None:
    conversation = client.post("/v1/conversations").json()["id"]
    assert client.post(f"/v1/conversations/{conversation}/ratings", json={"value": "meh"}).status_code == 422
    assert client.post("/v1/conversations/nope/ratings", json={"value": "up"}).status_code == 404
