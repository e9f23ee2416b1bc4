"""The support console and the customer's web chat, in two real Chromium pages against one live server: the customer
asks for a person, an agent signs in to /console, claims, replies; the customer sees the reply live with the agent's
name; the agent hands back; the bot answers the next message. Screenshots land in ``var/screenshots/``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.api.app import create_app
from shopkeep.domain import AgentRole
from shopkeep.inbox.accounts import AgentAccounts
from shopkeep.inbox.service import InboxService
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore
from tests.api.inbox_helpers import HANDOFF, agent_token
from tests.api.live_server import free_port
from tests.api.test_web_chat import TIMEOUT_MS, browser, send, server, shot

__all__ = ["browser", "server"]  # the web chat's fixtures: system Chromium, a live uvicorn server


@pytest.fixture
def pages(browser: Browser) -> Iterator[tuple[Page, Page]]:
    customer_context = browser.new_context(viewport={"width": 1280, "height": 860})
    agent_context = browser.new_context(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    opened = []
    for context in (customer_context, agent_context):
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: errors.append(str(error)))
        opened.append(page)
    yield opened[0], opened[1]
    customer_context.close()
    agent_context.close()
    assert errors == [], f"JavaScript errors on the pages: {errors}"


def test_a_person_takes_over_replies_and_hands_back(
    pages: tuple[Page, Page], server: str, sqlite_store: SqlCommerceStore
) -> None:
    customer, agent = pages
    token = agent_token(sqlite_store, "Ana")

    customer.goto(server + "/")
    send(customer, HANDOFF)
    expect(customer.locator("#human-banner")).to_be_visible()

    agent.goto(server + "/console")
    expect(agent).to_have_title("Shopkeep Demo Store · Support console")
    agent.get_by_label("Agent token").fill("not-a-token")
    agent.get_by_role("button", name="Sign in").click()
    expect(agent.locator("#sign-in-error")).to_be_visible()
    agent.get_by_label("Agent token").fill(token)
    agent.get_by_role("button", name="Sign in").click()
    expect(agent.locator("#whoami")).to_have_text("Ana · agent")
    ticket = agent.locator(".queue-button").first
    expect(ticket).to_contain_text("Anonymous customer")
    ticket.click()
    expect(agent.locator("#ticket-summary")).not_to_be_empty()
    expect(agent.locator("#transcript .msg.user").first).to_contain_text(HANDOFF)
    expect(agent.get_by_label("Reply to the customer")).to_be_disabled()
    agent.get_by_role("button", name="Claim").click()
    expect(agent.locator("#ticket-status")).to_have_text("claimed")
    expect(customer.locator(".status-line.joined")).to_contain_text("Ana from our team joined")

    # the customer writes while the agent is about to type: recorded, the bot stays silent, the agent sees it
    customer.get_by_role("textbox", name="Message").fill("I was charged twice for my order")
    customer.get_by_role("textbox", name="Message").press("Enter")
    expect(customer.locator("#typing")).to_be_hidden()
    expect(agent.locator("#transcript .msg.user").last).to_contain_text("charged twice")

    reply = agent.get_by_label("Reply to the customer")
    reply.fill("Hi, I'm Ana. I can see the double charge and I've refunded one of them.")
    reply.press("Enter")
    message = customer.locator(".msg.agent").last
    expect(message.locator(".bubble")).to_have_text(
        "Hi, I'm Ana. I can see the double charge and I've refunded one of them."
    )
    expect(message.locator(".agent-name")).to_contain_text("Ana")
    expect(agent.locator("#transcript .msg.agent").last).to_contain_text("refunded one of them")
    agent.get_by_label("New internal note").fill("Refund issued by hand in the payment dashboard.")
    agent.get_by_role("button", name="Add note").click()
    expect(agent.locator("#notes .note")).to_contain_text("Refund issued by hand")
    shot(customer, "console-customer-with-agent.png")
    shot(agent, "console-agent-claimed.png")

    agent.get_by_label("Resolution note").fill("Double charge refunded; nothing else pending.")
    agent.get_by_role("button", name="Resolve & hand back to the assistant").click()
    expect(agent.locator("#ticket-status")).to_have_text("resolved")
    expect(customer.locator(".status-line.back")).to_contain_text("Ana handed you back to the assistant")
    expect(customer.locator("#human-banner")).to_be_hidden()
    expect(customer.locator(".note")).to_have_count(0)  # internal notes never reach the customer

    send(customer, "Hello!")
    last = customer.locator(".msg.assistant").last
    expect(last.locator(".bubble")).not_to_be_empty()
    expect(last.locator(".agent-chip")).to_be_visible()
    # the console still showing the ticket follows the bot's turns after the hand-back, without a reload
    expect(agent.locator("#transcript .msg.user .bubble").last).to_have_text("Hello!")
    expect(agent.locator("#transcript .msg.assistant .bubble").last).to_have_text(last.locator(".bubble").inner_text())
    shot(customer, "console-customer-bot-back.png")
    shot(agent, "console-agent-resolved.png")

    customer.reload()  # the transcript brings the person's part back
    expect(customer.locator(".msg.agent .bubble")).to_contain_text("refunded one of them")
    expect(customer.locator(".status-line.joined")).to_have_count(1)


def test_a_closed_conversation_tells_the_customer_and_offers_a_new_one(
    pages: tuple[Page, Page], server: str, sqlite_store: SqlCommerceStore
) -> None:
    customer, agent = pages
    token = agent_token(sqlite_store, "Sam", AgentRole.SUPERVISOR)
    customer.goto(server + "/")
    send(customer, HANDOFF)
    agent.goto(server + "/console")
    agent.get_by_label("Agent token").fill(token)
    agent.get_by_role("button", name="Sign in").click()
    agent.locator(".queue-button").first.click()
    # a supervisor may resolve a ticket nobody claimed
    agent.get_by_label("Resolution note").fill("Duplicate of an email thread; answered there.")
    agent.get_by_role("button", name="Resolve & close the conversation").click()
    expect(agent.locator("#resolution")).to_contain_text("Conversation closed: Duplicate of an email thread")
    closed = customer.locator(".msg.assistant").last
    expect(closed.locator(".bubble")).to_contain_text("This conversation is closed")
    expect(customer.locator("#status-text")).to_have_text("This conversation is closed")
    shot(customer, "console-customer-closed.png")
    shot(agent, "console-agent-closed.png")

    customer.reload()  # the closed notice comes back from the transcript, once
    expect(customer.locator(".restart")).to_have_count(1)
    send(customer, "Hello? Can someone cancel my order?")
    expect(customer.locator(".msg.assistant").last.locator(".bubble")).to_contain_text("start a new conversation")
    customer.locator(".restart").last.click()
    expect(customer.locator(".msg")).to_have_count(1)  # the welcome of a new conversation
    send(customer, "Hello!")
    expect(customer.locator(".msg.assistant").last.locator(".agent-chip")).to_be_visible()


@pytest.fixture
def restartable(sqlite_store: SqlCommerceStore, nlu: NLU, tmp_path: Path) -> Iterator[Restartable]:
    settings = Settings(var_dir=tmp_path / "var")
    with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
        app = create_app(settings, sqlite_store, service=build_service(settings, sqlite_store, checkpointer, nlu=nlu))
        server = Restartable(app)
        server.start()
        yield server
        server.stop()


class Restartable:
    """The app served by uvicorn on one port that a test may take down (every connection drops) and bring back."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", ws="none", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._server = None


def test_the_web_chat_catches_up_on_what_happened_while_it_was_disconnected(
    pages: tuple[Page, Page], restartable: Restartable, sqlite_store: SqlCommerceStore
) -> None:
    customer, _ = pages
    ana = AgentAccounts(sqlite_store).add("Ana").agent
    customer.goto(restartable.url + "/")
    send(customer, HANDOFF)
    expect(customer.locator("#human-banner")).to_be_visible()
    inbox: InboxService = restartable.app.state.inbox
    (ticket,) = inbox.queue()
    inbox.claim(ticket["id"], ana)
    expect(customer.locator(".status-line.joined")).to_contain_text("Ana from our team joined")

    restartable.stop()  # the customer's live connection drops; Ana goes on working meanwhile
    inbox.reply(ticket["id"], ana, "Sorry for the wait: your parcel left our warehouse this morning.")
    inbox.resolve(ticket["id"], ana, "Told the customer the parcel shipped.", hand_back=True)
    expect(customer.locator(".msg.agent")).to_have_count(0)
    restartable.start()  # EventSource reconnects by itself, with Last-Event-ID

    message = customer.locator(".msg.agent").last
    expect(message.locator(".bubble")).to_have_text("Sorry for the wait: your parcel left our warehouse this morning.")
    expect(message.locator(".agent-name")).to_contain_text("Ana")
    expect(customer.locator(".status-line.back")).to_contain_text("Ana handed you back to the assistant")
    expect(customer.locator("#human-banner")).to_be_hidden()
    shot(customer, "console-customer-caught-up.png")
    expect(customer.locator(".msg.agent")).to_have_count(1)  # each missed event once
    expect(customer.locator(".status-line.joined")).to_have_count(1)
