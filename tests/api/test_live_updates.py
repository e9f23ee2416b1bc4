"""Live updates over a real server: the customer's open stream shows a person joining, their messages (with their
name, card numbers masked) and the bot coming back or the conversation closing; the consoles' stream shows new
tickets, claims and customers' messages as they happen."""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.api.app import create_app
from shopkeep.inbox.events import RedisEventBus
from shopkeep.llm.local.nlu import NLU
from shopkeep.replies import reply
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore
from tests.api.inbox_helpers import HANDOFF, agent_token, bearer
from tests.api.live_server import EventStream, serve
from tests.conftest import service_missing

REDIS_URL = os.environ.get("SHOPKEEP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        service_missing(f"Redis at {REDIS_URL} is not reachable: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def base_url(sqlite_store: SqlCommerceStore, nlu: NLU, settings: Settings, tmp_path: Path) -> Iterator[str]:
    with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
        app = create_app(settings, sqlite_store, service=build_service(settings, sqlite_store, checkpointer, nlu=nlu))
        app.state.live_keepalive_s = 0.5
        with serve(app) as url:
            yield url


def _say(http: httpx.Client, conversation_id: str, text: str) -> dict[str, object]:
    response = http.post(f"/v1/conversations/{conversation_id}/messages", json={"text": text})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_the_customer_sees_the_person_live(base_url: str, sqlite_store: SqlCommerceStore) -> None:
    ana = agent_token(sqlite_store, "Ana")
    with httpx.Client(base_url=base_url, timeout=60) as http:
        console = EventStream(f"{base_url}/v1/escalations/events", bearer(ana))
        assert console.next() == ("ready", {})
        conversation_id = http.post("/v1/conversations").json()["id"]
        chat = EventStream(f"{base_url}/v1/conversations/{conversation_id}/events")
        assert chat.next() == ("ready", {})
        assert _say(http, conversation_id, HANDOFF)["mode"] == "human"
        created = console.until("escalation.created")
        assert created["conversation_id"] == conversation_id and created["status"] == "open"
        ticket_id = created["id"]

        assert http.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana)).status_code == 200
        assert chat.next() == ("agent.joined", {"agent": "Ana"})
        assert console.until("escalation.claimed")["assignee"] == "Ana"

        sent = http.post(
            f"/v1/escalations/{ticket_id}/messages",
            json={"text": "Hi, Ana here. Never send 4111 1111 1111 1111 in chat!"},
            headers=bearer(ana),
        )
        assert sent.status_code == 201
        name, data = chat.next()
        assert name == "agent"
        assert data["kind"] == "agent" and data["agent"] == "Ana"
        assert data["text"] == "Hi, Ana here. Never send [card ending 1111] in chat!"

        _say(http, conversation_id, "Thanks Ana, I'll wait")
        message = console.until("escalation.message")
        while message["kind"] != "user":
            message = console.until("escalation.message")
        assert message["id"] == ticket_id and message["text"] == "Thanks Ana, I'll wait"

        resolved = http.post(
            f"/v1/escalations/{ticket_id}/resolve", json={"note": "sorted", "hand_back": True}, headers=bearer(ana)
        )
        assert resolved.status_code == 200
        assert chat.next() == ("bot.back", {"agent": "Ana"})
        assert console.until("escalation.resolved")["status"] == "resolved"
        chat.close()
        console.close()


def test_the_customer_sees_the_conversation_close(base_url: str, sqlite_store: SqlCommerceStore) -> None:
    ana = agent_token(sqlite_store, "Ana")
    with httpx.Client(base_url=base_url, timeout=60) as http:
        conversation_id = http.post("/v1/conversations").json()["id"]
        _say(http, conversation_id, HANDOFF)
        ticket_id = http.get("/v1/escalations", headers=bearer(ana)).json()[0]["id"]
        http.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana))
        chat = EventStream(f"{base_url}/v1/conversations/{conversation_id}/events")
        assert chat.next() == ("ready", {})
        http.post(f"/v1/escalations/{ticket_id}/resolve", json={"note": "", "hand_back": False}, headers=bearer(ana))
        assert chat.next() == ("closed", {"text": reply("graph.closed")})
        chat.close()
        assert http.get("/v1/conversations/nope/events").status_code == 404
        assert http.get("/v1/escalations/events").status_code == 401


def test_with_redis_a_message_posted_on_one_worker_reaches_a_chat_streamed_by_another(
    sqlite_store: SqlCommerceStore, nlu: NLU, settings: Settings, tmp_path: Path, redis_url: str
) -> None:
    ana = agent_token(sqlite_store, "Ana")
    with open_checkpointer(f"sqlite:///{tmp_path / 'shared.db'}") as checkpointer:
        apps = [
            create_app(
                settings,
                sqlite_store,
                service=build_service(settings, sqlite_store, checkpointer, nlu=nlu),
                events=RedisEventBus(redis_url),
            )
            for _ in range(2)
        ]
        for app in apps:
            app.state.live_keepalive_s = 0.5
        with (
            serve(apps[0]) as customer_worker,
            serve(apps[1]) as agent_worker,
            httpx.Client(base_url=customer_worker, timeout=60) as customer,
            httpx.Client(base_url=agent_worker, timeout=60) as agent,
        ):
            conversation_id = customer.post("/v1/conversations").json()["id"]
            chat = EventStream(f"{customer_worker}/v1/conversations/{conversation_id}/events")
            assert chat.next() == ("ready", {})
            _say(customer, conversation_id, HANDOFF)
            ticket_id = agent.get("/v1/escalations", headers=bearer(ana)).json()[0]["id"]
            agent.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana))
            assert chat.next() == ("agent.joined", {"agent": "Ana"})
            agent.post(f"/v1/escalations/{ticket_id}/messages", json={"text": "Hello!"}, headers=bearer(ana))
            name, data = chat.next()
            assert (name, data["text"], data["agent"]) == ("agent", "Hello!", "Ana")
            chat.close()


def test_a_chat_that_reconnects_gets_what_it_missed_once(base_url: str, sqlite_store: SqlCommerceStore) -> None:
    ana = agent_token(sqlite_store, "Ana")
    with httpx.Client(base_url=base_url, timeout=60) as http:
        conversation_id = http.post("/v1/conversations").json()["id"]
        _say(http, conversation_id, HANDOFF)
        ticket_id = http.get("/v1/escalations", headers=bearer(ana)).json()[0]["id"]
        events_url = f"{base_url}/v1/conversations/{conversation_id}/events"
        chat = EventStream(events_url)
        assert chat.next() == ("ready", {})
        http.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana))
        assert chat.next() == ("agent.joined", {"agent": "Ana"})
        joined_id = chat.ids[-1]
        assert joined_id is not None
        chat.close()  # the customer's connection drops; Ana goes on writing
        for text in ("Are you still there?", "I have found your order."):
            sent = http.post(f"/v1/escalations/{ticket_id}/messages", json={"text": text}, headers=bearer(ana))
            assert sent.status_code == 201

        back = EventStream(events_url, {"Last-Event-ID": str(joined_id)})  # what EventSource sends on reconnecting
        assert back.next() == ("ready", {})
        missed = [back.next(), back.next()]
        assert [(name, data["agent"], data["text"]) for name, data in missed] == [
            ("agent", "Ana", "Are you still there?"),
            ("agent", "Ana", "I have found your order."),
        ]
        first, second = back.ids[1:]
        assert first is not None and second is not None and joined_id < first < second
        http.post(f"/v1/escalations/{ticket_id}/resolve", json={"note": "", "hand_back": True}, headers=bearer(ana))
        assert back.next() == ("bot.back", {"agent": "Ana"})  # live again, and nothing replayed twice
        assert back.ids[-1] is not None and back.ids[-1] > second
        back.close()

        transcript = http.get(f"/v1/conversations/{conversation_id}").json()["events"]
        ids = [event["id"] for event in transcript]
        assert ids == sorted(ids) and None not in ids
        # A page that showed the transcript up to the claim follows from there (``after``, first connection).
        before_claim = max(e["id"] for e in transcript if e["kind"] != "agent_joined" and e["id"] < joined_id)
        fresh = EventStream(f"{events_url}?after={before_claim}")
        assert fresh.next() == ("ready", {})
        assert [fresh.next()[0] for _ in range(4)] == ["agent.joined", "agent", "agent", "bot.back"]
        fresh.close()
        foreign = EventStream(f"{events_url}?after={back.ids[-1]}", {"Last-Event-ID": "not-ours"})
        assert foreign.next() == ("ready", {})
        with pytest.raises(queue.Empty):
            foreign.next(timeout=1.5)  # nothing after the last event: keep-alives only
        foreign.close()
        assert http.get(f"/v1/conversations/{conversation_id}/events?after=-1").status_code == 422


def test_the_console_follows_the_bot_after_a_hand_back(base_url: str, sqlite_store: SqlCommerceStore) -> None:
    ana = agent_token(sqlite_store, "Ana")
    with httpx.Client(base_url=base_url, timeout=60) as http:
        conversation_id = http.post("/v1/conversations").json()["id"]
        _say(http, conversation_id, HANDOFF)
        ticket_id = http.get("/v1/escalations", headers=bearer(ana)).json()[0]["id"]
        http.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana))
        http.post(f"/v1/escalations/{ticket_id}/resolve", json={"note": "ok", "hand_back": True}, headers=bearer(ana))
        console = EventStream(f"{base_url}/v1/escalations/events", bearer(ana))
        assert console.next() == ("ready", {})
        turn = _say(http, conversation_id, "what kinds of products do you sell?")
        assert turn["mode"] == "bot" and turn["reply"]
        user = console.until("escalation.message")
        assert (user["id"], user["kind"], user["text"]) == (ticket_id, "user", "what kinds of products do you sell?")
        bot = console.until("escalation.message")
        assert (bot["id"], bot["kind"], bot["text"]) == (ticket_id, "assistant", turn["reply"])
        assert bot["agent"] == turn["agent"]
        console.close()

        other = http.post("/v1/conversations").json()["id"]
        quiet = EventStream(f"{base_url}/v1/escalations/events", bearer(ana))
        assert quiet.next() == ("ready", {})
        _say(http, other, "hello")
        with pytest.raises(queue.Empty):
            quiet.next(timeout=1.5)  # a conversation no person worked on does not reach the consoles
        quiet.close()
