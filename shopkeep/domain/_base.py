"""Base class of the domain models: frozen, strict about unknown fields."""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable value: change it with ``model_copy(update=...)``."""

    model_config = ConfigDict(frozen=True, extra="forbid")
