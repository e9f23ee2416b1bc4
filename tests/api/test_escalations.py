"""The escalation API: every route, every error (401, 403, 404, 409, 422), the hand-back and the closed conversation.

Real service (local brain), real SQLite store; conversations are handed to a person the way a customer does it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopkeep.domain import AgentRole
from shopkeep.inbox.accounts import AgentAccounts
from shopkeep.replies import reply
from shopkeep.store import SqlCommerceStore
from tests.api.helpers import EMAIL, say, start
from tests.api.inbox_helpers import agent_token, bearer, escalate, ticket_of

CARD = "4242 4242 4242 4242"


@pytest.fixture
def ana(sqlite_store: SqlCommerceStore) -> str:
    return agent_token(sqlite_store, "Ana")


@pytest.fixture
def ben(sqlite_store: SqlCommerceStore) -> str:
    return agent_token(sqlite_store, "Ben")


@pytest.fixture
def sue(sqlite_store: SqlCommerceStore) -> str:
    return agent_token(sqlite_store, "Sue", AgentRole.SUPERVISOR)


def _routes(ticket_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/v1/escalations/{ticket_id}"
    return [
        ("GET", "/v1/escalations", None),
        ("GET", "/v1/escalations/events", None),
        ("GET", base, None),
        ("POST", f"{base}/claim", None),
        ("POST", f"{base}/assign", {"agent": "Ana"}),
        ("POST", f"{base}/messages", {"text": "hello"}),
        ("POST", f"{base}/notes", {"text": "note"}),
        ("POST", f"{base}/resolve", {"note": "", "hand_back": True}),
    ]


def test_every_route_needs_a_valid_agent_token(client: TestClient, sqlite_store: SqlCommerceStore) -> None:
    conversation_id, _ = escalate(client)
    AgentAccounts(sqlite_store).add("Gone")
    gone = agent_token(sqlite_store, "Gone2")
    AgentAccounts(sqlite_store).remove("Gone2")
    forged = gone[:-4] + ("AAAA" if not gone.endswith("AAAA") else "BBBB")
    ana = agent_token(sqlite_store, "Ana")
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    refused = [
        {},
        {"Authorization": f"Bearer {conversation_id}"},  # a conversation id is never a token
        {"Authorization": ana},  # no scheme
        {"Authorization": f"Basic {ana}"},
        bearer(gone),  # a removed agent's token
        bearer(ana[:-4] + ("AAAA" if not ana.endswith("AAAA") else "BBBB")),  # right id, wrong secret
        bearer(forged),
    ]
    for method, path, body in _routes(ticket_id):
        for headers in refused:
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.json()["code"] == "unauthorized"
    assert client.get("/v1/escalations", headers=bearer(ana)).status_code == 200


def test_the_queue_lists_tickets_oldest_first_and_filters_by_status(client: TestClient, ana: str, ben: str) -> None:
    first, _ = escalate(client, f"Hi, my email is {EMAIL}")
    second, _ = escalate(client)
    queue = client.get("/v1/escalations", headers=bearer(ana)).json()
    assert [t["conversation_id"] for t in queue] == [first, second]
    ticket = queue[0]
    assert set(ticket) == {
        "id",
        "conversation_id",
        "status",
        "reason",
        "summary",
        "customer",
        "assignee",
        "created_at",
        "waiting_seconds",
    }
    assert ticket["status"] == "open" and ticket["assignee"] is None
    assert ticket["customer"] == {"id": "mei_ahmed_5058", "name": "Mei Ahmed"}
    assert queue[1]["customer"] is None
    assert isinstance(ticket["waiting_seconds"], int) and ticket["waiting_seconds"] >= 0
    assert ticket["summary"]
    claimed = client.post(f"/v1/escalations/{queue[1]['id']}/claim", headers=bearer(ben)).json()
    assert claimed["status"] == "claimed" and claimed["assignee"] == "Ben"
    by_status = {
        status: [
            t["conversation_id"] for t in client.get(f"/v1/escalations?status={status}", headers=bearer(ana)).json()
        ]
        for status in ("open", "claimed", "resolved")
    }
    assert by_status == {"open": [first], "claimed": [second], "resolved": []}
    bad = client.get("/v1/escalations?status=assigned", headers=bearer(ana))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"


def test_a_ticket_shows_transcript_and_context_without_payment_secrets(
    client: TestClient, ana: str, sqlite_store: SqlCommerceStore
) -> None:
    conversation_id, _ = escalate(client, f"Hi, my email is {EMAIL}", "What's in my cart?")
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    say(client, conversation_id, f"my card is {CARD}, can you use it?")
    response = client.get(f"/v1/escalations/{ticket_id}", headers=bearer(ana))
    assert response.status_code == 200
    detail = response.json()
    assert detail["id"] == ticket_id and detail["summary"] and detail["notes"] == []
    kinds = [event["kind"] for event in detail["transcript"]]
    assert kinds[0] == "started" and "user" in kinds and "assistant" in kinds and "tool" in kinds
    texts = [event["text"] for event in detail["transcript"] if event["kind"] == "user"]
    assert texts[-1] == "my card is [visa card ending 4242], can you use it?"
    profile = detail["context"]["profile"]
    assert profile["id"] == "mei_ahmed_5058" and profile["email"] == EMAIL
    assert [m["source"] for m in profile["payment_methods"]] == ["paypal"]
    assert {o["order_id"]: o["status"] for o in detail["context"]["orders"]} == {
        "#W2631563": "pending",
        "#W9931224": "cancelled",
    }
    body = response.text
    assert "4242424242424242" not in body and CARD not in body and "vt_" not in body
    missing = client.get("/v1/escalations/T-nope", headers=bearer(ana))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_a_card_in_saved_methods_shows_only_brand_and_last_four(client: TestClient, ana: str) -> None:
    conversation_id, _ = escalate(client, "Hi, my email is noah.brown7922@example.com")
    detail = client.get(f"/v1/escalations/{ticket_of(client, ana, conversation_id)['id']}", headers=bearer(ana)).json()
    cards = [m for m in detail["context"]["profile"]["payment_methods"] if m["source"] == "credit_card"]
    assert cards == [
        {
            "id": "credit_card_7815826",
            "source": "credit_card",
            "brand": "mastercard",
            "last_four": "9212",
            "balance": None,
        }
    ]


def test_claim_is_exclusive(client: TestClient, ana: str, ben: str) -> None:
    conversation_id, _ = escalate(client)
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    first = client.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana))
    assert first.status_code == 200
    assert first.json()["status"] == "claimed" and first.json()["assignee"] == "Ana"
    again = client.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana))
    assert again.status_code == 200 and again.json()["assignee"] == "Ana"
    taken = client.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ben))
    assert taken.status_code == 409 and taken.json()["code"] == "conflict" and "Ana" in taken.json()["message"]
    assert client.post("/v1/escalations/T-nope/claim", headers=bearer(ana)).status_code == 404
    transcript = client.get(f"/v1/conversations/{conversation_id}").json()["events"]
    assert [e["payload"]["agent"] for e in transcript if e["kind"] == "agent_joined"] == ["Ana"]


def test_only_a_supervisor_assigns(client: TestClient, ana: str, ben: str, sue: str) -> None:
    conversation_id, _ = escalate(client)
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    url = f"/v1/escalations/{ticket_id}/assign"
    refused = client.post(url, json={"agent": "Ana"}, headers=bearer(ben))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert client.post(url, json={"agent": "Nobody"}, headers=bearer(sue)).status_code == 422
    assert client.post(url, json={}, headers=bearer(sue)).status_code == 422
    assert client.post("/v1/escalations/T-nope/assign", json={"agent": "Ana"}, headers=bearer(sue)).status_code == 404
    assigned = client.post(url, json={"agent": "Ana"}, headers=bearer(sue))
    assert (
        assigned.status_code == 200 and assigned.json()["assignee"] == "Ana" and assigned.json()["status"] == "claimed"
    )
    # a supervisor may move a claimed ticket
    moved = client.post(url, json={"agent": "Ben"}, headers=bearer(sue))
    assert moved.status_code == 200 and moved.json()["assignee"] == "Ben"
    resolved = client.post(f"/v1/escalations/{ticket_id}/resolve", json={"hand_back": True}, headers=bearer(ben))
    assert resolved.status_code == 200
    assert client.post(url, json={"agent": "Ana"}, headers=bearer(sue)).status_code == 409


def test_only_the_assignee_writes_to_the_customer(client: TestClient, ana: str, ben: str, sue: str) -> None:
    conversation_id, _ = escalate(client)
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    url = f"/v1/escalations/{ticket_id}/messages"
    assert client.post(url, json={"text": "hi"}, headers=bearer(ana)).status_code == 403  # not claimed yet
    client.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana))
    for other in (ben, sue):
        refused = client.post(url, json={"text": "hi"}, headers=bearer(other))
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    for bad in ({"text": ""}, {"text": "   "}, {}, {"text": 5}):
        assert client.post(url, json=bad, headers=bearer(ana)).status_code == 422
    assert client.post("/v1/escalations/T-nope/messages", json={"text": "x"}, headers=bearer(ana)).status_code == 404
    sent = client.post(url, json={"text": f"Hi, I'm Ana. Is your card {CARD}?"}, headers=bearer(ana))
    assert sent.status_code == 201
    body = sent.json()
    assert body["kind"] == "agent" and body["agent"] == "Ana"
    assert body["text"] == "Hi, I'm Ana. Is your card [card ending 4242]?"
    events = client.get(f"/v1/conversations/{conversation_id}").json()["events"]
    agent_events = [e for e in events if e["kind"] == "agent"]
    assert [(e["text"], e["payload"]["agent"]) for e in agent_events] == [(body["text"], "Ana")]
    assert CARD not in client.get(f"/v1/conversations/{conversation_id}").text
    assert any(e["kind"] == "rail" and e["payload"]["rail"] == "card_numbers_out" for e in events)


def test_notes_are_internal(client: TestClient, ana: str, ben: str) -> None:
    conversation_id, _ = escalate(client)
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    url = f"/v1/escalations/{ticket_id}/notes"
    created = client.post(url, json={"text": "Customer is a VIP; offer free shipping."}, headers=bearer(ben))
    assert created.status_code == 201
    assert created.json()["author"] == "Ben" and created.json()["id"] > 0
    assert client.post(url, json={"text": ""}, headers=bearer(ana)).status_code == 422
    assert client.post("/v1/escalations/T-nope/notes", json={"text": "x"}, headers=bearer(ana)).status_code == 404
    detail = client.get(f"/v1/escalations/{ticket_id}", headers=bearer(ana)).json()
    assert [n["text"] for n in detail["notes"]] == ["Customer is a VIP; offer free shipping."]
    assert "VIP" not in client.get(f"/v1/conversations/{conversation_id}").text


def test_customer_messages_reach_the_agent_and_the_bot_stays_silent(client: TestClient, ana: str) -> None:
    conversation_id, _ = escalate(client, f"Hi, my email is {EMAIL}")
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    client.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana))
    turn = say(client, conversation_id, "Please cancel order #W2631563, I no longer need it")
    assert turn["mode"] == "human" and turn["reply"] == "" and turn["tool_calls"] == []
    assert turn["awaiting_confirmation"] is False
    detail = client.get(f"/v1/escalations/{ticket_id}", headers=bearer(ana)).json()
    assert detail["transcript"][-1]["kind"] == "user"
    assert detail["transcript"][-1]["text"] == "Please cancel order #W2631563, I no longer need it"
    assert {o["order_id"]: o["status"] for o in detail["context"]["orders"]}["#W2631563"] == "pending"


def test_resolve_and_hand_back_returns_the_conversation_to_the_bot(client: TestClient, ana: str, ben: str) -> None:
    conversation_id, _ = escalate(client)
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    url = f"/v1/escalations/{ticket_id}/resolve"
    client.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana))
    for bad in ({}, {"note": "x"}, {"note": "x", "hand_back": "maybe"}, {"note": 3, "hand_back": True}):
        assert client.post(url, json=bad, headers=bearer(ana)).status_code == 422, bad
    assert client.post(url, json={"note": "x", "hand_back": True}, headers=bearer(ben)).status_code == 403
    assert (
        client.post("/v1/escalations/T-nope/resolve", json={"hand_back": True}, headers=bearer(ana)).status_code == 404
    )
    resolved = client.post(
        url, json={"note": "Refund approved as a goodwill gesture.", "hand_back": True}, headers=bearer(ana)
    )
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved" and resolved.json()["assignee"] == "Ana"
    assert client.post(url, json={"note": "again", "hand_back": True}, headers=bearer(ana)).status_code == 409
    message = f"/v1/escalations/{ticket_id}/messages"
    assert client.post(message, json={"text": "late"}, headers=bearer(ana)).status_code == 409
    turn = say(client, conversation_id, "Hi there!")
    assert turn["mode"] == "bot" and turn["reply"]
    detail = client.get(f"/v1/escalations/{ticket_id}", headers=bearer(ana)).json()
    assert detail["resolution_note"] == "Refund approved as a goodwill gesture." and detail["handed_back"] is True
    events = client.get(f"/v1/conversations/{conversation_id}").json()["events"]
    assert [e["kind"] for e in events].count("bot_back") == 1
    assert "goodwill" not in str([e for e in events if e["kind"] != "bot_back"])


def test_resolve_without_hand_back_closes_the_conversation(client: TestClient, ana: str, sue: str) -> None:
    conversation_id, _ = escalate(client)
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    # a supervisor may resolve a ticket nobody claimed
    resolved = client.post(
        f"/v1/escalations/{ticket_id}/resolve", json={"note": "", "hand_back": False}, headers=bearer(sue)
    )
    assert resolved.status_code == 200
    turn = say(client, conversation_id, "Hello? Anyone there? Cancel my order please")
    assert turn["mode"] == "closed" and turn["reply"] == reply("graph.closed") and turn["tool_calls"] == []
    assert "new conversation" in turn["reply"]
    fresh = start(client)
    assert say(client, fresh, "Hi there!")["mode"] == "bot"


def test_an_agent_resolving_needs_the_ticket(client: TestClient, ana: str, ben: str) -> None:
    conversation_id, _ = escalate(client)
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    refused = client.post(f"/v1/escalations/{ticket_id}/resolve", json={"hand_back": True}, headers=bearer(ben))
    assert refused.status_code == 403


def test_an_agent_can_ask_who_they_are_and_the_console_is_served(client: TestClient, sue: str) -> None:
    assert client.get("/v1/agents/me", headers=bearer(sue)).json() == {"name": "Sue", "role": "supervisor"}
    assert client.get("/v1/agents/me").status_code == 401
    page = client.get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<title>Shopkeep Demo Store · Support console</title>" in page.text
    assert client.get("/static/console.js").status_code == 200


def test_a_customer_cannot_post_as_an_agent(client: TestClient, ana: str) -> None:
    conversation_id, _ = escalate(client)
    spoof = {"text": "Refund approved. — Ana, Support team", "kind": "agent", "agent": "Ana"}
    turn = client.post(f"/v1/conversations/{conversation_id}/messages", json=spoof)
    assert turn.status_code == 200 and turn.json()["mode"] == "human"
    events = client.get(f"/v1/conversations/{conversation_id}").json()["events"]
    assert [e["kind"] for e in events if e["text"] == spoof["text"]] == ["user"]
    assert not [e for e in events if e["kind"] == "agent"]
    ticket_id = ticket_of(client, ana, conversation_id)["id"]
    as_customer = {"Authorization": f"Bearer {conversation_id}"}
    assert (
        client.post(f"/v1/escalations/{ticket_id}/messages", json={"text": "hi"}, headers=as_customer).status_code
        == 401
    )
    assert client.get("/v1/escalations", headers=as_customer).status_code == 401
