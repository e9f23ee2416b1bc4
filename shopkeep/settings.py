"""Settings: the one place configuration is read (environment variables prefixed ``SHOPKEEP_``, nested with ``__``).

Everything else receives a ``Settings`` object (or a value taken from it); nothing reads ``os.environ`` directly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_store_url(var_dir: Path) -> str:
    """The embedded default: one SQLite file under ``var/``."""
    return f"sqlite:///{var_dir / 'shopkeep.db'}"


class Settings(BaseSettings):
    """All of Shopkeep's configuration. Field ``x`` is set by ``SHOPKEEP_X``; nested ``a.b`` by ``SHOPKEEP_A__B``."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPKEEP_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    store_url: str = Field(default="", description="SQLAlchemy URL of the commerce store; default var/shopkeep.db")
    data_dir: Path = PROJECT_ROOT / "data"
    var_dir: Path = PROJECT_ROOT / "var"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"

    def resolved_store_url(self) -> str:
        """The store URL, defaulting to the SQLite file under ``var_dir``."""
        return self.store_url or default_store_url(self.var_dir)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
