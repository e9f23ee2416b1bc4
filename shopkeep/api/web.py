"""The web pages: the shop's chat widget at ``/`` and the human agents' console at ``/console``, plain HTML, CSS and
JavaScript served from ``static/``.

No build step and no CDN: the page works offline, like the rest of the embedded default. The page names the shop
from its profile in the store (``{{shop_name}}``, HTML-escaped); what is marked ``<!--demo-->...<!--/demo-->``
(the demo badge, the τ² sample accounts) is shown only in the demo store.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from shopkeep.domain.shop import ShopProfile

STATIC_DIR = Path(__file__).parent / "static"
_DEMO_ONLY = re.compile(r"<!--demo-->(.*?)<!--/demo-->", re.DOTALL)

router = APIRouter(include_in_schema=False)


def render_page(template: str, profile: ShopProfile) -> str:
    """The page for one shop: its name filled in, the demo-only parts kept only for the demo."""
    page = _DEMO_ONLY.sub(lambda m: m.group(1) if profile.demo else "", template)
    return page.replace("{{shop_name}}", html.escape(profile.name, quote=True))


@router.get("/")
def index(request: Request) -> HTMLResponse:
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = render_page(template, request.app.state.shop.current())
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


@router.get("/console")
def console(request: Request) -> HTMLResponse:
    """The human agents' console: sign in with an agent token; the page calls the escalation API."""
    template = (STATIC_DIR / "console.html").read_text(encoding="utf-8")
    page = render_page(template, request.app.state.shop.current())
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})


def install_web_chat(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
