"""The live event bus, in-process and over Redis: a subscriber gets what is published on its channel after it
subscribed, from any thread; with Redis, from another bus (another worker) too."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from shopkeep.inbox.events import LocalEventBus, RedisEventBus, event_bus
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


@pytest.fixture(params=["local", "redis"])
def buses(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """A publishing and a subscribing bus: the same one in-process, two (like two workers) over Redis."""
    if request.param == "local":
        bus = LocalEventBus()
        yield bus, bus
        return
    url = request.getfixturevalue("redis_url")
    publisher, subscriber = RedisEventBus(url), RedisEventBus(url)
    yield publisher, subscriber
    publisher.close()
    subscriber.close()


def test_subscribers_get_their_channel_from_another_thread(buses: tuple[Any, Any]) -> None:
    publisher, subscriber = buses
    channel = f"conversation:{uuid.uuid4().hex}"

    async def scenario() -> list[Any]:
        async with subscriber.subscribe(channel) as events:
            publisher.publish(f"{channel}-other", "agent", {"text": "not yours"})
            sender = threading.Thread(
                target=lambda: [publisher.publish(channel, "agent", {"text": f"hi {n}"}) for n in range(3)]
            )
            sender.start()
            got = [await events.get(5.0) for _ in range(3)]
            sender.join()
            got.append(await events.get(0.3))
            return got

    got = asyncio.run(scenario())
    assert got == [{"event": "agent", "data": {"text": f"hi {n}"}} for n in range(3)] + [None]


def test_an_event_before_subscribing_is_not_delivered(buses: tuple[Any, Any]) -> None:
    publisher, subscriber = buses
    channel = f"inbox-{uuid.uuid4().hex}"

    async def scenario() -> Any:
        publisher.publish(channel, "escalation.created", {"id": "early"})
        async with subscriber.subscribe(channel) as events:
            publisher.publish(channel, "escalation.created", {"id": "late"})
            return await events.get(5.0), await events.get(0.3)

    assert asyncio.run(scenario()) == ({"event": "escalation.created", "data": {"id": "late"}}, None)


def test_the_bus_follows_the_redis_setting() -> None:
    assert isinstance(event_bus(None), LocalEventBus)
    bus = event_bus("redis://127.0.0.1:1/0")
    assert isinstance(bus, RedisEventBus)
    bus.publish("inbox", "escalation.created", {"id": "t"})  # Redis down: a live update is skipped, not raised
    bus.close()


def test_a_worker_listens_on_one_redis_connection_for_all_its_streams(redis_url: str) -> None:
    import redis

    bus = RedisEventBus(redis_url)
    admin = redis.Redis.from_url(redis_url)

    def connections() -> int:
        return sum(1 for client in admin.client_list() if client.get("name") == bus.connection_name)

    async def scenario() -> tuple[int, list[Any]]:
        channels = [f"conversation:{uuid.uuid4().hex}" for _ in range(5)]
        async with AsyncExitStack() as stack:
            streams = [await stack.enter_async_context(bus.subscribe(channel)) for channel in channels]
            open_now = connections()
            for n, channel in enumerate(channels):
                bus.publish(channel, "agent", {"n": n})
            got = [await stream.get(5.0) for stream in streams]
        return open_now, got

    open_now, got = asyncio.run(scenario())
    assert open_now == 1
    assert got == [{"event": "agent", "data": {"n": n}} for n in range(5)]
    deadline = time.monotonic() + 5  # Redis drops a closed client from its list a moment after the socket closes
    while connections() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connections() == 0  # the last stream closed the connection
    admin.close()
    bus.close()
