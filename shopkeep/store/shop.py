"""Persistence of the shop itself: its profile, and one change counter per kind of shop data.

The profile is one row (``shop_profile``); a store without it holds the demo (see ``seed.demo_profile``). Every
write to shop data bumps its topic's counter in ``shop_changes`` inside the same transaction, so a process that
caches something built from that data (the profile, a vocabulary) reads one small row to know whether it is still
current, the way catalog search compares the index version. Like the payments tables, these are kept out of the
``StoreSession`` Protocol: the SQL session is the one implementation behind every backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from shopkeep.domain.shop import CatalogVocabulary, HelpPage, ShopProfile
from shopkeep.store import schema as t
from shopkeep.store.base import StoreSession
from shopkeep.store.payments import now_utc
from shopkeep.store.sql import SqlSession

Topic = Literal["profile", "catalog", "knowledge", "customers"]
TOPICS: tuple[Topic, ...] = ("profile", "catalog", "knowledge", "customers")
_KEY = "shop"


@dataclass(frozen=True)
class ShopContents:
    """How much a store holds: what ``shopkeep init`` refuses to replace without ``--force``."""

    profile: ShopProfile | None
    products: int
    customers: int
    orders: int

    @property
    def empty(self) -> bool:
        return self.profile is None and not (self.products or self.customers or self.orders)


class ShopRecords:
    """The shop's own tables, inside one store transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def profile(self) -> ShopProfile | None:
        row = self._conn.execute(select(t.shop_profile).where(t.shop_profile.c.shop_key == _KEY)).first()
        if row is None:
            return None
        return ShopProfile(
            name=row.name,
            currency=row.currency,
            locale=row.locale,
            support_hours=row.support_hours,
            policy=row.policy,
            demo=row.demo,
        )

    def save_profile(self, profile: ShopProfile) -> None:
        values = {**profile.model_dump(), "updated_at": now_utc()}
        table = t.shop_profile
        if not self._conn.execute(update(table).where(table.c.shop_key == _KEY).values(**values)).rowcount:
            self._conn.execute(insert(table).values(shop_key=_KEY, **values))
        self.bump("profile")

    def revisions(self) -> dict[Topic, int]:
        """Each topic's change counter (0: never changed through these tables)."""
        found = {row.topic: int(row.revision) for row in self._conn.execute(select(t.shop_changes))}
        return {topic: found.get(topic, 0) for topic in TOPICS}

    def revision(self, topic: Topic) -> int:
        table = t.shop_changes
        return int(self._conn.scalar(select(table.c.revision).where(table.c.topic == topic)) or 0)

    def bump(self, *topics: Topic) -> None:
        """Count a change of each topic (inside the transaction that makes it, so readers see both or neither)."""
        table = t.shop_changes
        moment = now_utc()
        for topic in topics:
            query = update(table).where(table.c.topic == topic)
            if not self._conn.execute(query.values(revision=table.c.revision + 1, changed_at=moment)).rowcount:
                self._conn.execute(insert(table).values(topic=topic, revision=1, changed_at=moment))

    def catalog_vocabulary(self) -> CatalogVocabulary:
        """Product types, names, option names and values, brands and tags of the catalog, with its revision (read
        in this transaction, so the revision is the one these words belong to)."""
        revision = self.revision("catalog")
        types: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        brands: dict[str, None] = {}
        tag_set: dict[str, None] = {}
        p, v = t.products, t.variants
        columns = select(p.c.product_id, p.c.name, p.c.product_type, p.c.brand, p.c.tags_json).order_by(p.c.seq)
        for row in self._conn.execute(columns):
            names[row.product_id] = row.name
            types.setdefault(row.product_type or row.name, []).append(row.product_id)
            if row.brand:
                brands[row.brand] = None
            tag_set.update(dict.fromkeys(row.tags_json or []))
        options: dict[str, dict[str, None]] = {}
        query = select(v.c.options_json).join(p, p.c.product_id == v.c.product_id).order_by(p.c.seq, v.c.seq)
        for (values,) in self._conn.execute(query):
            for key, value in values.items():
                options.setdefault(key, {})[value] = None
        return CatalogVocabulary(
            revision=revision,
            product_types=types,
            product_names=names,
            options={key: list(values) for key, values in options.items()},
            brands=list(brands),
            tags=list(tag_set),
        )

    def customer_names(self) -> list[tuple[str, str]]:
        """Every customer's (first, last) name, in the order they were added."""
        c = t.customers
        query = select(c.c.first_name, c.c.last_name).order_by(c.c.seq)
        return [(row.first_name or "", row.last_name or "") for row in self._conn.execute(query)]

    def help_pages(self) -> list[HelpPage]:
        """The shop's own help pages, in their order (none: the shop has not imported any)."""
        query = select(t.kb_pages.c.source, t.kb_pages.c.markdown).order_by(t.kb_pages.c.seq)
        return [HelpPage(source=row.source, markdown=row.markdown) for row in self._conn.execute(query)]

    def save_help_pages(self, pages: list[HelpPage], *, replace: bool = False) -> dict[str, int]:
        """Add or update pages by source id (``replace``: and remove the others); returns how many of each."""
        table = t.kb_pages
        stored = {row.source: row for row in self._conn.execute(select(table))}
        counts = {"added": 0, "updated": 0, "unchanged": 0, "removed": 0}
        moment = now_utc()
        seq = max((row.seq for row in stored.values()), default=-1) + 1
        for page in pages:
            row = stored.get(page.source)
            if row is None:
                self._conn.execute(insert(table).values(**page.model_dump(), seq=seq, updated_at=moment))
                seq += 1
                counts["added"] += 1
            elif row.markdown != page.markdown:
                query = update(table).where(table.c.source == page.source)
                self._conn.execute(query.values(markdown=page.markdown, updated_at=moment))
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        if replace:
            gone = sorted(set(stored) - {page.source for page in pages})
            if gone:
                self._conn.execute(delete(table).where(table.c.source.in_(gone)))
            counts["removed"] = len(gone)
        if counts["added"] or counts["updated"] or counts["removed"]:
            self.bump("knowledge")
        return counts

    def contents(self) -> ShopContents:
        def count(table: Table) -> int:
            return int(self._conn.scalar(select(func.count()).select_from(table)) or 0)

        return ShopContents(self.profile(), count(t.products), count(t.customers), count(t.orders))

    def clear(self) -> None:
        """Delete every record of the shop (catalog, customers, orders, carts, payments, tickets, events, profile);
        the change counters stay and move on, so caches elsewhere notice."""
        for table in reversed(t.metadata.sorted_tables):
            if table is not t.shop_changes:
                self._conn.execute(delete(table))
        self.bump(*TOPICS)


def shop_records(session: StoreSession) -> ShopRecords:
    """The shop tables of a store session (every backend's session is a ``SqlSession``)."""
    if not isinstance(session, SqlSession):
        raise TypeError(f"shop data needs the SQL store session, not {type(session).__name__}")
    return ShopRecords(session.connection)
