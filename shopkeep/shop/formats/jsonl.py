"""Shopkeep's own JSON Lines formats: one product (or customer, ``CustomerLine``) object per line.

A product line (``ProductLine``; ``shopkeep catalog export`` writes exactly this)::

    {"id": "linen-shirt", "title": "Linen Shirt", "product_type": "Shirts", "brand": "Harbor & Pine",
     "tags": ["summer"], "description": "Plain text.", "image_url": "https://...", "published": true,
     "product_id": "4812733190",
     "variants": [{"sku": "LS-BLU-M", "options": {"color": "Blue", "size": "M"}, "price": "49.00",
                   "compare_at_price": null, "available": true, "item_id": "2210938472"}]}

``id`` is the product's id in the shop's own system (imports update by it) and ``title`` its name; every other
field may be left out (``published`` defaults to true, ``available`` to true). ``product_id`` and ``item_id`` are
Shopkeep's own ids: an export carries them so that importing it again keeps every id; a new file leaves them out.
Prices are decimal numbers or strings in the shop's currency. Unknown fields are errors, not silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shopkeep.domain import Address, PersonName, Product
from shopkeep.domain.imports import CustomerEntry, Origin, ProductEntry, Skipped, VariantEntry
from shopkeep.errors import ImportRowError
from shopkeep.shop.formats import CatalogFile, CustomerFile, Progress
from shopkeep.shop.formats._fields import (
    FieldError,
    counted_lines,
    derive_product_type,
    email,
    html_to_text,
    option_name,
    url,
)

_ID = r"^\d{1,64}$"


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VariantLine(_Line):
    """One variant of a product line."""

    sku: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    price: Decimal = Field(ge=0, decimal_places=2)
    compare_at_price: Decimal | None = Field(default=None, ge=0, decimal_places=2)
    available: bool = True
    item_id: str | None = Field(default=None, pattern=_ID)


class ProductLine(_Line):
    """One line of a product JSON Lines file."""

    id: str = Field(min_length=1, max_length=255)
    title: str = Field(min_length=1, max_length=255)
    product_type: str | None = None
    brand: str | None = None
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    image_url: str | None = None
    published: bool = True
    product_id: str | None = Field(default=None, pattern=_ID)
    variants: list[VariantLine] = Field(min_length=1)


_PROBLEMS = {
    "missing": "is missing",
    "extra_forbidden": "is not a field of Shopkeep's product schema",
    "decimal_parsing": "is not a number",
    "decimal_type": "is not a number",
    "decimal_max_places": "has more than two decimals",
    "greater_than_equal": "is negative",
    "string_type": "is not text",
    "string_too_short": "is empty",
    "string_too_long": "is too long",
    "string_pattern_mismatch": "is not a Shopkeep id (digits only)",
    "bool_type": "is not true or false",
    "bool_parsing": "is not true or false",
    "list_type": "is not a list",
    "dict_type": "is not an object",
    "too_short": "is empty",
    "model_type": "is not an object",
}


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the line"


def line_error(path: str, line: int, exc: ValidationError) -> ImportRowError:
    """A pydantic error as ``FILE line N: variants[1].price 'twelve' is not a number``."""
    error = exc.errors()[0]
    problem = _PROBLEMS.get(error["type"], str(error["msg"]).lower())
    value = error.get("input")
    shown = "" if error["type"] in ("missing", "extra_forbidden") or isinstance(value, dict | list) else f"'{value}' "
    return ImportRowError(path, line, _location(tuple(error["loc"])), f"{shown}{problem}")


def json_lines(path: Path, shown: str, progress: Progress | None) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON object) of every non-blank line."""
    with path.open(encoding="utf-8-sig") as handle:
        for number, text in enumerate(counted_lines(handle, path.stat().st_size, progress), start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ImportRowError(shown, number, "the line", f"is not valid JSON ({exc.msg})") from None
            if not isinstance(value, dict):
                raise ImportRowError(shown, number, "the line", "is not a JSON object")
            yield number, value


def _entry(shown: str, number: int, line: ProductLine) -> ProductEntry:
    origin = Origin(path=shown, line=number)
    try:
        image = url(line.image_url or "")
    except FieldError as exc:
        raise ImportRowError(shown, number, "image_url", f"'{line.image_url}' {exc.problem}") from None
    seen: dict[str, int] = {}
    for n, variant in enumerate(line.variants):
        key = variant.sku or json.dumps(sorted((option_name(k), v) for k, v in variant.options.items()))
        if key in seen:
            what = "sku" if variant.sku else "options"
            raise ImportRowError(shown, number, f"variants[{n}].{what}", f"repeat variants[{seen[key]}]")
        seen[key] = n
    tags = list(dict.fromkeys(tag for tag in line.tags if tag))
    return ProductEntry(
        origin=origin,
        source_id=line.id,
        name=" ".join(line.title.split()),
        product_type=line.product_type or derive_product_type(line.title, tags),
        brand=line.brand or None,
        tags=tags,
        description=html_to_text(line.description) if line.description else None,
        image_url=image,
        product_id=line.product_id,
        variants=[
            VariantEntry(
                origin=origin,
                options={option_name(key): value.strip() for key, value in v.options.items() if value.strip()},
                price=v.price,
                compare_at_price=v.compare_at_price,
                available=v.available,
                sku=v.sku or None,
                item_id=v.item_id,
            )
            for v in line.variants
        ],
    )


def read_product_lines(path: Path, shown: str, *, progress: Progress | None = None) -> CatalogFile:
    """Every product of a product JSON Lines file; unpublished ones are skipped with the reason."""
    result = CatalogFile()
    for number, value in json_lines(path, shown, progress):
        result.rows += 1
        try:
            line = ProductLine.model_validate(value)
        except ValidationError as exc:
            raise line_error(shown, number, exc) from None
        if not line.published:
            result.skipped.append(
                Skipped(
                    origin=Origin(path=shown, line=number), source_id=line.id, reason="unpublished (published: false)"
                )
            )
            continue
        result.products.append(_entry(shown, number, line))
    return result


def product_line(product: Product) -> ProductLine:
    """A stored product as a line of the export (its own ids included, so an import of the export keeps them)."""
    return ProductLine(
        id=product.source_id or product.product_id,
        title=product.name,
        product_type=product.product_type,
        brand=product.brand,
        tags=product.tags,
        description=product.description,
        image_url=product.image_url,
        product_id=product.product_id,
        variants=[
            VariantLine(
                sku=v.sku,
                options=v.options,
                price=v.price,
                compare_at_price=v.compare_at_price,
                available=v.available,
                item_id=v.item_id,
            )
            for v in product.variants.values()
        ],
    )


def write_product_lines(products: Iterable[Product], out: TextIO) -> int:
    """Write products as JSON Lines (prices as strings: exact); returns how many."""
    count = 0
    for product in products:
        out.write(product_line(product).model_dump_json(exclude_defaults=True) + "\n")
        count += 1
    return count


# customers ------------------------------------------------------------------------------------------------------------


class AddressLine(_Line):
    address1: str = ""
    address2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""


class CustomerLine(_Line):
    """One line of a customer JSON Lines file: ``{"email": ..., "first_name": ..., "last_name": ...,
    "address": {"address1", "address2", "city", "state", "zip", "country"}}`` (``id``: the shop's own id)."""

    id: str | None = None
    email: str
    first_name: str = ""
    last_name: str = ""
    address: AddressLine = Field(default_factory=AddressLine)


def read_customer_lines(path: Path, shown: str, *, progress: Progress | None = None) -> CustomerFile:
    """Every customer of a customer JSON Lines file; each email may appear once."""
    result = CustomerFile()
    seen: dict[str, int] = {}
    for number, value in json_lines(path, shown, progress):
        result.rows += 1
        try:
            line = CustomerLine.model_validate(value)
        except ValidationError as exc:
            raise line_error(shown, number, exc) from None
        try:
            address = email(line.email)
        except FieldError as exc:
            raise ImportRowError(shown, number, "email", f"'{line.email}' {exc.problem}") from None
        if address.lower() in seen:
            raise ImportRowError(
                shown, number, "email", f"'{address}' repeats the customer on line {seen[address.lower()]}"
            )
        seen[address.lower()] = number
        result.customers.append(
            CustomerEntry(
                origin=Origin(path=shown, line=number),
                source_id=line.id or address.lower(),
                email=address,
                name=PersonName(first_name=line.first_name, last_name=line.last_name),
                address=Address(**line.address.model_dump()),
            )
        )
    return result
