"""The shop the assistant serves: its name, currency, policy and how customers reach it (one per store)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from shopkeep.domain._base import Frozen

DEMO_SHOP_NAME = "Shopkeep Demo Store"
DEMO_SUPPORT_HOURS = "Monday to Friday, 8 am to 8 pm Eastern Time"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class ShopProfile(Frozen):
    """A shop's identity and rules. ``policy`` is the text every brain follows and the promises rail checks
    replies against; ``demo`` marks the bundled demo store (its τ² data, help pages and sample accounts)."""

    name: str = Field(min_length=1, max_length=255)
    currency: str = "USD"
    """ISO 4217 code ("USD", "EUR")."""
    locale: str = "en-US"
    support_hours: str = ""
    """When human agents answer, in the shop's own words ("Mon-Fri 9-17 CET"); empty when not said."""
    policy: str = ""
    demo: bool = False

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        name = " ".join(value.split())
        if not name:
            raise ValueError("a shop needs a name")
        return name

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        code = value.strip().upper()
        if not _CURRENCY.match(code):
            raise ValueError(f"currency {value!r} is not an ISO 4217 code such as USD or EUR")
        return code


class CatalogVocabulary(Frozen):
    """The words of a shop's catalog, for whatever understands customers (search, the local brain): built from the
    store, at the catalog ``revision`` it was read at (compare it with the store's to know when to rebuild)."""

    revision: int
    product_types: dict[str, list[str]]
    """Product type -> its product ids, in catalog order (a demo product is its own type: its name)."""
    product_names: dict[str, str]
    """Product id -> name."""
    options: dict[str, list[str]]
    """Option name ("color") -> every value, in catalog order."""
    brands: list[str]
    tags: list[str]


class HelpPage(Frozen):
    """One of the shop's help pages: Markdown in the format of ``data/kb`` (see ``retrieval.knowledge``), named by
    its ``source`` id (the file's stem, which replies cite)."""

    source: str = Field(min_length=1, max_length=128)
    markdown: str
