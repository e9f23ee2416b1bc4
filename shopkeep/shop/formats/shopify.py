"""Shopify's product and customer CSV exports, as Shopify writes them.

One product is a run of rows with the same ``Handle``. Its first row has the ``Title`` and the product's fields
(``Body (HTML)``, ``Vendor``, ``Type``, ``Product Category``, ``Tags``, ``Published``, ``Status``, the option names
``Option1 Name`` to ``Option3 Name``); each row that has variant data (an option value, a SKU or a price) is a
variant, and rows that carry only an ``Image Src`` add images. A product with a single variant has the option
``Title`` = ``Default Title``, which means no options. Option names vary between shops ("Color", "Colour"): they are
keyed as ``_fields.option_name`` spells them. The body is HTML; the product keeps it as plain text. A variant is in
stock when ``Variant Inventory Qty`` is above 0 or ``Variant Inventory Policy`` is ``continue`` (an untracked
variant, no tracker and no quantity, is always in stock). ``Status`` draft/archived or ``Published`` FALSE hides a
product: it is skipped, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from shopkeep.domain import Address, PersonName
from shopkeep.domain.imports import CustomerEntry, Origin, ProductEntry, Skipped, VariantEntry
from shopkeep.shop.formats import CatalogFile, CustomerFile, Progress
from shopkeep.shop.formats._fields import (
    CsvRow,
    FieldError,
    amount,
    csv_rows,
    derive_product_type,
    email,
    html_to_text,
    option_name,
    tags,
    text_or_none,
    url,
    whole_number,
    yes_no,
)

REQUIRED = ("Handle", "Title", "Variant Price")
OPTIONS = (1, 2, 3)
_STATUSES = ("active", "draft", "archived")
_POLICIES = ("deny", "continue")


@dataclass
class _Product:
    first: CsvRow
    option_names: dict[int, str]
    variants: list[VariantEntry] = field(default_factory=list)
    variant_rows: list[CsvRow] = field(default_factory=list)
    images: list[tuple[int, int, str]] = field(default_factory=list)
    """(position, row order, url) of every image; the product keeps the first."""


def _status(first: CsvRow) -> str | None:
    """Why the product is hidden, or None when customers can see it."""
    status = first.get("Status").lower()
    if status and status not in _STATUSES:
        raise first.error("Status", "is not active, draft or archived")
    if status in ("draft", "archived"):
        return f"unpublished (Status: {status})"
    if first.get("Published") and not first.read("Published", yes_no):
        return "unpublished (Published: FALSE)"
    return None


def _has_variant(row: CsvRow) -> bool:
    return any(row.get(f"Option{n} Value") for n in OPTIONS) or bool(row.get("Variant SKU") or row.get("Variant Price"))


def _available(row: CsvRow) -> bool:
    policy = row.get("Variant Inventory Policy").lower() or "deny"
    if policy not in _POLICIES:
        raise row.error("Variant Inventory Policy", "is not deny or continue")
    if row.get("Variant Inventory Qty"):
        return row.read("Variant Inventory Qty", whole_number) > 0 or policy == "continue"
    # No quantity: an untracked variant is always available; a tracked one has none in stock.
    return not row.get("Variant Inventory Tracker") or policy == "continue"


def _variant(product: _Product, row: CsvRow, currency: str) -> VariantEntry:
    options: dict[str, str] = {}
    for n in OPTIONS:
        value = row.get(f"Option{n} Value")
        if not value:
            continue
        name = product.option_names.get(n)
        if name is None:
            raise row.error(
                f"Option{n} Value", f"has no Option{n} Name on the product's first line ({product.first.line})"
            )
        if (name, value) == ("title", "Default Title"):
            continue
        options[name] = value
    if not row.get("Variant Price"):
        raise row.error("Variant Price", "is missing")
    price = row.read("Variant Price", lambda raw: amount(raw, currency=currency))
    compare: Decimal | None = None
    if row.get("Variant Compare At Price"):
        compare = row.read("Variant Compare At Price", lambda raw: amount(raw, currency=currency))
    return VariantEntry(
        origin=Origin(path=row.path, line=row.line),
        options=options,
        price=price,
        available=_available(row),
        sku=row.get("Variant SKU") or None,
        compare_at_price=compare if compare is not None and compare > price else None,
    )


def _check_unique(product: _Product) -> None:
    seen_sku: dict[str, int] = {}
    seen_options: dict[tuple[tuple[str, str], ...], int] = {}
    for variant, row in zip(product.variants, product.variant_rows, strict=True):
        if variant.sku is not None:
            if variant.sku in seen_sku:
                raise row.error("Variant SKU", f"repeats the variant on line {seen_sku[variant.sku]}")
            seen_sku[variant.sku] = row.line
        key = tuple(sorted(variant.options.items()))
        if key in seen_options:
            raise row.error("Option1 Value", f"repeats the options of the variant on line {seen_options[key]}")
        seen_options[key] = row.line


def _entry(product: _Product) -> ProductEntry:
    first = product.first
    if not product.variants:
        raise first.error("Variant Price", "is missing: the product has no variant")
    _check_unique(product)
    title = " ".join(first.get("Title").split())
    tag_list = tags(first.get("Tags"))
    kind = text_or_none(first.get("Type")) or derive_product_type(title, tag_list, first.get("Product Category"))
    images = sorted(product.images)
    return ProductEntry(
        origin=Origin(path=first.path, line=first.line),
        source_id=first.get("Handle"),
        name=title,
        variants=product.variants,
        product_type=kind,
        brand=text_or_none(first.get("Vendor")),
        tags=tag_list,
        description=html_to_text(first.get("Body (HTML)")) or None,
        image_url=images[0][2] if images else None,
    )


def read_shopify_products(path: Path, shown: str, *, currency: str, progress: Progress | None = None) -> CatalogFile:
    """Every product of a Shopify product CSV export (see the module doc)."""
    result = CatalogFile()
    current: _Product | None = None
    hidden: str | None = None
    finished: dict[str, int] = {}

    def finish() -> None:
        if current is None:
            return
        origin = Origin(path=shown, line=current.first.line)
        if hidden is not None:
            result.skipped.append(Skipped(origin=origin, source_id=current.first.get("Handle"), reason=hidden))
        else:
            result.products.append(_entry(current))
        finished[current.first.get("Handle")] = current.first.line

    for row in csv_rows(path, shown, delimiter=",", required=REQUIRED, progress=progress):
        result.rows += 1
        handle = row.get("Handle")
        if not handle:
            raise row.error("Handle", "is missing")
        if current is None or handle != current.first.get("Handle"):
            if handle in finished:
                raise row.error(
                    "Handle", f"continues the product on line {finished[handle]}, but other rows came between"
                )
            if not row.get("Title"):
                raise row.error("Title", "is missing on the product's first line")
            finish()
            names = {n: option_name(row.get(f"Option{n} Name")) for n in OPTIONS if row.get(f"Option{n} Name")}
            current = _Product(first=row, option_names=names)
            hidden = _status(row)
        if _has_variant(row):
            current.variants.append(_variant(current, row, currency))
            current.variant_rows.append(row)
        if row.get("Image Src"):
            image = row.read("Image Src", _url)
            position = row.read("Image Position", whole_number) if row.get("Image Position") else 10**6
            current.images.append((position, row.line, image))
    finish()
    return result


def _url(raw: str) -> str:
    found = url(raw)
    if found is None:
        raise FieldError("is missing")
    return found


# customers ------------------------------------------------------------------------------------------------------------

CUSTOMER_COLUMNS = {
    "address1": ("Default Address Address1", "Address1"),
    "address2": ("Default Address Address2", "Address2"),
    "city": ("Default Address City", "City"),
    "state": ("Default Address Province Code", "Province Code", "Province"),
    "zip": ("Default Address Zip", "Zip"),
    "country": ("Default Address Country Code", "Country Code", "Country"),
}
"""Address fields and the columns that hold them: Shopify's current export names (``Default Address ...``) first,
then the older ones."""


def _first_filled(row: CsvRow, columns: tuple[str, ...]) -> str:
    return next((row.get(column) for column in columns if row.get(column)), "")


def read_shopify_customers(path: Path, shown: str, *, progress: Progress | None = None) -> CustomerFile:
    """Every customer of a Shopify customer CSV export: names, email and default address (what verification uses:
    the email, or first name, last name and zip). Each email may appear once."""
    result = CustomerFile()
    seen: dict[str, int] = {}
    for row in csv_rows(path, shown, delimiter=",", required=("First Name", "Last Name", "Email"), progress=progress):
        result.rows += 1
        address = row.read("Email", email)
        if address.lower() in seen:
            raise row.error("Email", f"repeats the customer on line {seen[address.lower()]}")
        seen[address.lower()] = row.line
        result.customers.append(
            CustomerEntry(
                origin=Origin(path=shown, line=row.line),
                source_id=row.get("Customer ID") or address.lower(),
                email=address,
                name=PersonName(first_name=row.get("First Name"), last_name=row.get("Last Name")),
                address=Address(**{name: _first_filled(row, columns) for name, columns in CUSTOMER_COLUMNS.items()}),
            )
        )
    return result
