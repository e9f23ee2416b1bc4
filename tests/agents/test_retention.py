"""Data retention on SQLite and PostgreSQL (store and checkpointer alike): ``forget_customer`` leaves nothing of the
customer anywhere but their orders, anonymised; ``expire_conversations`` deletes idle conversations only."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.retention import expire_conversations, forget_customer
from shopkeep.agents.service import ConversationService
from shopkeep.agents.toolkit import agent_registry
from shopkeep.api.app import create_app
from shopkeep.api.idempotency import Started, begin, message_payload
from shopkeep.errors import CardTokenExpiredError
from shopkeep.payments.vault import MemoryCardVault
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store import schema as t
from shopkeep.store.postgres import scratch_database
from shopkeep.store.seed import StoreData, seed
from tests.agents.test_graph import FixedRouter
from tests.conftest import POSTGRES_URL, service_missing
from tests.support.checkout import EMMA, EMMA_PAYPAL, harness
from tests.support.scripted_model import ScriptedChatModel, call, say
from tests.tools.test_checkout import fill, order_args, propose

EMAIL = "mei.ahmed5231@example.com"
ORDER = "#W2631563"  # her only pending order
OTHER_EMAIL = "emma.smith3991@example.com"
CARD = "4242 4242 4242 4242"


@pytest.fixture(scope="module")
def retention_database() -> Iterator[str]:
    """A PostgreSQL database of this module's own: erasure renames customers, which the session's shared database
    must not see (its later users seed it without a reset)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database(POSTGRES_URL, "shopkeep_retention"))
        except Exception as exc:
            service_missing(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, demo_data: StoreData
) -> Iterator[tuple[SqlCommerceStore, str]]:
    """A fresh demo store and a checkpointer URL on the same backend."""
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
        seed(store, demo_data)
        checkpoints = f"sqlite:///{tmp_path / 'checkpoints.db'}"
    else:
        url = request.getfixturevalue("retention_database")
        store = open_store(url)
        seed(store, demo_data, reset=True)
        checkpoints = url
    yield store, checkpoints
    store.close()


@contextmanager
def service_on(store: SqlCommerceStore, checkpoints: str, model: ScriptedChatModel) -> Iterator[ConversationService]:
    deps = AgentDeps(store=store, brains=lambda _agent: model, router=FixedRouter("orders"), registry=agent_registry())
    with open_checkpointer(checkpoints) as checkpointer:
        yield ConversationService(build_graph(deps, checkpointer=checkpointer), store, vault=VAULT)


VAULT = MemoryCardVault()


def _everything(store: SqlCommerceStore) -> str:
    """Every row of every table of the store, as one text."""
    with store.session() as session:
        rows = {
            table.name: [list(map(str, row)) for row in session.connection.execute(select(table))]
            for table in t.metadata.sorted_tables
        }
    return json.dumps(rows).lower()


def _checkpoint_threads(checkpoints: str) -> set[str]:
    with open_checkpointer(checkpoints) as checkpointer:
        return {c.config["configurable"]["thread_id"] for c in checkpointer.list(None)}


def two_conversations(store: SqlCommerceStore, checkpoints: str) -> tuple[str, str, str]:
    """Mei identifies herself, types a card number, cancels her pending order and asks for a person; Emma only
    identifies herself. Returns both conversation ids and the card's vault token."""
    mei = ScriptedChatModel(
        steps=[
            call("find_user_id_by_email", email=EMAIL),
            say("Verified."),
            call("cancel_pending_order", order_id=ORDER, reason="no longer needed"),
            say("Cancelled."),
            call("transfer_to_human_agents", summary="The customer wants to talk about a refund."),
            say("A colleague will take over."),
        ]
    )
    with service_on(store, checkpoints, mei) as service:
        conversation = service.start()
        service.send(conversation, f"hi, I'm {EMAIL}, my card is {CARD}")
        assert service.send(conversation, f"cancel {ORDER}, no longer needed").awaiting_confirmation
        service.send(conversation, "yes")
        assert service.send(conversation, "let me talk to a person").mode == "human"
        first = next(e.payload["text"] for e in service.transcript(conversation) if e.kind == "user")
        token = re.findall(r"vt_[0-9a-f]{24}", first)[0]
    mei.assert_done()
    emma = ScriptedChatModel(steps=[call("find_user_id_by_email", email=OTHER_EMAIL), say("Verified.")])
    with service_on(store, checkpoints, emma) as service:
        other = service.start()
        service.send(other, OTHER_EMAIL)
    claim = begin(store, "api:messages", "retry-1", message_payload(conversation, "yes", None), wait_s=1)
    assert isinstance(claim, Started)
    claim.complete({"conversation_id": conversation, "reply": "Cancelled."})
    return conversation, other, token


def test_forgetting_a_customer_leaves_only_their_anonymised_orders(backend: tuple[SqlCommerceStore, str]) -> None:
    store, checkpoints = backend
    with store.session() as session:
        (user_id,) = session.find_customer_ids_by_email(EMAIL)
        customer = session.get_customer(user_id)
    assert customer is not None
    conversation, other, token = two_conversations(store, checkpoints)
    assert token.startswith("vt_") and VAULT.describe(token).last_four == "4242"
    personal = [EMAIL, user_id, conversation, token, customer.address.address1]
    before = _everything(store)
    assert all(value.lower() in before for value in personal)

    with open_checkpointer(checkpoints) as checkpointer:
        erasure = forget_customer(store, checkpointer, VAULT, EMAIL)

    assert erasure.conversations == 1 and erasure.checkpoints == 1 and erasure.vault_entries == 1
    after = _everything(store)
    for value in personal:
        assert value.lower() not in after, value
    with pytest.raises(CardTokenExpiredError):
        VAULT.describe(token)
    threads = _checkpoint_threads(checkpoints)
    assert conversation not in threads and other in threads
    # the order stays, under the pseudonym, with the street, city and zip gone and the tax jurisdiction kept
    (pseudonym,) = erasure.customers
    assert erasure.orders_anonymised == len(customer.orders)
    with store.session() as session:
        order = session.get_order(ORDER)
        kept = session.get_customer(pseudonym)
        assert session.list_events(other)  # the other customer's conversation is untouched
    assert order is not None and order.status.value == "cancelled" and order.user_id == pseudonym
    assert (order.address.address1, order.address.city, order.address.zip) == ("", "", "")
    assert order.address.state == customer.address.state
    assert kept is not None and kept.orders == customer.orders and kept.email.endswith("@erased.invalid")
    with store.session() as session:
        assert not session.list_events(conversation)
    # a second run finds nothing more
    with open_checkpointer(checkpoints) as checkpointer:
        again = forget_customer(store, checkpointer, VAULT, EMAIL)
    assert (again.customers, again.conversations) == ([], 0)


def test_conversations_idle_past_the_retention_period_are_deleted(backend: tuple[SqlCommerceStore, str]) -> None:
    store, checkpoints = backend
    old, recent, _ = two_conversations(store, checkpoints)
    long_ago = datetime.now(UTC) - timedelta(days=40)
    with store.session(write=True) as session:
        events = t.conversation_events
        session.connection.execute(update(events).where(events.c.conversation_id == old).values(created_at=long_ago))
        records = t.idempotency_records
        session.connection.execute(update(records).values(created_at=long_ago))

    with open_checkpointer(checkpoints) as checkpointer:
        assert expire_conversations(store, checkpointer, VAULT, 30, dry_run=True).conversations == 1
        erasure = expire_conversations(store, checkpointer, VAULT, 30)

    assert erasure.conversations == 1 and erasure.checkpoints == 1
    with store.session() as session:
        assert not session.list_events(old)
        assert session.list_events(recent)
        assert session.get_order(ORDER) is not None
        assert session.find_customer_ids_by_email(EMAIL)  # customers are not conversations
        tickets: list[Any] = session.list_tickets()
        assert not any(ticket.conversation_id == old for ticket in tickets)
    assert old.lower() not in _everything(store)
    threads = _checkpoint_threads(checkpoints)
    assert old not in threads and recent in threads


def test_an_unknown_email_erases_nothing(backend: tuple[SqlCommerceStore, str]) -> None:
    store, checkpoints = backend
    before = _everything(store)
    with open_checkpointer(checkpoints) as checkpointer:
        erasure = forget_customer(store, checkpointer, VAULT, "nobody@example.com")
    assert (erasure.customers, erasure.conversations, erasure.rows) == ([], 0, 0)
    assert _everything(store) == before


def test_a_forgotten_customers_checkouts_keep_their_records_without_the_address(
    backend: tuple[SqlCommerceStore, str],
) -> None:
    store, checkpoints = backend
    h = harness(store)
    ctx = h.ctx(EMMA)
    fill(h, ctx, "10", "60")
    quote = propose(h, ctx, shipping_method="standard", payment_method_id=EMMA_PAYPAL)
    placed = h.call(ctx, "place_order", **order_args(quote, shipping_method="standard", payment_method_id=EMMA_PAYPAL))
    assert placed.ok, placed.error
    with store.session() as session:
        customer = session.get_customer(EMMA)
    assert customer is not None
    personal = [customer.email, EMMA, customer.address.address1]
    assert all(value.lower() in _everything(store) for value in personal)

    with open_checkpointer(checkpoints) as checkpointer:
        erasure = forget_customer(store, checkpointer, VAULT, customer.email)

    after = _everything(store)
    for value in personal:
        assert value.lower() not in after, value
    (pseudonym,) = erasure.customers
    with store.session() as session:
        records = session.connection.execute(
            select(t.idempotency_records).where(t.idempotency_records.c.scope == "checkout")
        ).all()
        charges = session.connection.execute(select(t.order_charges.c.user_id)).scalars().all()
    assert len(records) == 1 and records[0].status == "completed"
    assert records[0].response["quote"]["address"]["state"] == customer.address.state
    assert pseudonym in charges


def test_the_service_sweeps_idle_conversations_in_the_background(
    sqlite_store: SqlCommerceStore, tmp_path: Path
) -> None:
    checkpoints = f"sqlite:///{tmp_path / 'checkpoints.db'}"
    old, recent, _ = two_conversations(sqlite_store, checkpoints)
    with sqlite_store.session(write=True) as session:
        events = t.conversation_events
        long_ago = datetime.now(UTC) - timedelta(days=3)
        session.connection.execute(update(events).where(events.c.conversation_id == old).values(created_at=long_ago))
    settings = Settings(var_dir=tmp_path / "var", retention={"conversation_days": 2, "sweep_interval_s": 0.1})
    model = ScriptedChatModel(steps=[])
    with (
        service_on(sqlite_store, checkpoints, model) as service,
        TestClient(create_app(settings, sqlite_store, service=service)),
    ):
        deadline = time.monotonic() + 30
        while service.exists(old) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not service.exists(old)
        assert service.exists(recent)
