"""A Google Merchant Center product feed: tab-separated text with a header line, or RSS 2.0 XML whose ``<item>``
fields are in the ``g:`` namespace (``http://base.google.com/ns/1.0``).

Each row (item) is one variant: ``id`` is its SKU, ``price`` is "12.99 USD" (the currency must be the shop's),
``sale_price`` when given is what it sells for (``price`` becomes the compare-at price), ``availability`` is
in_stock / out_of_stock / preorder / backorder. Items sharing an ``item_group_id`` are the variants of one product,
told apart by ``color``, ``size``, ``material`` and ``pattern``; an item without a group is a product of its own.
The product's name is its items' title without those option values ("Linen Shirt - Blue / M" is "Linen Shirt");
its type is ``product_type``'s last part, else ``google_product_category``'s, else derived from the title; the
``custom_label_0..4`` values are its tags. The XML is read with the standard library's SAX parser, which expands no
external entities.
"""

from __future__ import annotations

import re
import xml.sax
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.handler import ContentHandler, feature_external_ges, feature_external_pes, feature_namespaces

from shopkeep.domain.imports import Origin, ProductEntry, VariantEntry
from shopkeep.errors import ImportRowError
from shopkeep.shop.formats import CatalogFile, Progress
from shopkeep.shop.formats._fields import (
    FieldError,
    amount,
    category_leaf,
    csv_rows,
    derive_product_type,
    html_to_text,
    text_or_none,
    url,
)

REQUIRED = ("id", "title", "price", "availability")
OPTION_FIELDS = ("color", "size", "material", "pattern")
LABELS = tuple(f"custom_label_{n}" for n in range(5))
_AVAILABLE = {"in_stock": True, "in stock": True, "preorder": True, "backorder": True}
_UNAVAILABLE = {"out_of_stock": False, "out of stock": False}


def field_name(raw: str) -> str:
    """A Merchant attribute name as written in a header or an element: "g:item_group_id", "Item Group ID"."""
    return "_".join(raw.strip().lower().removeprefix("g:").split())


@dataclass
class Item:
    """One feed item: its fields (whitespace collapsed), and the line each was read on (a TSV row is all on one
    line)."""

    path: str
    line: int
    fields: dict[str, str]
    lines: dict[str, int]

    def __post_init__(self) -> None:
        self.fields = {name: " ".join(value.split()) for name, value in self.fields.items() if value}

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    def error(self, name: str, problem: str) -> ImportRowError:
        value = self.get(name)
        return ImportRowError(
            self.path, self.lines.get(name, self.line), name, f"'{value}' {problem}" if value else problem
        )

    def amount(self, name: str, currency: str) -> Decimal:
        try:
            return amount(self.get(name), currency=currency)
        except FieldError as exc:
            raise self.error(name, exc.problem) from None


def _tsv_items(path: Path, shown: str, progress: Progress | None) -> Iterator[Item]:
    for row in csv_rows(path, shown, delimiter="\t", required=REQUIRED, normalize=field_name, progress=progress):
        yield Item(shown, row.line, row.cells, {})


class _FeedHandler(ContentHandler):
    """Collects each ``<item>``'s child elements (any namespace: RSS's own title/link/description, or ``g:``)."""

    def __init__(self, shown: str) -> None:
        super().__init__()
        self.shown = shown
        self.items: list[Item] = []
        self._item: Item | None = None
        self._field: str | None = None
        self._text: list[str] = []
        self._locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:  # noqa: N802 - the SAX API's name
        self._locator = locator

    def _line(self) -> int:
        return int(self._locator.getLineNumber()) if self._locator is not None else 0

    def startElementNS(self, name: tuple[str | None, str], qname: str | None, attrs: Any) -> None:  # noqa: N802
        local = name[1]
        if local == "item":
            self._item = Item(self.shown, self._line(), {}, {})
        elif self._item is not None and self._field is None:
            self._field, self._text = field_name(local), []
            self._item.lines[self._field] = self._line()

    def endElementNS(self, name: tuple[str | None, str], qname: str | None) -> None:  # noqa: N802
        if self._item is None:
            return
        if name[1] == "item":
            self.items.append(self._item)
            self._item = None
        elif self._field is not None and field_name(name[1]) == self._field:
            self._item.fields[self._field] = " ".join("".join(self._text).split())
            self._field = None

    def characters(self, content: str) -> None:
        if self._field is not None:
            self._text.append(content)


class _Counted:
    """A binary file that reports how much of it the parser has read."""

    def __init__(self, handle: BinaryIO, total: int, progress: Progress | None) -> None:
        self._handle, self._total, self._progress, self._done = handle, total, progress, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._done += len(chunk)
        if self._progress is not None:
            self._progress(self._done, self._total)
        return chunk

    def close(self) -> None:
        self._handle.close()


def _xml_items(path: Path, shown: str, progress: Progress | None) -> Iterator[Item]:
    handler = _FeedHandler(shown)
    parser = xml.sax.make_parser()
    parser.setFeature(feature_namespaces, True)
    parser.setFeature(feature_external_ges, False)
    parser.setFeature(feature_external_pes, False)
    parser.setContentHandler(handler)
    with path.open("rb") as handle:
        try:
            parser.parse(_Counted(handle, path.stat().st_size, progress))
        except xml.sax.SAXParseException as exc:
            problem = f"is not well-formed XML ({exc.getMessage()})"
            raise ImportRowError(shown, exc.getLineNumber() or 1, "the feed", problem) from None
    yield from handler.items


def _variant(item: Item, currency: str) -> VariantEntry:
    for name in REQUIRED:
        if not item.get(name):
            raise item.error(name, "is missing")
    availability = item.get("availability").lower()
    if availability not in _AVAILABLE and availability not in _UNAVAILABLE:
        raise item.error("availability", "is not in_stock, out_of_stock, preorder or backorder")
    price = item.amount("price", currency)
    compare: Decimal | None = None
    if item.get("sale_price"):
        sale = item.amount("sale_price", currency)
        price, compare = (sale, price) if sale < price else (price, None)
    return VariantEntry(
        origin=Origin(path=item.path, line=item.line),
        options={name: item.get(name) for name in OPTION_FIELDS if item.get(name)},
        price=price,
        available=availability in _AVAILABLE,
        sku=item.get("id"),
        compare_at_price=compare,
    )


_SEPARATORS = " -–—/|,:;()"


def product_name(titles: list[str], values: set[str]) -> str:
    """What the items' titles have in common, without their option values: "Linen Shirt - Blue / M" and "Linen
    Shirt - Sand / L" are "Linen Shirt"."""
    first = titles[0]
    if len(titles) > 1:
        words = [title.split() for title in titles]
        common = []
        for column in zip(*words, strict=False):
            if len(set(column)) > 1:
                break
            common.append(column[0])
        first = " ".join(common) or first
    for value in sorted(values, key=len, reverse=True):
        first = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", first, flags=re.IGNORECASE)
    name = " ".join(first.split()).strip(_SEPARATORS)
    name = re.sub(r"\s*[-–—/|,:;]\s*$", "", re.sub(r"\(\s*\)", "", name)).strip(_SEPARATORS)
    return " ".join(name.split()) or titles[0]


def _product(group: str, items: list[Item], currency: str) -> ProductEntry:
    first = items[0]
    variants = [_variant(item, currency) for item in items]
    values = {value for variant in variants for value in variant.options.values()}
    name = (
        product_name([item.get("title") for item in items], values)
        if first.get("item_group_id")
        else first.get("title")
    )
    labels = list(dict.fromkeys(first.get(label) for label in LABELS if first.get(label)))
    kind = category_leaf(first.get("product_type")) if first.get("product_type") else None
    try:
        image = url(first.get("image_link"))
    except FieldError as exc:
        raise first.error("image_link", exc.problem) from None
    return ProductEntry(
        origin=Origin(path=first.path, line=first.line),
        source_id=group,
        name=name,
        variants=variants,
        product_type=kind or derive_product_type(name, labels, first.get("google_product_category")),
        brand=text_or_none(first.get("brand")),
        tags=labels,
        description=html_to_text(first.get("description")) or None,
        image_url=image,
    )


def read_merchant_feed(path: Path, shown: str, *, currency: str, progress: Progress | None = None) -> CatalogFile:
    """Every product of a Merchant Center feed, TSV or XML (see the module doc), in the order groups first appear."""
    with path.open("rb") as handle:
        xml_feed = handle.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")
    items = _xml_items(path, shown, progress) if xml_feed else _tsv_items(path, shown, progress)
    groups: dict[str, list[Item]] = {}
    ids: dict[str, int] = {}
    result = CatalogFile()
    for item in items:
        result.rows += 1
        item_id = item.get("id")
        if not item_id:
            raise item.error("id", "is missing")
        if item_id in ids:
            raise item.error("id", f"repeats the item on line {ids[item_id]}")
        ids[item_id] = item.line
        groups.setdefault(item.get("item_group_id") or item.get("id"), []).append(item)
    result.products = [_product(group, members, currency) for group, members in groups.items()]
    return result
