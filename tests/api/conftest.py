"""API fixtures: the real conversation service (local brain, SQLite checkpointer) over a fresh SQLite demo store.

The local brain's NLU is trained once per session; everything else is fresh per test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.api.app import create_app
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings
from shopkeep.store import CommerceStore, SqlCommerceStore
from shopkeep.store.postgres import create_postgres_engine
from tests.api.helpers import DOWN_URL, AppFactory


@pytest.fixture(scope="session")
def nlu() -> NLU:
    return NLU.load(Settings())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var")


@pytest.fixture
def app_for(settings: Settings, nlu: NLU, tmp_path: Path) -> Iterator[AppFactory]:
    """Apps over any store, each with its own real conversation service and SQLite checkpointer."""
    with ExitStack() as stack:

        def make(store: CommerceStore) -> FastAPI:
            url = f"sqlite:///{tmp_path / f'checkpoints-{uuid.uuid4().hex[:8]}.db'}"
            checkpointer = stack.enter_context(open_checkpointer(url))
            return create_app(settings, store, service=build_service(settings, store, checkpointer, nlu=nlu))

        yield make


@pytest.fixture
def client(app_for: AppFactory, sqlite_store: SqlCommerceStore) -> Iterator[TestClient]:
    with TestClient(app_for(sqlite_store)) as test_client:
        yield test_client


@pytest.fixture
def down_store() -> Iterator[SqlCommerceStore]:
    """A store whose database cannot be reached (nothing listens on port 1)."""
    unreachable = SqlCommerceStore(create_postgres_engine(DOWN_URL))
    yield unreachable
    unreachable.close()
