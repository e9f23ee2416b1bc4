"""Server-sent event streams of live events (``inbox.events``): a customer's chat and the agents' consoles.

A stream starts with ``event: ready`` once it is subscribed (what is published from then on is delivered), sends a
comment line every ``KEEPALIVE_S`` seconds so proxies keep the connection, and ends when the client goes away.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from shopkeep.inbox.events import EventBus

SSE_MEDIA_TYPE = "text/event-stream"
KEEPALIVE_S = 15.0


def sse_event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n"


async def _live(bus: EventBus, channel: str, request: Request, keepalive_s: float) -> AsyncIterator[str]:
    async with bus.subscribe(channel) as subscription:
        yield sse_event("ready", {})
        while not await request.is_disconnected():
            message = await subscription.get(keepalive_s)
            if message is None:
                yield ": keep-alive\n\n"
                continue
            yield sse_event(str(message["event"]), message["data"])


def live_response(bus: EventBus, channel: str, request: Request) -> StreamingResponse:
    keepalive = float(getattr(request.app.state, "live_keepalive_s", KEEPALIVE_S))
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_live(bus, channel, request, keepalive), media_type=SSE_MEDIA_TYPE, headers=headers)
