"""Fixtures for a shop of its own: a new, empty shop (not the demo) on every store backend, and its sample files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopkeep.domain.shop import ShopProfile
from shopkeep.shop.setup import default_policy, init_shop
from shopkeep.store import SqlCommerceStore, open_store
from tests.api.test_web_chat import browser, page  # noqa: F401 - the Chromium fixtures, for the shop's web chat

CATALOGS = Path(__file__).parent / "catalogs"
HARBOR_NAME = "Harbor & Pine Outfitters"
HARBOR = ShopProfile(name=HARBOR_NAME, support_hours="Mon-Sat 9:00-18:00", policy=default_policy(HARBOR_NAME))
HARBOR_FILES = ("harbor_products.csv", "harbor_feed.tsv", "harbor_feed.xml", "harbor_products.jsonl")


@pytest.fixture(params=["sqlite", "postgres", "oracle"])
def shop_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlCommerceStore]:
    """A new, empty Harbor & Pine shop on each backend (``shopkeep init --force`` over whatever was there)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        url = request.getfixturevalue("postgres_database" if request.param == "postgres" else "oracle_url")
    opened = open_store(url)
    init_shop(opened, HARBOR, force=True)
    yield opened
    opened.close()
