"""``shopkeep catalog import``: read a shop's catalog files, then write them to the store in one transaction.

Every file is read and validated completely before anything is written (the first invalid row fails the import:
``ImportRowError``), in the format named or detected (``formats.detect_catalog_format``); products from several
files are one import, and a product listed in two files is an error. The store then matches and writes the
products in one transaction (``store.imports.apply_catalog``): all or nothing. Indexing for search is the caller's
next step (the CLI runs it before it returns).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shopkeep.domain.imports import ProductEntry, Skipped
from shopkeep.errors import ImportRowError, UnknownFormatError
from shopkeep.shop.formats import CATALOG_FORMATS, CatalogFile, CatalogFormat, Progress, detect_catalog_format
from shopkeep.shop.formats.jsonl import read_product_lines
from shopkeep.shop.formats.merchant import read_merchant_feed
from shopkeep.shop.formats.shopify import read_shopify_products
from shopkeep.store.base import CommerceStore
from shopkeep.store.imports import CatalogChanges, apply_catalog
from shopkeep.store.shop import shop_records

FORMAT_CHOICES = ("auto", *CATALOG_FORMATS)


@dataclass(frozen=True)
class FileRead:
    shown: str
    format: CatalogFormat
    rows: int
    products: int


@dataclass
class CatalogImport:
    """What an import read and changed."""

    files: list[FileRead] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    changes: CatalogChanges = field(default_factory=CatalogChanges)
    read_seconds: float = 0.0
    write_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def read_catalog_file(
    path: Path, fmt: str, *, currency: str, shown: str | None = None, progress: Progress | None = None
) -> tuple[CatalogFormat, CatalogFile]:
    """One file's products, in ``fmt`` ("auto": detected)."""
    shown = shown or str(path)
    if fmt not in FORMAT_CHOICES:
        raise UnknownFormatError(
            f"unknown format {fmt!r}: use auto, {', '.join(CATALOG_FORMATS)}", supported=tuple(CATALOG_FORMATS)
        )
    chosen: CatalogFormat = detect_catalog_format(path, shown) if fmt == "auto" else fmt  # type: ignore[assignment]
    if chosen == "shopify":
        return chosen, read_shopify_products(path, shown, currency=currency, progress=progress)
    if chosen == "merchant":
        return chosen, read_merchant_feed(path, shown, currency=currency, progress=progress)
    return chosen, read_product_lines(path, shown, progress=progress)


def shop_currency(store: CommerceStore) -> str:
    """The currency prices are read in: the shop's (the demo's, US dollars, for a store without a profile)."""
    with store.session() as session:
        profile = shop_records(session).profile()
    return profile.currency if profile is not None else "USD"


def import_catalog(
    store: CommerceStore,
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    replace: bool = False,
    progress: Callable[[str], Progress | None] | None = None,
) -> CatalogImport:
    """Read every file, then write them all in one transaction (see the module doc). ``progress(file)`` may give a
    callback for reading that file."""
    started = time.perf_counter()
    currency = shop_currency(store)
    result = CatalogImport()
    entries: list[ProductEntry] = []
    seen: dict[str, ProductEntry] = {}
    for path in paths:
        shown = str(path)
        chosen, read = read_catalog_file(
            path, fmt, currency=currency, shown=shown, progress=progress(shown) if progress else None
        )
        for entry in read.products:
            first = seen.get(entry.source_id)
            if first is not None:
                where = f"{first.origin.path} line {first.origin.line}"
                raise ImportRowError(shown, entry.origin.line, "product", f"'{entry.source_id}' is already in {where}")
            seen[entry.source_id] = entry
        entries.extend(read.products)
        result.skipped.extend(read.skipped)
        result.files.append(FileRead(shown, chosen, read.rows, len(read.products)))
    result.read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with store.session(write=True) as session:
        result.changes = apply_catalog(
            session, entries, unpublished=[skip.source_id for skip in result.skipped], replace=replace
        )
    result.write_seconds = time.perf_counter() - started
    return result
