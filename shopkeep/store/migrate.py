"""Schema migrations: Alembic, run programmatically on the store's own engine (``shopkeep migrate``, or on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")
UNMODELLED = ("retrieval_fts", "retrieval_vec", "search_tsv", "ix_retrieval_documents_search_tsv")
"""Created outside the table metadata (by migration 0002's dialect DDL, or by a ``VectorIndex`` backend at run time):
comparing the schema with the models must not report them."""


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's filter for schema comparison: everything but the ``UNMODELLED`` objects."""
    return not (reflected and compare_to is None and (name or "").startswith(UNMODELLED))


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    with engine.connect() as conn:
        conn.execution_options(shopkeep_write=True)
        with conn.begin():
            config = alembic_config(engine)
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The schema's revision (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """The newest revision this version of Shopkeep knows."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
