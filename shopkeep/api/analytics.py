"""``/v1/analytics`` (figures for product teams, behind an agent or supervisor token) and its page,
``/console/analytics``: plain HTML and JavaScript from ``static/``, charts drawn as inline SVG, nothing fetched
from elsewhere. The figures come from ``shopkeep.analytics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from shopkeep.analytics import compute
from shopkeep.api.escalations import Agent
from shopkeep.api.schemas import ErrorResponse
from shopkeep.api.web import STATIC_DIR, render_page

router = APIRouter(tags=["analytics"])


@router.get(
    "/v1/analytics",
    summary="Conversation analytics for product teams",
    responses={401: {"model": ErrorResponse, "description": "No valid agent token (`Authorization: Bearer TOKEN`)."}},
)
async def analytics(request: Request, agent: Agent) -> dict[str, Any]:
    """Conversations per day, containment, escalation rate and reasons, conversion, top intents, the questions
    the assistant could not answer, rail trips and turn latency percentiles (see ``shopkeep.analytics``)."""
    figures: dict[str, Any] = await run_in_threadpool(compute, request.app.state.store)
    return figures


@router.get("/console/analytics", include_in_schema=False)
def analytics_page(request: Request) -> HTMLResponse:
    template = (STATIC_DIR / "analytics.html").read_text(encoding="utf-8")
    return HTMLResponse(render_page(template, request.app.state.shop.current()), headers={"Cache-Control": "no-cache"})
