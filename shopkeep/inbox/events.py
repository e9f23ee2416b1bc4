"""Live events: what a customer's open chat and the agents' consoles are told as it happens.

An event is ``{"event": NAME, "data": {...}}`` on a channel: ``conversation:<id>`` for one customer's chat (an agent's
message, a person joined, the bot is back, the conversation closed) and ``inbox`` for the consoles (tickets opened,
claimed, resolved; customers' and agents' messages, and the bot's turns after a hand-back). A customer's event is a
stored conversation event first (``customer_event`` maps one to what the chat is told, live or caught up after a
reconnection); its ``data`` carries the stored ``event_id``, which the stream sends as the SSE ``id``. Publishing
is synchronous and never blocks on a reader (the conversation service runs in worker threads); subscribing is an
async iterator for a server-sent event stream. With Redis configured every worker sees every event (pub/sub);
otherwise events stay in the process.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import UTC
from typing import Any, Protocol

import structlog

from shopkeep.domain import ConversationEvent

log = structlog.get_logger(__name__)

INBOX = "inbox"
QUEUE_LIMIT = 1000
"""Events a slow reader may fall behind by before the oldest are dropped (a console reloads its queue anyway)."""


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


CUSTOMER_EVENTS = {"agent": "agent", "agent_joined": "agent.joined", "bot_back": "bot.back", "closed": "closed"}
"""Stored event kinds the customer's chat is told about, and the live event name of each (the customer's own
messages and the bot's replies come with the customer's turns)."""


def customer_event(event: ConversationEvent) -> tuple[str, dict[str, Any]] | None:
    """The live event (name, data) the customer's chat gets for a stored event, or None when it gets none."""
    name = CUSTOMER_EVENTS.get(event.kind)
    if name is None:
        return None
    payload = event.payload
    created = event.created_at if event.created_at.tzinfo else event.created_at.replace(tzinfo=UTC)
    data: dict[str, Any]
    if name == "agent":
        data = {"kind": "agent", "text": payload.get("text"), "agent": payload.get("agent")}
        data["created_at"] = created.isoformat()
    elif name == "closed":
        data = {"text": payload.get("text")}
    else:
        data = {"agent": payload.get("agent")}
    if event.event_id is not None:
        data["event_id"] = event.event_id
    return name, data


class Subscription(Protocol):
    async def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None when none came within ``timeout`` seconds."""
        ...


class EventBus(Protocol):
    def publish(self, channel: str, event: str, data: dict[str, Any]) -> None:
        """Send one event to every current subscriber of ``channel`` (anywhere, with Redis)."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        """``async with bus.subscribe(channel) as events: await events.get(timeout)``; events published after
        the ``async with`` is entered are delivered."""
        ...

    def close(self) -> None:
        """Release the publishing connection (at shutdown)."""
        ...


class _LocalSubscription:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)

    def offer(self, message: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)

    async def get(self, timeout: float) -> dict[str, Any] | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class LocalEventBus:
    """Events within one process: each subscriber has a queue on its own event loop."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[_LocalSubscription]] = {}
        self._lock = threading.Lock()

    def publish(self, channel: str, event: str, data: dict[str, Any]) -> None:
        message = {"event": event, "data": data}
        with self._lock:
            subscribers = list(self._subscribers.get(channel, ()))
        for subscriber in subscribers:
            with suppress(RuntimeError):  # its loop has closed: it is about to unsubscribe
                subscriber.loop.call_soon_threadsafe(subscriber.offer, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[_LocalSubscription]:
        subscriber = _LocalSubscription()
        with self._lock:
            self._subscribers.setdefault(channel, set()).add(subscriber)
        try:
            yield subscriber
        finally:
            with self._lock:
                listeners = self._subscribers.get(channel, set())
                listeners.discard(subscriber)
                if not listeners:
                    self._subscribers.pop(channel, None)

    def close(self) -> None:
        """Nothing to release: the queues go with their streams."""


class _RedisListener:
    """One Redis connection of an event loop, pattern-subscribed to every channel, handing events to local queues."""

    def __init__(self, url: str, prefix: str, local: LocalEventBus, name: str) -> None:
        from redis import asyncio as aioredis

        self._prefix = prefix
        self._local = local
        self._client = aioredis.Redis.from_url(url, client_name=name)
        self._pubsub = self._client.pubsub()
        self._task: asyncio.Task[None] | None = None
        self.subscribers = 0

    async def start(self) -> None:
        await self._pubsub.psubscribe(self._prefix + "*")
        # The confirmation means Redis has the subscription: an event published from now on is delivered.
        confirmed = await self._pubsub.get_message(timeout=2.0)
        if confirmed is None or confirmed.get("type") != "psubscribe":
            log.warning("event_subscribe_unconfirmed")
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message.get("type") != "pmessage":
                continue
            channel = message["channel"].decode()[len(self._prefix) :]
            try:
                body = json.loads(message["data"])
                self._local.publish(channel, str(body["event"]), dict(body["data"]))
            except (ValueError, KeyError, TypeError):
                log.warning("event_malformed", channel=channel.split(":")[0])

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        with suppress(Exception):
            await self._pubsub.punsubscribe()
        await self._pubsub.aclose()
        await self._client.aclose()


class RedisEventBus:
    """Events through Redis pub/sub, so a message posted on one worker reaches a chat streamed by another.

    A worker holds one Redis connection for all its open streams (while it has any): it receives every channel's
    events and hands each to the local subscribers of that channel."""

    def __init__(self, url: str, *, prefix: str = "shopkeep:events:") -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ImportError("Live events over Redis need the 'redis' extra: pip install 'shopkeep[redis]'") from exc
        self._url = url
        self._prefix = prefix
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._local = LocalEventBus()
        self.connection_name = f"shopkeep-events-{uuid.uuid4().hex[:8]}"
        """The Redis client name of this bus's listening connection (``CLIENT LIST`` shows one per event loop)."""
        self._listeners: dict[asyncio.AbstractEventLoop, _RedisListener] = {}
        self._guards: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def publish(self, channel: str, event: str, data: dict[str, Any]) -> None:
        body = json.dumps({"event": event, "data": data}, separators=(",", ":"), default=str)
        try:
            self._client.publish(self._prefix + channel, body)
        except Exception as exc:  # a live update is best effort: the store already has the message
            log.warning("event_publish_failed", channel=channel.split(":")[0], error=type(exc).__name__)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[_LocalSubscription]:
        loop = asyncio.get_running_loop()
        guard = self._guards.setdefault(loop, asyncio.Lock())
        async with guard:
            listener = self._listeners.get(loop)
            if listener is None:
                listener = _RedisListener(self._url, self._prefix, self._local, self.connection_name)
                await listener.start()
                self._listeners[loop] = listener
            listener.subscribers += 1
        try:
            async with self._local.subscribe(channel) as subscription:
                yield subscription
        finally:
            async with guard:
                listener.subscribers -= 1
                if not listener.subscribers:
                    del self._listeners[loop]
                    await listener.stop()

    def close(self) -> None:
        self._client.close()


def event_bus(redis_url: str | None) -> LocalEventBus | RedisEventBus:
    """Redis pub/sub when Redis is configured (``SHOPKEEP_REDIS_URL``), in-process otherwise."""
    return RedisEventBus(redis_url) if redis_url else LocalEventBus()
