"""The same turn as server-sent events when the client asks for ``text/event-stream``."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from shopkeep.store import SqlCommerceStore
from tests.api.helpers import EMAIL, PENDING_ORDER, order_status, say, start

SSE = {"Accept": "text/event-stream"}


def events_of(body: str) -> list[tuple[str, Any]]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def stream(client: TestClient, cid: str, payload: dict[str, Any]) -> list[tuple[str, Any]]:
    response = client.post(f"/v1/conversations/{cid}/messages", json=payload, headers=SSE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    return events_of(response.text)


def test_a_greeting_streams_started_reply_and_completed(client: TestClient) -> None:
    cid = start(client)
    events = [(name, data) for name, data in stream(client, cid, {"text": "Hello!"}) if name != "reply.delta"]
    assert [name for name, _ in events] == ["turn.started", "reply", "turn.completed"]
    assert events[0][1] == {"conversation_id": cid}
    completed = events[-1][1]
    assert events[1][1] == {"text": completed["reply"], "agent": completed["agent"], "intent": completed["intent"]}
    assert completed["intent"] == "greeting"
    assert completed["tool_calls"] == []


def test_the_stream_carries_tool_calls_and_the_proposal_and_matches_the_json_turn(
    client: TestClient, sqlite_store: SqlCommerceStore
) -> None:
    cid = start(client)
    say(client, cid, f"I want to cancel my order {PENDING_ORDER}")
    verified = stream(client, cid, {"text": f"my email is {EMAIL}"})
    calls = [data for name, data in verified if name == "tool_call"]
    assert calls == verified[-1][1]["tool_calls"]
    assert calls[0] == {"name": "find_user_id_by_email", "arguments": {"email": EMAIL}, "ok": True}

    proposed = [e for e in stream(client, cid, {"text": "I no longer need it"}) if e[0] != "reply.delta"]
    names = [name for name, _ in proposed]
    assert names[0] == "turn.started"
    assert names[-3:] == ["proposal", "reply", "turn.completed"]
    proposal = dict(proposed)["proposal"]
    assert proposed[-1][1]["proposal"] == proposal
    assert proposed[-1][1]["awaiting_confirmation"] is True

    done = stream(client, cid, {"text": "yes", "confirm": proposal["fingerprint"]})
    assert [data["name"] for name, data in done if name == "tool_call"] == ["cancel_pending_order"]
    assert order_status(sqlite_store, PENDING_ORDER) == "cancelled"


def test_an_unknown_conversation_is_a_plain_404_not_a_stream(client: TestClient) -> None:
    response = client.post("/v1/conversations/nope/messages", json={"text": "hi"}, headers=SSE)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_bad_input_is_rejected_before_the_stream_starts(client: TestClient) -> None:
    cid = start(client)
    response = client.post(f"/v1/conversations/{cid}/messages", json={"text": " "}, headers=SSE)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"


def test_streamed_reply_text_adds_up_to_the_final_reply(client: TestClient) -> None:
    cid = start(client)
    events = stream(client, cid, {"text": "Hello!"})
    deltas = "".join(data["text"] for name, data in events if name == "reply.delta")
    assert deltas == dict(events)["turn.completed"]["reply"]


def test_a_card_number_never_comes_back(client: TestClient) -> None:
    cid = start(client)
    card = "4111 1111 1111 1111"
    events = stream(client, cid, {"text": f"please pay with my card {card}"})
    assert card not in json.dumps(events)
    assert "1111 1111" not in json.dumps(events)
    transcript = client.get(f"/v1/conversations/{cid}").text
    assert card not in transcript
