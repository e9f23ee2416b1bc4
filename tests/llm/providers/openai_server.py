"""An in-process OpenAI-compatible server for the ``openai`` provider's tests (FastAPI + uvicorn, a free port).

Each request to ``POST /v1/chat/completions`` takes the next scripted step: a completion (text or one tool call),
a stream of chunks, an error status, or a delay. Requests are kept for assertions. Nothing leaves localhost.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

Step = Callable[[dict[str, Any]], Awaitable[Response]]
USAGE = {"prompt_tokens": 321, "completion_tokens": 12, "total_tokens": 333}


def _completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:8]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": USAGE,
    }


def reply(text: str) -> Step:
    async def step(body: dict[str, Any]) -> Response:
        return JSONResponse(_completion({"role": "assistant", "content": text}, "stop"))

    return step


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str | None = None) -> Step:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)

    async def step(body: dict[str, Any]) -> Response:
        call = {
            "id": call_id or f"call_{uuid.uuid4().hex[:8]}",
            "type": "function",
            "function": {"name": name, "arguments": raw},
        }
        return JSONResponse(_completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"))

    return step


def streamed(*pieces: str) -> Step:
    """Server-sent chunks of a text reply, then a usage chunk and ``[DONE]``."""

    async def events() -> AsyncIterator[bytes]:
        base = {
            "id": "chatcmpl-stream",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": "test-model",
        }
        first = {
            **base,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        }
        yield f"data: {json.dumps(first)}\n\n".encode()
        for piece in pieces:
            chunk = {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            yield f"data: {json.dumps(chunk)}\n\n".encode()
            await asyncio.sleep(0)
        last = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        yield f"data: {json.dumps(last)}\n\n".encode()
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': USAGE})}\n\n".encode()
        yield b"data: [DONE]\n\n"

    async def step(body: dict[str, Any]) -> Response:
        assert body.get("stream") is True, "a streamed step was asked for without stream=true"
        return StreamingResponse(events(), media_type="text/event-stream")

    return step


def error(status: int, headers: dict[str, str] | None = None) -> Step:
    async def step(body: dict[str, Any]) -> Response:
        payload = {"error": {"message": f"scripted {status}", "type": "server_error", "code": None}}
        return JSONResponse(payload, status_code=status, headers=headers)

    return step


def slow(seconds: float, then: Step) -> Step:
    async def step(body: dict[str, Any]) -> Response:
        await asyncio.sleep(seconds)
        return await then(body)

    return step


class OpenAIServer:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._chat)
        self.url = ""

    def script(self, *steps: Step) -> None:
        self.steps.extend(steps)

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if not self.steps:
            return JSONResponse({"error": {"message": "no scripted step left"}}, status_code=418)
        return await self.steps.pop(0)(body)

    def assert_done(self) -> None:
        assert not self.steps, f"{len(self.steps)} scripted server steps were never used"


@contextmanager
def running_server() -> Iterator[OpenAIServer]:
    server = OpenAIServer()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(server.app, log_level="warning", ws="none", lifespan="off", access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test OpenAI server did not start")
        time.sleep(0.01)
    server.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield server
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def free_port() -> int:
    """A port nothing listens on (for the dead-server case)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
