"""Settings: the one place configuration is read (environment variables prefixed ``SHOPKEEP_``, nested with ``__``).

Everything else receives a ``Settings`` object (or a value taken from it); nothing reads ``os.environ`` directly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_store_url(var_dir: Path) -> str:
    """The embedded default: one SQLite file under ``var/``."""
    return f"sqlite:///{var_dir / 'shopkeep.db'}"


class RetrievalSettings(BaseModel):
    """Catalog and knowledge search: which embedder, its endpoint, and the vector index (``SHOPKEEP_RETRIEVAL__X``)."""

    embedder: Literal["local", "oci", "openai"] = "local"
    model: str = Field(default="", description="Embedding model id; empty means the embedder's default")
    dimensions: int | None = Field(default=None, ge=1, description="Vector size, for models Shopkeep does not know")
    batch_size: int = Field(default=64, ge=1, le=2048)
    base_url: str = Field(default="https://api.openai.com/v1", description="OpenAI-compatible API root (openai)")
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    oci_compartment_id: str = ""
    oci_service_endpoint: str = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com"
    oci_auth_type: Literal["API_KEY", "SECURITY_TOKEN", "INSTANCE_PRINCIPAL", "RESOURCE_PRINCIPAL"] = "API_KEY"
    oci_auth_profile: str = "DEFAULT"
    oci_config_file: str = "~/.oci/config"
    index_on_start: bool = Field(default=True, description="`shopkeep serve` indexes new or changed documents")


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
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)

    checkpoint_url: str = Field(default="", description="Where conversations are checkpointed; default var/")

    def resolved_checkpoint_url(self) -> str:
        """The checkpointer URL, defaulting to a SQLite file next to the store."""
        return self.checkpoint_url or f"sqlite:///{self.var_dir / 'checkpoints.db'}"

    def resolved_store_url(self) -> str:
        """The store URL, defaulting to the SQLite file under ``var_dir``."""
        return self.store_url or default_store_url(self.var_dir)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
