"""Server-sent event streams of live events (``inbox.events``): a customer's chat and the agents' consoles.

A stream starts with ``event: ready`` once it is subscribed (what is published from then on is delivered), then
sends the ``backlog`` (stored events the client missed, read after subscribing so none falls in between), then live
events, a comment line every ``KEEPALIVE_S`` seconds so proxies keep the connection, and ends when the client goes
away. An event whose data has an ``event_id`` (a stored conversation event) is sent with it as its SSE ``id``, so a
browser's ``EventSource`` reconnects with ``Last-Event-ID`` and gets what it missed; a live event the backlog already
sent is not sent twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from shopkeep.inbox.events import EventBus

SSE_MEDIA_TYPE = "text/event-stream"
KEEPALIVE_S = 15.0


Backlog = Callable[[], Awaitable[Sequence[tuple[str, dict[str, Any]]]]]
"""Reads the stored events a reconnecting client missed, as (event name, data with its ``event_id``)."""


def sse_event(name: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


def _split(data: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    event_id = data.get("event_id")
    if not isinstance(event_id, int):
        return data, None
    return {key: value for key, value in data.items() if key != "event_id"}, event_id


async def _live(
    bus: EventBus, channel: str, request: Request, keepalive_s: float, backlog: Backlog | None
) -> AsyncIterator[str]:
    async with bus.subscribe(channel) as subscription:
        yield sse_event("ready", {})
        sent = 0
        for name, stored in await backlog() if backlog is not None else ():
            data, event_id = _split(stored)
            sent = max(sent, event_id or 0)
            yield sse_event(name, data, event_id)
        while not await request.is_disconnected():
            message = await subscription.get(keepalive_s)
            if message is None:
                yield ": keep-alive\n\n"
                continue
            data, event_id = _split(message["data"])
            if event_id is not None and event_id <= sent:
                continue
            yield sse_event(str(message["event"]), data, event_id)


def live_response(bus: EventBus, channel: str, request: Request, backlog: Backlog | None = None) -> StreamingResponse:
    keepalive = float(getattr(request.app.state, "live_keepalive_s", KEEPALIVE_S))
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    stream = _live(bus, channel, request, keepalive, backlog)
    return StreamingResponse(stream, media_type=SSE_MEDIA_TYPE, headers=headers)
