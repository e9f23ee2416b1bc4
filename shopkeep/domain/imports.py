"""What an import file says, before it is in the store: catalog entries and customer entries.

Parsers of every supported format (``shopkeep.shop.formats``) produce these; the store matches them to what it
holds (``store.imports``). Each entry remembers where it came from (file and line), so a conflict found only when
it is matched is still reported as ``FILE line N: COLUMN 'value' ...``.
"""

from __future__ import annotations

from pydantic import Field

from shopkeep.domain._base import Frozen
from shopkeep.domain.customers import Address, PersonName
from shopkeep.domain.money import Amount


class Origin(Frozen):
    """Where an entry was read: the file as the user named it, and its first line."""

    path: str
    line: int


class VariantEntry(Frozen):
    """One variant as a file describes it. ``item_id`` only when the file names Shopkeep's own id (JSON Lines)."""

    origin: Origin
    options: dict[str, str]
    price: Amount
    available: bool
    sku: str | None = None
    compare_at_price: Amount | None = None
    item_id: str | None = None


class ProductEntry(Frozen):
    """One product as a file describes it; ``source_id`` is the file's own id for it (handle, item group, id)."""

    origin: Origin
    source_id: str
    name: str
    variants: list[VariantEntry]
    product_type: str | None = None
    brand: str | None = None
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    image_url: str | None = None
    product_id: str | None = None


class Skipped(Frozen):
    """A product or row the import left out on purpose, and why ("unpublished (Status: draft)")."""

    origin: Origin
    source_id: str
    reason: str


class CustomerEntry(Frozen):
    """A customer as a file describes them; ``source_id`` is the file's own id (or the email)."""

    origin: Origin
    source_id: str
    email: str
    name: PersonName
    address: Address
