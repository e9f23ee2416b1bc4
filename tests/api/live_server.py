"""A live uvicorn server in a thread, and a reader of its server-sent event streams (for live-update tests)."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free local port; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=free_port(),
            log_level="warning",
            ws="none",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class EventStream:
    """Reads one SSE stream in a thread; ``next()`` returns its events in order, as (name, data); ``ids`` holds each
    returned event's SSE ``id`` (None when it had none)."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self._events: queue.Queue[tuple[str, Any, int | None]] = queue.Queue()
        self.ids: list[int | None] = []
        self._stop = threading.Event()
        self.status: int | None = None
        self._thread = threading.Thread(target=self._read, args=(url, headers or {}), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        headers = {"Accept": "text/event-stream", **headers}
        with (
            httpx.Client(timeout=httpx.Timeout(5.0, read=None)) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            self.status = response.status_code
            name, event_id = "message", None
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("id:"):
                    event_id = int(line[3:].strip())
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    self._events.put((name, json.loads(line[5:]), event_id))
                    name, event_id = "message", None

    def next(self, timeout: float = 10.0) -> tuple[str, Any]:
        name, data, event_id = self._events.get(timeout=timeout)
        self.ids.append(event_id)
        return name, data

    def until(self, wanted: str, timeout: float = 10.0) -> Any:
        """The data of the next event named ``wanted`` (earlier events of other names are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            name, data = self.next(max(0.01, deadline - time.monotonic()))
            if name == wanted:
                return data

    def close(self) -> None:
        self._stop.set()
