"""``Idempotency-Key`` on the API's writes (ACP): a resend returns the first response and runs nothing again, another
body under the same key is a 409, concurrent resends run once; the real service, store and local brain."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopkeep.api.idempotency import message_payload
from shopkeep.payments.idempotency import IdempotencyKeys
from shopkeep.store import SqlCommerceStore
from tests.api.helpers import EMAIL, PENDING_ORDER, order_status, start

MESSAGES = "/v1/conversations/{}/messages"


def user_messages(client: TestClient, conversation_id: str) -> list[str]:
    events = client.get(f"/v1/conversations/{conversation_id}").json()["events"]
    return [e["text"] for e in events if e["kind"] == "user"]


def post(client: TestClient, conversation_id: str, key: str, **body: Any) -> Any:
    return client.post(MESSAGES.format(conversation_id), json=body, headers={"Idempotency-Key": key})


def test_a_resent_message_returns_the_first_turn_and_runs_nothing(client: TestClient) -> None:
    cid = start(client)
    first = post(client, cid, "k-1", text="Hi there!")
    again = post(client, cid, "k-1", text="Hi there!")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert user_messages(client, cid) == ["Hi there!"]


def test_the_same_key_with_another_body_is_a_409_and_changes_nothing(client: TestClient) -> None:
    cid = start(client)
    assert post(client, cid, "k-2", text="Hi there!").status_code == 200
    conflict = post(client, cid, "k-2", text="What do you sell?")
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"
    other_conversation = post(client, start(client), "k-2", text="Hi there!")
    assert other_conversation.status_code == 409  # a key belongs to one request, wherever it is resent
    assert user_messages(client, cid) == ["Hi there!"]


def test_a_resent_yes_confirms_once(client: TestClient, sqlite_store: SqlCommerceStore) -> None:
    cid = start(client)
    for n, text in enumerate(
        [f"I want to cancel my order {PENDING_ORDER}", f"my email is {EMAIL}", "no longer need it"]
    ):
        assert post(client, cid, f"setup-{n}", text=text).status_code == 200
    proposal = client.get(f"/v1/conversations/{cid}").json()["pending_proposal"]
    yes = {"text": "yes", "confirm": proposal["fingerprint"]}
    first, again = post(client, cid, "yes-1", **yes), post(client, cid, "yes-1", **yes)
    assert first.json() == again.json() and [c["ok"] for c in first.json()["tool_calls"]] == [True]
    assert order_status(sqlite_store, PENDING_ORDER) == "cancelled"
    assert user_messages(client, cid).count("yes") == 1


def test_concurrent_resends_run_the_turn_once_and_all_get_its_response(client: TestClient) -> None:
    cid = start(client)
    barrier = threading.Barrier(4)
    responses: list[Any] = [None] * 4

    def send(n: int) -> None:
        barrier.wait()
        responses[n] = post(client, cid, "k-race", text="What do you sell?")

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [r.status_code for r in responses] == [200] * 4
    assert len({r.text for r in responses}) == 1
    assert [r.headers.get("idempotent-replayed") for r in responses].count(None) == 1
    assert user_messages(client, cid) == ["What do you sell?"]


def test_a_key_still_running_elsewhere_is_a_retryable_409(client: TestClient, sqlite_store: SqlCommerceStore) -> None:
    cid = start(client)
    payload = message_payload(cid, "Hi there!", None)
    IdempotencyKeys(sqlite_store).claim("api:messages", "k-busy", payload)  # another worker is on it
    client.app.state.idempotency_wait_s = 0.2  # type: ignore[attr-defined]
    busy = post(client, cid, "k-busy", text="Hi there!")
    assert busy.status_code == 409 and busy.json()["code"] == "idempotency_in_progress"
    assert busy.headers["retry-after"] == "1"
    assert user_messages(client, cid) == []


def test_a_failed_turn_releases_its_key_so_a_retry_runs(client: TestClient, sqlite_store: SqlCommerceStore) -> None:
    assert post(client, "0123456789abcdef", "k-lost", text="Hi").status_code == 404
    assert post(client, "0123456789abcdef", "k-lost", text="Hi").status_code == 404  # ran again: nothing stored
    cid = start(client)
    assert post(client, cid, "k-lost", text="Hi").status_code == 200  # the failed request left the key free
    assert user_messages(client, cid) == ["Hi"]


def test_a_card_number_is_never_part_of_the_stored_request_hash(sqlite_store: SqlCommerceStore) -> None:
    assert message_payload("c", "pay with 4242 4242 4242 4242", None)["text"] == "pay with [card ending 4242]"


def test_starting_a_conversation_with_a_key_returns_the_same_conversation(client: TestClient) -> None:
    headers = {"Idempotency-Key": "start-1"}
    first, again = client.post("/v1/conversations", headers=headers), client.post("/v1/conversations", headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["location"] == first.headers["location"]
    assert client.post("/v1/conversations").json() != first.json()


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_an_empty_or_overlong_key_is_422(client: TestClient, key: str) -> None:
    response = client.post("/v1/conversations", headers={"Idempotency-Key": key})
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


def test_a_streamed_turn_is_replayed_as_the_same_events(client: TestClient) -> None:
    cid = start(client)
    headers = {"Idempotency-Key": "k-sse", "Accept": "text/event-stream"}
    first = client.post(MESSAGES.format(cid), json={"text": "Hi there!"}, headers=headers)
    again = client.post(MESSAGES.format(cid), json={"text": "Hi there!"}, headers=headers)
    assert first.status_code == again.status_code == 200
    completed = [part for part in first.text.split("\n\n") if part.startswith("event: turn.completed")]
    assert completed and completed[0] in again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert user_messages(client, cid) == ["Hi there!"]
