"""Schema migrations: Alembic, run programmatically on the store's own engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


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
