"""``shopkeep customers import``: a shop's existing customers, so they can verify themselves (by email, or by first
name, last name and zip) the way the demo's customers do.

The file (Shopify's customer CSV export, or Shopkeep customer JSON Lines) is read and checked whole, then written in
one transaction: a customer whose email the store knows is updated (name and default address; saved payment
methods and orders stay), anyone else is added with a new id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shopkeep.errors import UnknownFormatError
from shopkeep.shop.formats import CUSTOMER_FORMATS, Progress, detect_customer_format
from shopkeep.shop.formats.jsonl import read_customer_lines
from shopkeep.shop.formats.shopify import read_shopify_customers
from shopkeep.store.base import CommerceStore
from shopkeep.store.imports import CustomerChanges, apply_customers

FORMAT_CHOICES = ("auto", *CUSTOMER_FORMATS)


@dataclass(frozen=True)
class CustomerImport:
    format: str
    rows: int
    changes: CustomerChanges


def import_customers(
    store: CommerceStore, path: Path, *, fmt: str = "auto", progress: Progress | None = None
) -> CustomerImport:
    shown = str(path)
    if fmt not in FORMAT_CHOICES:
        raise UnknownFormatError(
            f"unknown format {fmt!r}: use {', '.join(CUSTOMER_FORMATS)}", supported=tuple(CUSTOMER_FORMATS)
        )
    chosen = detect_customer_format(path, shown) if fmt == "auto" else fmt
    if chosen == "shopify":
        read = read_shopify_customers(path, shown, progress=progress)
    else:
        read = read_customer_lines(path, shown, progress=progress)
    with store.session(write=True) as session:
        changes = apply_customers(session, read.customers)
    return CustomerImport(chosen, read.rows, changes)
