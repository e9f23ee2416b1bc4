"""Message rate limits on the API: per conversation and per customer, a 429 with ``Retry-After`` that records
nothing; with Redis the limit holds across workers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.api.app import create_app
from shopkeep.guardrails.ratelimit import RateLimiter
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import LimitSettings, Settings
from shopkeep.store import SqlCommerceStore
from tests.api.helpers import EMAIL, say, start
from tests.conftest import service_missing

REDIS_URL = os.environ.get("SHOPKEEP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MakeApp = Callable[..., FastAPI]


@pytest.fixture
def make_app(sqlite_store: SqlCommerceStore, nlu: NLU, tmp_path: Path) -> Iterator[MakeApp]:
    """Apps over one store and one checkpointer (like workers behind a load balancer), with the given limits."""
    with ExitStack() as stack:
        checkpointer = stack.enter_context(open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}"))

        def make(limiter: RateLimiter | None = None, **limits: Any) -> FastAPI:
            settings = Settings(var_dir=tmp_path / "var", limits=LimitSettings(**limits))
            service = build_service(settings, sqlite_store, checkpointer, nlu=nlu)
            return create_app(settings, sqlite_store, service=service, limiter=limiter)

        yield make


def user_messages(client: TestClient, conversation_id: str) -> list[str]:
    events = client.get(f"/v1/conversations/{conversation_id}").json()["events"]
    return [e["text"] for e in events if e["kind"] == "user"]


def test_too_many_messages_in_a_conversation_is_a_429_that_records_nothing(make_app: MakeApp) -> None:
    with TestClient(make_app(messages_per_conversation=2)) as client:
        cid = start(client)
        say(client, cid, "Hi there!")
        say(client, cid, "What do you sell?")
        refused = client.post(f"/v1/conversations/{cid}/messages", json={"text": "and shoes?"})
        other = start(client)
        say(client, other, "Hi there!")  # another conversation has its own allowance
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited" and "this conversation" in refused.json()["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 30  # one message comes back every 30 s
    with TestClient(make_app()) as reader:
        assert user_messages(reader, cid) == ["Hi there!", "What do you sell?"]


def test_a_customer_is_limited_across_conversations_once_identified(make_app: MakeApp) -> None:
    with TestClient(make_app(messages_per_conversation=100, messages_per_customer=2)) as client:
        first, second = start(client), start(client)
        say(client, first, f"my email is {EMAIL}")  # anonymous when it arrived: not counted for the customer
        say(client, first, "Hi again")
        say(client, second, f"my email is {EMAIL}")
        say(client, second, "Hi again")  # the customer's second counted message, in another conversation
        refused = client.post(f"/v1/conversations/{first}/messages", json={"text": "one more"})
        anonymous = start(client)
        say(client, anonymous, "Hi there!")
    assert refused.status_code == 429 and "your account" in refused.json()["message"]


def test_the_limit_passes_while_under_it(make_app: MakeApp) -> None:
    with TestClient(make_app(messages_per_conversation=3)) as client:
        cid = start(client)
        for text in ("Hi there!", "What do you sell?", "Thanks"):
            say(client, cid, text)


def test_with_redis_two_workers_share_one_limit(make_app: MakeApp) -> None:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        service_missing(f"Redis at {REDIS_URL} is not reachable: {exc}")
    from shopkeep.guardrails.ratelimit.redis import RedisRateLimiter

    namespace = f"shopkeep:test:{uuid.uuid4().hex[:8]}:"
    workers = [make_app(RedisRateLimiter(client, namespace=namespace), messages_per_conversation=2) for _ in range(2)]
    with TestClient(workers[0]) as worker_a, TestClient(workers[1]) as worker_b:
        cid = start(worker_a)
        say(worker_a, cid, "Hi there!")
        say(worker_b, cid, "What do you sell?")
        assert worker_a.post(f"/v1/conversations/{cid}/messages", json={"text": "x"}).status_code == 429
        assert worker_b.post(f"/v1/conversations/{cid}/messages", json={"text": "x"}).status_code == 429
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)
    client.close()
