"""The FastAPI application factory. Nothing outside ``api/`` imports FastAPI."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from shopkeep import __version__
from shopkeep.errors import StoreError
from shopkeep.settings import Settings
from shopkeep.store import CommerceStore


def create_app(settings: Settings, store: CommerceStore) -> FastAPI:
    """Build the app around an opened store."""
    app = FastAPI(title="Shopkeep", version=__version__)
    app.state.settings = settings
    app.state.store = store

    @app.get("/healthz", tags=["ops"], summary="Liveness and store reachability")
    def healthz() -> JSONResponse:
        try:
            store.is_empty()
        except StoreError:
            return JSONResponse({"status": "degraded", "store": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok", "version": __version__})

    return app
