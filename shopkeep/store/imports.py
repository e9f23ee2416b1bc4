"""Writing an import into the store: catalog entries matched to the products and variants the store holds, and
customer entries to its customers (by email, ``apply_customers``).

``apply_catalog`` runs inside the caller's one write transaction, so an import is all or nothing. A product is
matched by Shopkeep's own id when the file names it (a JSON Lines export), else by its source id (Shopify handle,
Merchant item group or id); a variant of a matched product by its item id, else its SKU, else its option values.
Matched records are updated, new ones inserted with fresh ten-digit ids (derived from the source ids, so a second
shop importing the same file gets the same ids), and a matched product's variants the file no longer lists are
removed. ``replace`` removes every product the files do not contain; products the files list as unpublished are
removed as well. A variant that an order refers to is never deleted: it is kept and marked unavailable, so the
order still reads whole.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from shopkeep.domain import PersonName
from shopkeep.domain.imports import CustomerEntry, ProductEntry, VariantEntry
from shopkeep.errors import ImportRowError
from shopkeep.store import schema as t
from shopkeep.store.base import StoreSession
from shopkeep.store.shop import shop_records
from shopkeep.store.sql import SqlSession

CHUNK = 1000  # Oracle takes at most 1000 values in one IN list


@dataclass
class CatalogChanges:
    """What an import changed, by kind of record."""

    products_added: int = 0
    products_updated: int = 0
    products_unchanged: int = 0
    products_removed: int = 0
    variants_added: int = 0
    variants_updated: int = 0
    variants_removed: int = 0
    variants_kept_unavailable: int = 0
    """Variants an order refers to: kept (unavailable) instead of removed."""


def new_id(namespace: str, taken: set[str]) -> str:
    """A ten-digit id (like the demo's) derived from ``namespace``, the next free one when it is taken."""
    number = int(hashlib.sha256(namespace.encode()).hexdigest(), 16) % 10**10
    while f"{number:010d}" in taken:
        number = (number + 1) % 10**10
    found = f"{number:010d}"
    taken.add(found)
    return found


def _options_key(options: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((key, value.casefold()) for key, value in options.items()))


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


class _Catalog:
    """The store's catalog as rows, loaded once per import."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.products = {row.product_id: row for row in conn.execute(select(t.products))}
        self.by_source = {row.source_id: pid for pid, row in self.products.items() if row.source_id is not None}
        self.variants: dict[str, list[Any]] = defaultdict(list)
        self.variant_owner: dict[str, str] = {}
        for row in conn.execute(select(t.variants).order_by(t.variants.c.seq)):
            self.variants[row.product_id].append(row)
            self.variant_owner[row.item_id] = row.product_id
        self.ordered = set(conn.scalars(select(t.order_items.c.item_id).distinct()))
        self.product_ids = set(self.products)
        self.item_ids = set(self.variant_owner)
        self.next_seq = int(conn.scalar(select(func.coalesce(func.max(t.products.c.seq), -1))) or 0) + 1


def _product_values(entry: ProductEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "product_type": entry.product_type,
        "brand": entry.brand,
        "tags_json": entry.tags or None,
        "description": entry.description,
        "image_url": entry.image_url,
        "source_id": entry.source_id,
    }


def _variant_values(entry: VariantEntry) -> dict[str, Any]:
    return {
        "options_json": entry.options,
        "available": entry.available,
        "price": entry.price,
        "sku": entry.sku,
        "compare_at_price": entry.compare_at_price,
    }


def _differs(row: Any, values: dict[str, Any]) -> bool:
    return any(getattr(row, name) != value for name, value in values.items())


class _Writer:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.catalog = _Catalog(conn)
        self.changes = CatalogChanges()
        self.touched: set[str] = set()
        self.product_inserts: list[dict[str, Any]] = []
        self.product_updates: list[dict[str, Any]] = []
        self.variant_inserts: list[dict[str, Any]] = []
        self.variant_updates: list[dict[str, Any]] = []

    def _match(self, entry: ProductEntry) -> str | None:
        catalog = self.catalog
        by_source = catalog.by_source.get(entry.source_id)
        if entry.product_id is not None and entry.product_id in catalog.products:
            if by_source not in (None, entry.product_id):
                raise ImportRowError(
                    entry.origin.path, entry.origin.line, "id", f"'{entry.source_id}' belongs to product {by_source}"
                )
            return entry.product_id
        return by_source

    def product(self, entry: ProductEntry) -> None:
        catalog = self.catalog
        product_id = self._match(entry)
        values = _product_values(entry)
        if product_id is None:
            if entry.product_id is not None and entry.product_id not in catalog.product_ids:
                product_id = entry.product_id
                catalog.product_ids.add(product_id)
            else:
                product_id = new_id(f"product:{entry.source_id}", catalog.product_ids)
            self.product_inserts.append({"product_id": product_id, "seq": catalog.next_seq, **values})
            catalog.next_seq += 1
            self.changes.products_added += 1
            self._variants(product_id, entry, [])
        elif product_id in self.touched:
            raise ImportRowError(
                entry.origin.path, entry.origin.line, "id", f"'{entry.source_id}' is listed twice in this import"
            )
        else:
            row = catalog.products[product_id]
            changed = self._variants(product_id, entry, catalog.variants.get(product_id, []))
            if _differs(row, values):
                self.product_updates.append({"b_id": product_id, **values})
                changed = True
            if changed:
                self.changes.products_updated += 1
            else:
                self.changes.products_unchanged += 1
        self.touched.add(product_id)

    def _variants(self, product_id: str, entry: ProductEntry, existing: list[Any]) -> bool:
        catalog = self.catalog
        by_id = {row.item_id: row for row in existing}
        by_sku = {row.sku: row for row in existing if row.sku}
        by_options: dict[tuple[tuple[str, str], ...], Any] = {}
        for row in existing:
            by_options.setdefault(_options_key(row.options_json), row)
        matched: set[str] = set()
        changed = False
        for seq, variant in enumerate(entry.variants):
            row = None
            if variant.item_id is not None:
                owner = catalog.variant_owner.get(variant.item_id)
                if owner not in (None, product_id):
                    raise ImportRowError(
                        variant.origin.path,
                        variant.origin.line,
                        "item_id",
                        f"'{variant.item_id}' is a variant of another product ({owner})",
                    )
                row = by_id.get(variant.item_id)
            if row is None and variant.sku:
                row = by_sku.get(variant.sku)
            if row is None:
                # Option values identify a variant only where a SKU does not: a SKU is the shop's own identity.
                candidate = by_options.get(_options_key(variant.options))
                if candidate is not None and not (variant.sku and candidate.sku):
                    row = candidate
            if row is not None and row.item_id in matched:
                row = None
            values = {**_variant_values(variant), "seq": seq}
            if row is None:
                namespace = f"variant:{product_id}:{variant.sku or _options_key(variant.options)}"
                if variant.item_id is not None and variant.item_id not in catalog.item_ids:
                    item_id = variant.item_id
                    catalog.item_ids.add(item_id)
                else:
                    item_id = new_id(namespace, catalog.item_ids)
                self.variant_inserts.append({"item_id": item_id, "product_id": product_id, **values})
                self.changes.variants_added += 1
                changed = True
            else:
                matched.add(row.item_id)
                if _differs(row, _variant_values(variant)):
                    self.changes.variants_updated += 1
                    changed = True
                if _differs(row, values):
                    self.variant_updates.append({"b_id": row.item_id, **values})
        gone = [row for row in existing if row.item_id not in matched]
        self._remove_variants(gone, after=len(entry.variants))
        return changed or bool(gone)

    def _remove_variants(self, rows: list[Any], *, after: int) -> int:
        """Delete variants no order refers to; keep the others, unavailable. Returns how many were kept."""
        kept = [row for row in rows if row.item_id in self.catalog.ordered]
        for seq, row in enumerate(kept, start=after):
            values = {**{name: getattr(row, name) for name in ("options_json", "price", "sku", "compare_at_price")}}
            if row.available or row.seq != seq:
                self.variant_updates.append({"b_id": row.item_id, **values, "available": False, "seq": seq})
        doomed = [row.item_id for row in rows if row.item_id not in self.catalog.ordered]
        for chunk in _chunks(doomed):
            self.conn.execute(delete(t.variants).where(t.variants.c.item_id.in_(chunk)))
        self.changes.variants_removed += len(doomed)
        self.changes.variants_kept_unavailable += len(kept)
        return len(kept)

    def remove_product(self, product_id: str) -> None:
        kept = self._remove_variants(self.catalog.variants.get(product_id, []), after=0)
        if not kept:
            self.conn.execute(delete(t.products).where(t.products.c.product_id == product_id))
        self.changes.products_removed += 1
        self.touched.add(product_id)

    def flush(self) -> None:
        conn = self.conn
        for start in range(0, len(self.product_inserts), CHUNK):
            conn.execute(insert(t.products), self.product_inserts[start : start + CHUNK])
        if self.product_updates:
            names = [name for name in self.product_updates[0] if name != "b_id"]
            query = update(t.products).where(t.products.c.product_id == bindparam("b_id"))
            conn.execute(query.values({name: bindparam(name) for name in names}), self.product_updates)
        for start in range(0, len(self.variant_inserts), CHUNK * 5):
            conn.execute(insert(t.variants), self.variant_inserts[start : start + CHUNK * 5])
        if self.variant_updates:
            names = [name for name in self.variant_updates[0] if name != "b_id"]
            query = update(t.variants).where(t.variants.c.item_id == bindparam("b_id"))
            conn.execute(query.values({name: bindparam(name) for name in names}), self.variant_updates)


def apply_catalog(
    session: StoreSession,
    entries: Sequence[ProductEntry],
    *,
    unpublished: Iterable[str] = (),
    replace: bool = False,
) -> CatalogChanges:
    """Bring the store's catalog in line with ``entries`` (see the module doc); ``unpublished``: source ids of the
    products the files hide, removed if the store has them."""
    if not isinstance(session, SqlSession):
        raise TypeError(f"imports need the SQL store session, not {type(session).__name__}")
    writer = _Writer(session.connection)
    for entry in entries:
        writer.product(entry)
    catalog = writer.catalog
    hidden = [catalog.by_source[source] for source in unpublished if source in catalog.by_source]
    for product_id in hidden:
        if product_id not in writer.touched:
            writer.remove_product(product_id)
    if replace:
        for product_id in list(catalog.products):
            if product_id not in writer.touched:
                writer.remove_product(product_id)
    writer.flush()
    shop_records(session).bump("catalog")
    return writer.changes


# customers ------------------------------------------------------------------------------------------------------------


@dataclass
class CustomerChanges:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def new_user_id(name: PersonName, email: str, is_taken: Callable[[str], bool]) -> str:
    """A readable id like the demo's ("ava_lindqvist_4821"): the name (or the email's local part) and four digits
    derived from the email, the next free one when taken."""
    words = re.findall(r"[a-z]+", unidecode_ascii(f"{name.first_name} {name.last_name}".lower()))
    if not words:
        words = re.findall(r"[a-z]+", unidecode_ascii(email.split("@")[0].lower())) or ["customer"]
    stem = "_".join(words)[:50]
    number = int(hashlib.sha256(email.lower().encode()).hexdigest(), 16) % 10**4
    for _ in range(10**4):
        candidate = f"{stem}_{number:04d}"
        if not is_taken(candidate):
            return candidate
        number = (number + 1) % 10**4
    raise RuntimeError(f"no free customer id left for {stem}")


def unidecode_ascii(text: str) -> str:
    """Letters without their accents ("Åsa" -> "asa"), for ids."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def apply_customers(session: StoreSession, entries: Sequence[CustomerEntry]) -> CustomerChanges:
    """Add customers by email, or update the name and default address of the one who has it (saved payment methods
    and orders are kept), inside the caller's one write transaction."""
    if not isinstance(session, SqlSession):
        raise TypeError(f"imports need the SQL store session, not {type(session).__name__}")
    conn, c = session.connection, t.customers
    stored = {row.email_lower: row for row in conn.execute(select(c))}
    taken = {row.user_id for row in stored.values()}
    seq = int(conn.scalar(select(func.coalesce(func.max(c.c.seq), -1))) or 0) + 1
    changes = CustomerChanges()
    inserts: list[dict[str, Any]] = []
    for entry in entries:
        values = {
            "first_name": entry.name.first_name,
            "last_name": entry.name.last_name,
            "email": entry.email,
            "email_lower": entry.email.lower(),
            **entry.address.model_dump(),
        }
        row = stored.get(entry.email.lower())
        if row is None:
            user_id = new_user_id(entry.name, entry.email, taken.__contains__)
            taken.add(user_id)
            inserts.append({"user_id": user_id, "seq": seq, **values})
            seq += 1
            changes.added += 1
        elif any(getattr(row, name) != value for name, value in values.items()):
            conn.execute(update(c).where(c.c.user_id == row.user_id).values(**values))
            changes.updated += 1
        else:
            changes.unchanged += 1
    for start in range(0, len(inserts), CHUNK):
        conn.execute(insert(c), inserts[start : start + CHUNK])
    shop_records(session).bump("customers")
    return changes
