"""The conversation API contract over a real SQLite store and the real local brain: start, send, confirm, read.

The turn fields ``reply``, ``agent``, ``intent``, ``tool_calls`` (``name``, ``arguments``, ``ok``) and
``awaiting_confirmation`` are a public contract; these tests pin their names.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from shopkeep.store import SqlCommerceStore
from tests.api.helpers import EMAIL, PENDING_ORDER, order_status, say, start

CONTRACT_FIELDS = {"reply", "agent", "intent", "tool_calls", "awaiting_confirmation"}
EXTRA_FIELDS = {"conversation_id", "confidence", "proposal", "mode", "products", "cart"}


def reach_cancel_proposal(client: TestClient, conversation_id: str) -> dict[str, Any]:
    say(client, conversation_id, f"I want to cancel my order {PENDING_ORDER}")
    say(client, conversation_id, f"my email is {EMAIL}")
    turn = say(client, conversation_id, "I no longer need it")
    assert turn["awaiting_confirmation"] is True, turn
    return turn


def test_start_returns_201_with_an_id_and_its_location(client: TestClient) -> None:
    response = client.post("/v1/conversations")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id"}
    assert response.headers["location"] == f"/v1/conversations/{body['id']}"


def test_a_greeting_gets_a_reply_with_the_contract_fields(client: TestClient) -> None:
    cid = start(client)
    turn = say(client, cid, "Hi there!")
    assert set(turn) == CONTRACT_FIELDS | EXTRA_FIELDS
    assert turn["reply"].strip()
    assert turn["intent"] == "greeting"
    assert turn["agent"]
    assert turn["tool_calls"] == []
    assert turn["awaiting_confirmation"] is False
    assert turn["proposal"] is None
    assert turn["conversation_id"] == cid
    assert turn["mode"] == "bot"


def test_a_cancellation_runs_only_after_a_confirmed_proposal(
    client: TestClient, sqlite_store: SqlCommerceStore
) -> None:
    cid = start(client)
    first = say(client, cid, f"I want to cancel my order {PENDING_ORDER}")
    assert first["awaiting_confirmation"] is False
    assert "email" in first["reply"].lower()
    verified = say(client, cid, f"my email is {EMAIL}")
    assert [c["name"] for c in verified["tool_calls"]][:1] == ["find_user_id_by_email"]
    assert all(set(c) == {"name", "arguments", "ok"} for c in verified["tool_calls"])
    assert verified["tool_calls"][0] == {"name": "find_user_id_by_email", "arguments": {"email": EMAIL}, "ok": True}

    proposal_turn = say(client, cid, "I no longer need it")
    proposal = proposal_turn["proposal"]
    assert proposal_turn["awaiting_confirmation"] is True
    assert proposal["tool"] == "cancel_pending_order"
    assert proposal["arguments"]["order_id"] == PENDING_ORDER
    assert proposal_turn["reply"] == proposal["summary"]
    assert PENDING_ORDER in proposal["summary"]
    assert order_status(sqlite_store, PENDING_ORDER) == "pending"  # a proposal changes nothing

    done = say(client, cid, "yes", confirm=proposal["fingerprint"])
    assert done["awaiting_confirmation"] is False
    assert done["tool_calls"] == [{"name": "cancel_pending_order", "arguments": proposal["arguments"], "ok": True}]
    assert order_status(sqlite_store, PENDING_ORDER) == "cancelled"


def test_a_no_cancels_the_proposal_and_changes_nothing(client: TestClient, sqlite_store: SqlCommerceStore) -> None:
    cid = start(client)
    reach_cancel_proposal(client, cid)
    declined = say(client, cid, "no")
    assert declined["awaiting_confirmation"] is False
    assert [c["ok"] for c in declined["tool_calls"]] == [False]
    assert order_status(sqlite_store, PENDING_ORDER) == "pending"


def test_a_yes_for_another_fingerprint_does_not_run_the_action(
    client: TestClient, sqlite_store: SqlCommerceStore
) -> None:
    cid = start(client)
    proposal = reach_cancel_proposal(client, cid)["proposal"]
    again = say(client, cid, "yes", confirm="0000000000000000")
    assert again["awaiting_confirmation"] is True
    assert again["proposal"]["fingerprint"] == proposal["fingerprint"]
    assert order_status(sqlite_store, PENDING_ORDER) == "pending"


def test_the_transcript_lists_every_event(client: TestClient) -> None:
    cid = start(client)
    say(client, cid, "Hi there!")
    response = client.get(f"/v1/conversations/{cid}")
    assert response.status_code == 200
    transcript = response.json()
    assert transcript["id"] == cid
    assert transcript["pending_proposal"] is None
    events = transcript["events"]
    assert [e["kind"] for e in events] == ["started", "user", "assistant"]
    assert all(set(e) == {"id", "kind", "text", "payload", "created_at"} for e in events)
    assert events[1]["text"] == "Hi there!"
    assert events[2]["text"]
    assert events[0]["text"] is None
    assert events[0]["id"] < events[1]["id"] < events[2]["id"]


def test_the_transcript_shows_the_proposal_while_it_waits(client: TestClient) -> None:
    cid = start(client)
    proposal = reach_cancel_proposal(client, cid)["proposal"]
    pending = client.get(f"/v1/conversations/{cid}").json()["pending_proposal"]
    assert pending == {
        "fingerprint": proposal["fingerprint"],
        "tool": "cancel_pending_order",
        "summary": proposal["summary"],
    }
    say(client, cid, "yes", confirm=proposal["fingerprint"])
    after = client.get(f"/v1/conversations/{cid}").json()
    assert after["pending_proposal"] is None
    assert "tool" in [e["kind"] for e in after["events"]]


def test_a_message_at_the_size_limit_is_read_with_a_notice(client: TestClient) -> None:
    cid = start(client)
    turn = say(client, cid, "hello " + "a" * (10_000 - 6))
    assert "first 4,000 characters" in turn["reply"]


def test_messages_to_one_conversation_are_serialized(client: TestClient) -> None:
    """Concurrent messages never interleave: the transcript alternates customer and assistant."""
    cid = start(client)
    statuses: list[int] = []

    def post(text: str) -> None:
        statuses.append(client.post(f"/v1/conversations/{cid}/messages", json={"text": text}).status_code)

    threads = [threading.Thread(target=post, args=(text,)) for text in ("hello", "hi again", "good morning")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200, 200]
    kinds = [e["kind"] for e in client.get(f"/v1/conversations/{cid}").json()["events"] if e["kind"] != "tool"]
    assert kinds == ["started", "user", "assistant", "user", "assistant", "user", "assistant"]
