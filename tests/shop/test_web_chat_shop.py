"""The web chat of a shop of its own, in real headless Chromium: the page names the shop (no demo badge, no τ²
accounts), and search results show the catalog's product images (served here by a local HTTP server, since tests
never reach the network). The brain is the strict scripted model; search, tools and views are real."""

from __future__ import annotations

import functools
import http.server
import json
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from langgraph.checkpoint.memory import InMemorySaver
from playwright.sync_api import Page, expect

from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.toolkit import agent_registry
from shopkeep.api.app import create_app
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.retrieval.search import CatalogSearch
from shopkeep.settings import Settings
from shopkeep.shop.catalog import import_catalog
from shopkeep.shop.profile import ShopProfiles
from shopkeep.shop.setup import init_shop
from shopkeep.store import open_store
from tests.api.test_web_chat import TIMEOUT_MS, free_port, send, shot
from tests.conftest import DATA_DIR
from tests.llm.providers.support import FixedRouter
from tests.shop.conftest import HARBOR
from tests.shop.test_new_shop_search import Hashing
from tests.support.scripted_model import ScriptedChatModel, call, say


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain-colour PNG, written by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(row * height)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
def images(tmp_path: Path) -> Iterator[str]:
    """A local web server for the catalog's pictures."""
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "candle.png").write_bytes(png(320, 240, (196, 140, 92)))
    (folder / "lantern.png").write_bytes(png(320, 240, (176, 48, 40)))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def shop_server(tmp_path: Path, images: str) -> Iterator[tuple[str, ScriptedChatModel]]:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    init_shop(store, HARBOR)
    catalog = tmp_path / "catalog.jsonl"
    lines = [
        {
            "id": "driftwood-candle",
            "title": "Driftwood Soy Candle",
            "product_type": "Candles",
            "image_url": f"{images}/candle.png",
            "variants": [
                {"options": {"size": "Small"}, "price": "16.00"},
                {"options": {"size": "Large"}, "price": "28.00"},
            ],
        },
        {
            "id": "storm-lantern",
            "title": "Storm Lantern",
            "image_url": f"{images}/lantern.png",
            "variants": [{"price": 34}],
        },
        {"id": "trail-map", "title": "Coastal Trail Map Print", "variants": [{"price": 22.5}]},
    ]
    catalog.write_text("".join(json.dumps(line) + "\n" for line in lines))
    import_catalog(store, [catalog])
    search = CatalogSearch(store, Hashing(), kb_dir=DATA_DIR / "kb")
    search.index_documents()
    model = ScriptedChatModel(steps=[call("search_products", query="candle"), say("Here is what we have.")])
    deps = AgentDeps(
        store=store,
        brains=lambda _agent: model,
        router=FixedRouter("catalog"),
        registry=agent_registry(),
        retrieval=search,
        prompts=PromptRegistry.load(ShopProfiles(store, DATA_DIR)),
    )
    service = ConversationService(build_graph(deps, checkpointer=InMemorySaver()), store)
    app = create_app(Settings(var_dir=tmp_path / "var"), store, service=service)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.02)
    yield f"http://127.0.0.1:{port}", model
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def test_the_page_is_the_shops_and_cards_show_product_images(
    page: Page, shop_server: tuple[str, ScriptedChatModel]
) -> None:
    url, model = shop_server
    page.goto(url + "/")
    expect(page).to_have_title("Harbor & Pine Outfitters · Shopping assistant")
    expect(page.locator(".brand-name")).to_have_text("Harbor & Pine Outfitters")
    expect(page.locator(".badge")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("τ²")
    expect(page.locator("body")).not_to_contain_text("Demo")
    expect(page.locator(".msg.assistant .bubble").first).to_contain_text("Harbor & Pine Outfitters assistant")
    send(page, "Do you have candles?")
    cards = page.locator(".msg.assistant").last.locator(".product")
    expect(cards.first).to_be_visible(timeout=TIMEOUT_MS)
    candle = cards.filter(has_text="Driftwood Soy Candle").first
    image = candle.locator("img.product-image")
    expect(image).to_be_visible()
    expect(image).to_have_attribute("alt", "Driftwood Soy Candle")
    page.wait_for_function("img => img.complete && img.naturalWidth === 320", arg=image.element_handle())
    without = cards.filter(has_text="Coastal Trail Map Print")
    if without.count():
        expect(without.locator("img")).to_have_count(0)
    candle.scroll_into_view_if_needed()
    shot(page, "shop-chat-products.png")
    model.assert_done()
