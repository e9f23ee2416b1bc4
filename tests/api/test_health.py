"""``/healthz``: 200 "ok" while the store answers, 503 "degraded" when it cannot be reached; ``/livez``: 200 while
the process answers, whatever the store does (a liveness probe must not restart workers for a database outage)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from shopkeep import __version__
from shopkeep.store import SqlCommerceStore, open_store
from tests.api.helpers import AppFactory


def test_healthz_ok_on_a_sqlite_store(app_for: AppFactory, sqlite_store: SqlCommerceStore) -> None:
    with TestClient(app_for(sqlite_store)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "ok", "version": __version__}


def test_healthz_ok_on_an_empty_store(app_for: AppFactory, tmp_path: Path) -> None:
    """Reachable is what counts, not seeded."""
    empty = open_store(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert empty.is_empty()
        with TestClient(app_for(empty)) as client:
            assert client.get("/healthz").status_code == 200
    finally:
        empty.close()


def test_healthz_degraded_when_the_store_is_unreachable(app_for: AppFactory, down_store: SqlCommerceStore) -> None:
    with TestClient(app_for(down_store)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "store": "unavailable"}
    assert "127.0.0.1" not in response.text  # no connection details leak


def test_livez_answers_while_the_store_is_unreachable(app_for: AppFactory, down_store: SqlCommerceStore) -> None:
    with TestClient(app_for(down_store)) as client:
        assert client.get("/healthz").status_code == 503
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
