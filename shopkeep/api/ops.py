"""Operations endpoints and HTTP instrumentation: ``GET /metrics``, ``GET /livez`` and the request-duration histogram.

``/livez`` says only that the process answers (a liveness probe: restarting a worker does not bring a database
back); ``/healthz`` (in ``app``) also checks the store (a readiness probe).

``/metrics`` serves every Prometheus family of ``shopkeep.metrics`` (all workers' values in multiprocess mode).
``RequestMetrics`` times every HTTP request by method, route template (``/v1/conversations/{conversation_id}``,
never the raw path, so ids do not become label values) and status: the latency a client sees, streams included.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopkeep import metrics

UNMATCHED = "unmatched"
"""The route label of requests no route matched (404s of arbitrary paths)."""


class RequestMetrics:
    """Pure ASGI middleware (it leaves streamed responses alone): one ``shopkeep_http_request_duration_seconds``
    observation per HTTP request, when its response is complete."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            metrics.HTTP_SECONDS.labels(method=scope["method"], route=template, status=str(status)).observe(
                time.perf_counter() - started
            )


def install_ops(app: FastAPI) -> None:
    """``GET /metrics``, ``GET /livez`` and the request timing middleware."""
    app.add_middleware(RequestMetrics)

    @app.get("/livez", tags=["ops"], summary="Liveness: the process answers")
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/metrics",
        tags=["ops"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"}},
    )
    def prometheus_metrics() -> Response:
        """Turns, latency, tools, rails, hand-offs, checkouts, LLM usage and dependency errors (see README)."""
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)
