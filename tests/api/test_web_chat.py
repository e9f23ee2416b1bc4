"""The web chat in real headless Chromium (the system's, never a downloaded one) against a live uvicorn server.

Screenshots land in ``var/screenshots/`` for a person to look at. Without ``/usr/bin/chromium`` these tests skip;
with ``SHOPKEEP_REQUIRE_SERVICES=1`` they fail instead.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.agents.toolkit import agent_registry
from shopkeep.api.app import create_app
from shopkeep.api.schemas import ToolCallOut, TurnResponse
from shopkeep.api.views import cart_summary, product_cards
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import PROJECT_ROOT, Settings
from shopkeep.store import SqlCommerceStore
from shopkeep.tools import ToolContext
from tests.api.helpers import EMAIL, PENDING_ORDER, order_status
from tests.conftest import service_missing

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
TIMEOUT_MS = 30_000
"""A turn waits this long: the first one of a process also warms the local brain up."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        service_missing(
            f"{CHROMIUM} is missing: apt-get install -y chromium (Playwright's browsers are never downloaded)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(sqlite_store: SqlCommerceStore, nlu: NLU, tmp_path: Path) -> Iterator[str]:
    """The app with the real service over a fresh seeded SQLite store, served by uvicorn in a thread."""
    settings = Settings(var_dir=tmp_path / "var")
    with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
        app = create_app(settings, sqlite_store, service=build_service(settings, sqlite_store, checkpointer, nlu=nlu))
        port = free_port()
        uvicorn_server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on")
        )
        thread = threading.Thread(target=uvicorn_server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not uvicorn_server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
        uvicorn_server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


def send(page: Page, text: str) -> None:
    """Type a message, press Enter, and wait for the assistant's answer to render."""
    before = page.locator(".msg.assistant").count()
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".msg.assistant")).to_have_count(before + 1, timeout=TIMEOUT_MS)
    expect(page.locator("#typing")).to_be_hidden()


def last_assistant(page: Page) -> Any:
    return page.locator(".msg.assistant").last


def test_a_greeting_gets_a_reply(page: Page, server: str) -> None:
    page.goto(server + "/")
    expect(page).to_have_title("Shopkeep Demo Store · Shopping assistant")
    expect(page.locator(".msg.assistant .bubble").first).to_contain_text("Shopkeep Demo Store assistant")
    send(page, "Hello!")
    expect(page.locator(".msg.user .bubble").last).to_have_text("Hello!")
    reply = last_assistant(page).locator(".bubble")
    expect(reply).not_to_be_empty()
    expect(last_assistant(page).locator(".agent-chip")).to_be_visible()
    shot(page, "chat-greeting.png")


def test_a_cancellation_is_confirmed_with_the_button_and_cancels_the_order(
    page: Page, server: str, sqlite_store: SqlCommerceStore
) -> None:
    page.goto(server + "/")
    send(page, f"I want to cancel my order {PENDING_ORDER}")
    send(page, f"my email is {EMAIL}")
    expect(last_assistant(page).locator(".activity")).to_contain_text("Verified your identity")
    send(page, "I no longer need it")
    card = last_assistant(page).locator(".proposal")
    expect(card).to_be_visible()
    expect(card.locator(".proposal-summary")).to_contain_text(PENDING_ORDER)
    shot(page, "chat-proposal.png")
    assert order_status(sqlite_store, PENDING_ORDER) == "pending"

    page.reload()  # the pending proposal comes back from the transcript, buttons and all
    card = page.locator(".proposal")
    expect(card).to_have_count(1)
    before = page.locator(".msg.assistant").count()
    card.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.locator(".msg.assistant")).to_have_count(before + 1, timeout=TIMEOUT_MS)
    expect(page.locator("#typing")).to_be_hidden()
    expect(card).to_contain_text("You confirmed.")
    expect(card.get_by_role("button", name="Confirm", exact=True)).to_be_disabled()
    expect(page.locator(".msg.user .bubble").last).to_have_text("yes")
    expect(last_assistant(page).locator(".activity")).to_contain_text(f"Cancelled order {PENDING_ORDER}")
    shot(page, "chat-confirmed.png")
    assert order_status(sqlite_store, PENDING_ORDER) == "cancelled"


def test_cancel_works_from_the_keyboard_and_changes_nothing(
    page: Page, server: str, sqlite_store: SqlCommerceStore
) -> None:
    page.goto(server + "/")
    send(page, f"I want to cancel my order {PENDING_ORDER}")
    send(page, f"my email is {EMAIL}")
    send(page, "I no longer need it")
    before = page.locator(".msg.assistant").count()
    page.get_by_role("button", name="Cancel", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator(".msg.assistant")).to_have_count(before + 1, timeout=TIMEOUT_MS)
    expect(page.locator(".proposal")).to_contain_text("nothing was changed")
    assert order_status(sqlite_store, PENDING_ORDER) == "pending"


def canned_turn(store: SqlCommerceStore, conversation_id: str) -> TurnResponse:
    """A catalog turn built from real tool outputs on the store (what the page shows for products and carts)."""
    registry = agent_registry()
    ctx = ToolContext(store=store, cart_id=conversation_id)
    calls = [
        ("get_product_details", {"product_id": "9523456873"}),
        ("add_to_cart", {"item_id": "9612497925", "quantity": 2}),
    ]
    outcomes = [registry.call(name, arguments, ctx) for name, arguments in calls]
    outputs = [(o.name, o.ok, o.output) for o in outcomes]
    return TurnResponse(
        conversation_id=conversation_id,
        reply="Here is our T-Shirt. I added two blue ones in size M to your cart.",
        agent="catalog",
        intent="add_to_cart",
        tool_calls=[ToolCallOut(name=n, arguments=a, ok=o.ok) for (n, a), o in zip(calls, outcomes, strict=True)],
        awaiting_confirmation=False,
        products=product_cards(outputs, "USD"),
        cart=cart_summary(outputs, "USD"),
    )


def test_product_cards_and_the_cart_panel_render(page: Page, server: str, sqlite_store: SqlCommerceStore) -> None:
    """Rendering of products and carts. The turn is built from real tool outputs and served by the browser's network
    layer, because the local brain's catalog and cart dialog policies are not in place yet."""

    def fulfill(route: Any) -> None:
        conversation_id = route.request.url.rsplit("/", 2)[-2]
        body = canned_turn(sqlite_store, conversation_id).model_dump(mode="json")
        stream = "".join(
            f"event: {name}\ndata: {json.dumps(data)}\n\n"
            for name, data in [("turn.started", {"conversation_id": conversation_id}), ("turn.completed", body)]
        )
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=stream)

    page.route("**/v1/conversations/*/messages", fulfill)
    page.goto(server + "/")
    send(page, "Add two blue T-shirts in size M to my cart")
    card = last_assistant(page).locator(".product")
    expect(card).to_have_count(1)
    expect(card.locator(".product-name")).to_have_text("T-Shirt")
    expect(card.locator(".product-price")).to_contain_text("$")
    expect(card.locator(".product-options")).to_contain_text("color")
    expect(card.locator(".stock")).to_contain_text("In stock")
    expect(page.locator("#cart-lines .cart-line")).to_have_count(1)
    expect(page.locator("#cart-lines")).to_contain_text("2 × $50.88")
    expect(page.locator("#cart-subtotal")).to_have_text("$101.76")
    expect(page.locator("#cart-count")).to_have_text("2")
    shot(page, "chat-products.png")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_role("button", name="Cart")).to_be_visible()
    shot(page, "chat-mobile.png")
    page.get_by_role("button", name="Cart").click()
    expect(page.locator("#cart-panel")).to_be_visible()
    shot(page, "chat-mobile-cart.png")
