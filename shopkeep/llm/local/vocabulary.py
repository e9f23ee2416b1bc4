"""Where the local brain's shop words come from: the store it serves (``StoreLexicon``), or a τ² ``db.json`` for
the NLU used without a store (``shopkeep nlu classify``, the NLU eval on the demo).

A store's lexicon is built from the catalog and customers the store holds now, and rebuilt when they change: every
import or seed bumps the store's catalog or customers change counter (``store.shop``) and every re-index moves the
search index's version, so a running service notices another process's ``shopkeep catalog import`` the way catalog
search notices its re-indexing. The counters are read at most every ``max_age_s`` seconds (one small query), not on
every one of the many NLU calls of a turn.
"""

from __future__ import annotations

import threading
import time
import weakref
from pathlib import Path
from typing import Protocol

import structlog

from shopkeep.errors import StoreUnavailableError
from shopkeep.llm.local.lexicon import ShopLexicon
from shopkeep.retrieval._terms import CatalogTerms
from shopkeep.retrieval.indexer import read_version
from shopkeep.store.base import StoreSession
from shopkeep.store.shop import shop_records
from shopkeep.store.sql import SqlCommerceStore, SqlSession

log = structlog.get_logger(__name__)

REFRESH_IN_BACKGROUND_FROM = 20_000
"""Products. A lexicon this large takes seconds to build: while another process's import is being read, the
previous one keeps answering (as catalog search does), instead of a customer waiting for it."""

_Key = tuple[int, int, str | None]


class LexiconSource(Protocol):
    """Where an NLU reads its shop words from; ``current`` is called before every reading, so it must be cheap."""

    def current(self) -> ShopLexicon: ...


class FileLexicon:
    """The lexicon of a τ² ``db.json`` (the demo's data file), read on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lexicon: ShopLexicon | None = None
        self._lock = threading.Lock()

    def current(self) -> ShopLexicon:
        if self._lexicon is None:
            with self._lock:
                if self._lexicon is None:
                    self._lexicon = ShopLexicon.from_tau2_db(self.path)
        return self._lexicon


class StoreLexicon:
    """The lexicon of the catalog and customers a store holds, rebuilt when they change (see the module doc)."""

    def __init__(self, store: SqlCommerceStore, *, max_age_s: float = 1.0, terms: CatalogTerms | None = None) -> None:
        # weak: the NLU bound to a store is cached per store (``NLU.for_store``) and must not keep it alive
        self._store = weakref.ref(store)
        self.max_age_s = max_age_s
        self.refresh_in_background_from = REFRESH_IN_BACKGROUND_FROM
        self._terms = terms
        self._built: tuple[_Key, ShopLexicon, int] | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._refreshing: threading.Thread | None = None

    def current(self) -> ShopLexicon:
        built = self._built
        if built is not None and time.monotonic() - self._checked_at < self.max_age_s:
            return built[1]
        try:
            key = self._key()
        except StoreUnavailableError:
            if built is None:
                raise
            return built[1]  # while the store is unreachable, the words it last held
        with self._lock:
            self._checked_at = time.monotonic()
            built = self._built
            if built is not None and built[0] == key:
                return built[1]
            if built is not None and built[2] >= self.refresh_in_background_from:
                if self._refreshing is None or not self._refreshing.is_alive():
                    self._refreshing = threading.Thread(target=self._refresh, name="shopkeep-lexicon", daemon=True)
                    self._refreshing.start()
                return built[1]
            self._built = self._build()
            return self._built[1]

    @property
    def store(self) -> SqlCommerceStore:
        store = self._store()
        if store is None:
            raise RuntimeError("the store of this lexicon is gone")
        return store

    def _key(self) -> _Key:
        with self.store.session() as session:
            return _key_of(session)

    def _build(self) -> tuple[_Key, ShopLexicon, int]:
        # The key is read in the transaction that reads the words, so the words are those of that key.
        with self.store.session() as session:
            key = _key_of(session)
            products = session.list_products()
            names = shop_records(session).customer_names()
        lexicon = ShopLexicon.from_catalog(products, names, terms=self._terms)
        log.debug("lexicon_built", products=len(products), catalog_revision=key[0], customers_revision=key[1])
        return key, lexicon, len(products)

    def _refresh(self) -> None:
        try:
            built = self._build()
        except Exception:  # the next check tries again; until then the previous words serve
            log.exception("lexicon_refresh_failed")
            return
        with self._lock:
            self._built = built


def _key_of(session: StoreSession) -> _Key:
    """What the words depend on: the catalog's and the customers' change counters and the search index's version."""
    if not isinstance(session, SqlSession):
        raise TypeError(f"the shop's words need the SQL store session, not {type(session).__name__}")
    revisions = shop_records(session).revisions()
    return revisions["catalog"], revisions["customers"], read_version(session.connection)
