"""The migrations build exactly the schema the table models declare, on SQLite and on PostgreSQL: a column or index
added to a model without a migration (or the reverse) fails here, not on a user's upgraded store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shopkeep.retrieval.schema import metadata as retrieval_metadata
from shopkeep.store import open_store
from shopkeep.store.migrate import include_object
from shopkeep.store.postgres import scratch_database
from shopkeep.store.schema import metadata


@pytest.fixture
def empty_postgres(postgres_database: str) -> Iterator[str]:
    """A database of its own (the session's shared one also holds other components' tables, like checkpoints)."""
    with scratch_database(postgres_database, "shopkeep_migrations") as url:
        yield url


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_migrated_schema_matches_the_models(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.db'}" if database == "sqlite" else request.getfixturevalue("empty_postgres")
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True})
            assert compare_metadata(context, [metadata, retrieval_metadata]) == []
    finally:
        store.close()
