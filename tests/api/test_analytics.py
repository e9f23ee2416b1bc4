"""The analytics for product teams: ``/v1/analytics`` behind an agent token, computed from real conversations'
events, and ``/console/analytics`` in real Chromium (screenshot in ``var/screenshots/``)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from shopkeep.domain import ConversationEvent
from shopkeep.inbox.accounts import AgentAccounts
from shopkeep.store import SqlCommerceStore
from tests.api.test_web_chat import SCREENSHOTS, browser, page, server  # noqa: F401  (fixtures)

MESSAGES = ["hello", "what is the capital of France?", "how much is express shipping?"]


def converse(post: httpx.Client | TestClient) -> str:
    conversation: str = post.post("/v1/conversations").json()["id"]
    for text in MESSAGES:
        assert post.post(f"/v1/conversations/{conversation}/messages", json={"text": text}).status_code == 200
    return conversation


def test_the_figures_come_from_the_conversations_and_need_a_token(
    client: TestClient, sqlite_store: SqlCommerceStore
) -> None:
    converse(client)
    converse(client)
    assert client.get("/v1/analytics").status_code == 401
    token = AgentAccounts(sqlite_store).add("ana").token
    figures = client.get("/v1/analytics", headers={"Authorization": f"Bearer {token}"}).json()
    assert figures["conversations"] == 2
    assert figures["per_day"] == {datetime.now(UTC).date().isoformat(): 2}
    assert figures["latency_ms"]["turns"] == 2 * len(MESSAGES)
    assert figures["escalation_rate"] == 0.0 and figures["containment"] == 1.0
    assert sum(figures["top_intents"].values()) == 2 * len(MESSAGES)
    assert {"question": "what is the capital of france?", "count": 2} in figures["unanswered"]
    assert figures["orders"] == 0 and figures["revenue"] == {} and figures["revenue_per_conversation"] == {}


def test_revenue_comes_from_the_order_events(client: TestClient, sqlite_store: SqlCommerceStore) -> None:
    buyer, _, _ = converse(client), converse(client), converse(client)
    place_orders(sqlite_store, buyer, ["19.99", "5.02"])
    token = AgentAccounts(sqlite_store).add("ana").token
    figures = client.get("/v1/analytics", headers={"Authorization": f"Bearer {token}"}).json()
    assert figures["orders"] == 2
    assert figures["revenue"] == {"USD": "25.01"}
    assert figures["order_value"] == {"USD": "12.51"}  # 12.505, rounded half up
    assert figures["revenue_per_conversation"] == {"USD": "8.34"}  # 25.01 / 3 conversations
    assert figures["conversion"] == pytest.approx(1 / 3)


def place_orders(store: SqlCommerceStore, conversation: str, values: list[str]) -> None:
    """The events the conversation service records for placed orders: the tool call and its ``order`` event (see
    test_guest_checkout_graph for a real one)."""
    with store.session(write=True) as session:
        for n, value in enumerate(values):
            tool = {"name": "place_order", "arguments": {}, "ok": True}
            order = {"order_id": f"#W{n}", "value": value, "currency": "USD"}
            for kind, payload in (("tool", tool), ("order", order)):
                event = ConversationEvent(
                    conversation_id=conversation, kind=kind, payload=payload, created_at=datetime.now(UTC)
                )
                session.append_event(event)


def test_the_analytics_page_draws_its_charts(page: Page, server: str, sqlite_store: SqlCommerceStore) -> None:  # noqa: F811
    with httpx.Client(base_url=server, timeout=60) as http:
        place_orders(sqlite_store, converse(http), ["42.50"])
    token = AgentAccounts(sqlite_store).add("sam").token
    page.goto(server + "/console/analytics")
    page.locator("#token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_be_visible()
    page.locator("#token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#analytics")).to_be_visible()
    for chart in ("per-day", "intents", "latency"):
        svg = page.locator(f"svg[data-chart='{chart}']")
        expect(svg).to_be_visible()
        assert svg.locator("rect").count() >= 1, chart
    expect(page.locator("#cards")).to_contain_text("Conversations1")
    expect(page.locator("#cards")).to_contain_text("Conversion100.0%")
    expect(page.locator("#cards")).to_contain_text("Revenue per conversationUSD 42.50")
    expect(page.locator("#cards")).to_contain_text("Mean order valueUSD 42.50")
    expect(page.locator("#unanswered")).to_contain_text("capital of france")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "analytics.png"), full_page=True)


def test_a_thumbs_down_in_the_web_chat_is_stored(page: Page, server: str, sqlite_store: SqlCommerceStore) -> None:  # noqa: F811
    page.goto(server + "/")
    box = page.get_by_role("textbox", name="Message")
    box.fill("Hello!")
    box.press("Enter")
    reply = page.locator(".msg.assistant").last
    down = reply.get_by_role("button", name="Bad reply")
    expect(down).to_be_visible(timeout=30_000)
    down.click()
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(reply.get_by_role("button", name="Good reply")).to_be_disabled()
    with sqlite_store.session() as session:
        rated = session.events_of_kinds(["rating"])
    assert [e.payload["value"] for e in rated] == ["down"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "chat-rating.png"))
