"""Readers of the catalog and customer files a shop brings, one module per format, and format detection.

Catalog formats: ``shopify`` (Shopify's product CSV export), ``merchant`` (a Google Merchant Center feed, TSV or RSS
2.0 XML) and ``jsonl`` (Shopkeep's own product schema, one JSON object per line; ``shopkeep catalog export`` writes
it). Customer formats: ``shopify`` (Shopify's customer CSV export) and ``jsonl``. Every reader streams its file,
validates every row, and fails on the first invalid one with ``ImportRowError`` naming the file, the line and the
column; nothing is written until a whole import has been read.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from shopkeep.domain.imports import CustomerEntry, ProductEntry, Skipped
from shopkeep.errors import UnknownFormatError

CatalogFormat = Literal["shopify", "merchant", "jsonl"]
CATALOG_FORMATS: dict[str, str] = {
    "shopify": "Shopify product CSV export (Handle, Title, Body (HTML), ..., Variant Price)",
    "merchant": "Google Merchant Center feed (TSV or RSS 2.0 XML with id, title, price, availability)",
    "jsonl": "Shopkeep product JSON Lines (one product object per line; see `shopkeep catalog export`)",
}
CUSTOMER_FORMATS: dict[str, str] = {
    "shopify": "Shopify customer CSV export (First Name, Last Name, Email, Default Address ...)",
    "jsonl": "Shopkeep customer JSON Lines (one customer object per line)",
}

Progress = Callable[[int, int], None]
"""``progress(done, total)`` in bytes of the file being read."""


@dataclass
class CatalogFile:
    """What one catalog file holds: its products (in file order), the ones left out on purpose, its row count."""

    products: list[ProductEntry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    rows: int = 0


@dataclass
class CustomerFile:
    customers: list[CustomerEntry] = field(default_factory=list)
    rows: int = 0


def _head(path: Path) -> str:
    with path.open("rb") as handle:
        return handle.read(4096).decode("utf-8-sig", errors="replace").lstrip()


def _header_fields(head: str, delimiter: str) -> set[str]:
    first = head.splitlines()[0] if head else ""
    try:
        cells = next(csv.reader([first], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return set()
    return {cell.strip().lower().removeprefix("g:") for cell in cells}


def _unknown(path: str, formats: dict[str, str], why: str) -> UnknownFormatError:
    supported = "; ".join(f"{name}: {description}" for name, description in formats.items())
    return UnknownFormatError(
        f"{path} is in no supported format ({why}). Supported: {supported}", supported=tuple(formats)
    )


def detect_catalog_format(path: Path, shown: str) -> CatalogFormat:
    """Which catalog format a file is in, from its first bytes (extension aside)."""
    head = _head(path)
    if not head:
        raise _unknown(shown, CATALOG_FORMATS, "it is empty")
    if head.startswith("{"):
        return "jsonl"
    if head.startswith("<"):
        if "<rss" in head or "<feed" in head:
            return "merchant"
        raise _unknown(shown, CATALOG_FORMATS, "XML that is not an RSS 2.0 feed")
    if {"handle", "title", "variant price"} <= _header_fields(head, ","):
        return "shopify"
    if {"id", "title", "price"} <= _header_fields(head, "\t"):
        return "merchant"
    raise _unknown(shown, CATALOG_FORMATS, "its first line is no header Shopkeep knows")


def detect_customer_format(path: Path, shown: str) -> Literal["shopify", "jsonl"]:
    head = _head(path)
    if head.startswith("{"):
        return "jsonl"
    if {"email", "first name", "last name"} <= _header_fields(head, ","):
        return "shopify"
    raise _unknown(shown, CUSTOMER_FORMATS, "its first line is no header Shopkeep knows" if head else "it is empty")
