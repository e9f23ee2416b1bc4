"""The one accessor of the shop's profile: ``ShopProfiles.current()``.

Every process (API workers, the CLI, evals) reads the profile from the store, so they all agree on the shop's
name, currency and policy. The profile's change counter (one primary-key row) is read at most every ``max_age_s``
seconds (a turn asks for the profile several times: the service, each brain call, each tool call) and the profile
reloaded only when it moved, so a process notices another's ``shopkeep init`` within a second, as the local brain
notices another process's import. A store without a profile holds the demo: its profile is
``seed.demo_profile`` (the demo's name and ``data/policy.md``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

from shopkeep.domain.shop import ShopProfile
from shopkeep.errors import StoreUnavailableError
from shopkeep.settings import Settings
from shopkeep.store.base import CommerceStore
from shopkeep.store.seed import demo_profile
from shopkeep.store.shop import shop_records


@runtime_checkable
class ProfileSource(Protocol):
    """Where a component reads the shop's profile from (``ShopProfiles`` in the running product)."""

    def current(self) -> ShopProfile: ...


class ShopProfiles:
    """The current profile of one store's shop, cached per profile revision."""

    def __init__(self, store: CommerceStore, data_dir: Path, *, max_age_s: float = 1.0) -> None:
        self._store = store
        self._data_dir = data_dir
        self.max_age_s = max_age_s
        self._cached: tuple[int, ShopProfile] | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, store: CommerceStore, settings: Settings) -> ShopProfiles:
        return cls(store, settings.data_dir)

    def current(self) -> ShopProfile:
        """The shop's profile as the store held it at most ``max_age_s`` ago (while the store is unreachable, the
        last one read)."""
        cached = self._cached
        if cached is not None and time.monotonic() - self._checked_at < self.max_age_s:
            return cached[1]
        try:
            with self._store.session() as session:
                records = shop_records(session)
                revision = records.revision("profile")
                cached = self._cached
                if cached is not None and cached[0] == revision:
                    self._checked_at = time.monotonic()
                    return cached[1]
                profile = records.profile()
        except StoreUnavailableError:
            if self._cached is None:
                raise
            return self._cached[1]
        if profile is None:
            profile = demo_profile(self._data_dir)
        with self._lock:
            self._cached = (revision, profile)
            self._checked_at = time.monotonic()
        return profile


def currency_of(shop: ProfileSource | None) -> str:
    """The shop's currency now; US dollars (the demo's) where a component was built without a profile."""
    return shop.current().currency if shop is not None else "USD"


class FixedProfile:
    """A profile that never changes: for graphs built without a store profile (tests, tools run alone)."""

    def __init__(self, profile: ShopProfile) -> None:
        self._profile = profile

    def current(self) -> ShopProfile:
        return self._profile
