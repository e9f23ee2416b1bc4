"""The curated catalog vocabulary: product aliases and uses (``aliases.yaml``), option synonyms and key words
(``options.yaml``), both under ``data/catalog/``. Loaded once per directory and shared."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import Field, field_validator

from shopkeep.domain._base import Frozen
from shopkeep.settings import PROJECT_ROOT

CATALOG_TERMS_DIR = PROJECT_ROOT / "data" / "catalog"


class ProductUse(Frozen):
    """What a product is for; with ``when``, true only of variants having one of those option values."""

    text: str
    when: dict[str, list[str]] = Field(default_factory=dict)

    def applies_to(self, options: Mapping[str, str]) -> bool:
        return all(options.get(key) in values for key, values in self.when.items())


class ProductTerms(Frozen):
    """Other names of a product type, and its uses."""

    aliases: list[str] = Field(default_factory=list)
    uses: list[ProductUse] = Field(default_factory=list)

    @field_validator("uses", mode="before")
    @classmethod
    def _plain_uses(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"text": item} if isinstance(item, str) else item for item in value]
        return value


class CatalogTerms(Frozen):
    """Everything in ``data/catalog``: product terms by product name, option synonyms and key words by option key."""

    products: dict[str, ProductTerms] = Field(default_factory=dict)
    values: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    heads: dict[str, list[str]] = Field(default_factory=dict)


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (ten times faster on these files), else the Python one."""


def _read_yaml(path: Path) -> dict[str, object]:
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} must hold a mapping")
    return {str(key): value for key, value in loaded.items()}


@lru_cache(maxsize=8)
def load_catalog_terms(directory: Path = CATALOG_TERMS_DIR) -> CatalogTerms:
    """Read ``aliases.yaml`` and ``options.yaml`` from ``directory`` (validated; cached per directory)."""
    options = _read_yaml(directory / "options.yaml")
    return CatalogTerms.model_validate(
        {
            "products": _read_yaml(directory / "aliases.yaml"),
            "values": options.get("values") or {},
            "heads": options.get("heads") or {},
        }
    )
