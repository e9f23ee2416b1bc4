"""``shopkeep init``: a new, empty shop in a store, with its profile (name, currency, locale, hours, policy).

A store that already holds a shop (a profile, products, customers or orders) is refused unless ``force``: then all
of it is deleted first, in the same transaction that writes the new profile. Without a policy of its own the shop
gets the default one (``default_policy.md``: the assistant's rules, with the shop's name and hours).
"""

from __future__ import annotations

from pathlib import Path

from shopkeep.domain.shop import ShopProfile
from shopkeep.errors import ShopExistsError
from shopkeep.store.base import CommerceStore
from shopkeep.store.shop import ShopContents, shop_records

DEFAULT_POLICY = Path(__file__).with_name("default_policy.md")


def default_policy(name: str, support_hours: str = "") -> str:
    """The assistant's rules for a shop that brought no policy of its own."""
    hours = f" Human agents work {support_hours}." if support_hours else ""
    text = DEFAULT_POLICY.read_text(encoding="utf-8").strip()
    return text.replace("{{shop_name}}", name).replace("{{support_hours}}", hours)


def describe(contents: ShopContents) -> str:
    name = f"{contents.profile.name!r}: " if contents.profile is not None else ""
    return f"{name}{contents.products} products, {contents.customers} customers, {contents.orders} orders"


def init_shop(store: CommerceStore, profile: ShopProfile, *, force: bool = False) -> ShopContents:
    """Make ``store`` hold a new, empty shop with ``profile``; returns what was there before (and is now gone)."""
    with store.session(write=True) as session:
        records = shop_records(session)
        before = records.contents()
        if not before.empty:
            if not force:
                raise ShopExistsError(
                    f"the store already holds a shop ({describe(before)}); "
                    "run `shopkeep init --force` to delete it and start a new, empty shop"
                )
            records.clear()
        records.save_profile(profile)
    return before
