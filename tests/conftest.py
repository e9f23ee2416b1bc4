"""Shared fixtures: the demo data, fresh stores on every backend, and the test services.

Backends whose server is absent are skipped locally; with ``SHOPKEEP_REQUIRE_SERVICES=1`` (CI) they fail instead.
Service URLs come from ``SHOPKEEP_TEST_POSTGRES_URL``, ``SHOPKEEP_TEST_PGVECTOR_URL`` (PostgreSQL 16 + pgvector,
``infra/pgvector/server.sh``), ``SHOPKEEP_TEST_REDIS_URL`` and ``SHOPKEEP_TEST_ORACLE_DSN``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock
from sqlalchemy import create_engine, delete, insert, select, text
from sqlalchemy.engine import make_url

from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import PROJECT_ROOT, Settings
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store import schema as store_schema
from shopkeep.store.seed import StoreData, demo_db_path, read_tau2_db, seed

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
# A wide terminal for rich, set before any CLI module makes its console: output the tests read must not wrap inside
# long tmp paths (under pytest-xdist they are longer, and a console fixes its width when it is made).
os.environ["COLUMNS"] = "400"

DATA_DIR = PROJECT_ROOT / "data"
TEST_CACHE = PROJECT_ROOT / "var" / "test-cache"
TAU2_DIR = DATA_DIR / "tau2_retail"
POSTGRES_URL = os.environ.get("SHOPKEEP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PGVECTOR_URL = os.environ.get("SHOPKEEP_TEST_PGVECTOR_URL", "postgresql+psycopg://postgres@127.0.0.1:5433/test")
ORACLE_DSN = os.environ.get("SHOPKEEP_TEST_ORACLE_DSN", "")
REQUIRE_SERVICES = os.environ.get("SHOPKEEP_REQUIRE_SERVICES") == "1"


def service_missing(reason: str) -> None:
    """Skip locally; fail in CI, where every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def demo_data() -> StoreData:
    return read_tau2_db(demo_db_path(DATA_DIR))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, demo_data: StoreData) -> Path:
    """A seeded SQLite file, copied for every test that needs a fresh store."""
    path = tmp_path_factory.mktemp("template") / "demo.db"
    store = open_store(f"sqlite:///{path}")
    seed(store, demo_data)
    store.close()
    return path


def fresh_sqlite_store(template: Path, directory: Path) -> SqlCommerceStore:
    path = directory / f"store-{uuid.uuid4().hex[:8]}.db"
    shutil.copy(template, path)
    return open_store(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throw-away database on the test PostgreSQL server, dropped at the end of the session."""
    yield from _postgres_scratch("shopkeep_test")


@pytest.fixture(scope="session")
def contract_postgres_database() -> Iterator[str]:
    """The contract suite's own throw-away database: the suites that share ``postgres_database`` leave tickets and
    events behind, which the contract's exact lists must not see."""
    yield from _postgres_scratch("shopkeep_contract")


def _postgres_scratch(prefix: str) -> Iterator[str]:
    admin_url = make_url(POSTGRES_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        service_missing(f"PostgreSQL at {admin_url.render_as_string()} is not reachable: {exc}")
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pgvector_scratch(prefix: str) -> Iterator[str]:
    """A throw-away database with the ``vector`` extension on the pgvector test server, dropped afterwards."""
    admin_url = make_url(PGVECTOR_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_url.set(database=name)
        scratch = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with scratch.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        scratch.dispose()
    except Exception as exc:
        service_missing(f"PostgreSQL + pgvector at {admin_url.render_as_string()} is not usable: {exc}")
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pgvector_database() -> Iterator[str]:
    """A throw-away database with the ``vector`` extension on the pgvector test server, dropped at session end."""
    yield from _pgvector_scratch("shopkeep_vec")


@pytest.fixture(scope="session")
def pgvector_indexed(demo_data: StoreData, indexed_sqlite_template: Path) -> Iterator[str]:
    """Another pgvector database holding the demo store, seeded and indexed for search (vectors from the indexed
    SQLite template's embedding cache, so the demo catalog is not embedded again)."""
    from shopkeep.retrieval import schema as rs

    template = create_engine(f"sqlite:///{indexed_sqlite_template}")
    with template.connect() as conn:
        cached = [dict(row._mapping) for row in conn.execute(select(rs.embeddings))]
    template.dispose()
    for url in _pgvector_scratch("shopkeep_search"):
        store = open_store(url)
        seed(store, demo_data)
        with store.engine.begin() as conn:
            conn.execute(insert(rs.embeddings), cached)
        _index(store)
        store.close()
        yield url


def _index(store: SqlCommerceStore) -> None:
    from shopkeep.retrieval.embedders import LocalEmbedder
    from shopkeep.retrieval.search import CatalogSearch

    CatalogSearch(store, LocalEmbedder(), kb_dir=DATA_DIR / "kb").index_documents()


def content_key(*paths: Path) -> str:
    """sha256 of the names and bytes of the files under ``paths``: a cache key that changes with any of them."""
    digest = hashlib.sha256()
    for root in paths:
        for file in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(PROJECT_ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:20]


@pytest.fixture(scope="session")
def indexed_sqlite_template(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """The seeded demo SQLite file indexed for search; tests copy the file. Embedding the demo catalog and knowledge
    base takes minutes on a busy 2-core machine, so the indexed file is kept in ``var/test-cache`` under a key of
    the demo data and of the code that seeds and indexes it: one test worker builds it, the others (and later
    runs) copy it."""
    package = PROJECT_ROOT / "shopkeep"
    key = content_key(
        demo_db_path(DATA_DIR),
        DATA_DIR / "kb",
        *(package / part for part in ("domain", "retrieval", "shop", "store", "settings.py")),
    )
    cached = TEST_CACHE / f"indexed-demo-{key}.db"
    TEST_CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{cached}.lock"):
        if not cached.is_file():
            for stale in TEST_CACHE.glob("indexed-demo-*.db"):
                stale.unlink()
            building = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp")
            shutil.copy(sqlite_template, building)
            store = open_store(f"sqlite:///{building}")
            _index(store)
            store.close()
            building.replace(cached)
    path = tmp_path_factory.mktemp("indexed") / "demo.db"
    shutil.copy(cached, path)
    return path


@pytest.fixture(scope="session")
def postgres_seeded(postgres_database: str, demo_data: StoreData) -> str:
    store = open_store(postgres_database)
    seed(store, demo_data, reset=True)
    store.close()
    return postgres_database


@pytest.fixture(scope="session")
def oracle_url() -> str:
    if not ORACLE_DSN:
        pytest.skip("SHOPKEEP_TEST_ORACLE_DSN is not set (Oracle Database 23ai cannot run on this machine)")
    return ORACLE_DSN


BACKENDS = ["sqlite", "postgres", "oracle"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, demo_data: StoreData) -> Iterator[SqlCommerceStore]:
    """A fresh demo store on each backend (the contract suite runs on all of them): the demo data and nothing else,
    as in a copy of the SQLite template."""
    if request.param == "sqlite":
        opened = fresh_sqlite_store(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        url = request.getfixturevalue("contract_postgres_database" if request.param == "postgres" else "oracle_url")
        opened = open_store(url)
        _delete_every_row(opened)
        seed(opened, demo_data)
    yield opened
    opened.close()


def _delete_every_row(store: SqlCommerceStore) -> None:
    """Empty the store's tables, the conversation ones too (``seed(reset=True)`` keeps carts, tickets, events and
    shop changes): a test that ran before on this database leaves nothing behind."""
    with store.session(write=True) as session:
        for table in reversed(store_schema.metadata.sorted_tables):
            session.connection.execute(delete(table))


@pytest.fixture
def sqlite_store(sqlite_template: Path, tmp_path: Path) -> Iterator[SqlCommerceStore]:
    opened = fresh_sqlite_store(sqlite_template, tmp_path)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def nlu() -> NLU:
    """The local brain's NLU with the default settings, warmed up once per session (training is cached in var/)."""
    loaded = NLU.load(Settings())
    loaded.warm_up()
    return loaded
