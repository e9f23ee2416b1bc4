"""Escalations under concurrency: two agents claiming at once (SQLite and PostgreSQL), a customer writing while the
agent types, and several workers (two apps over one store: ownership and messages live in the store)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.api.app import create_app
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.seed import StoreData, seed
from tests.api.inbox_helpers import agent_token, bearer, escalate, ticket_of

Workers = Callable[[SqlCommerceStore], FastAPI]


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest, demo_data: StoreData) -> Iterator[SqlCommerceStore]:
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_store")
        return
    store = open_store(request.getfixturevalue("postgres_database"))
    seed(store, demo_data, reset=True)
    yield store
    store.close()


@pytest.fixture
def workers(settings: Settings, nlu: NLU, tmp_path: Path) -> Iterator[Workers]:
    """Apps like two workers of one deployment: each its own service, one store and one checkpointer between them."""
    with open_checkpointer(f"sqlite:///{tmp_path / 'shared-checkpoints.db'}") as checkpointer:

        def make(store: SqlCommerceStore) -> FastAPI:
            return create_app(settings, store, service=build_service(settings, store, checkpointer, nlu=nlu))

        yield make


def _together(*calls: Any) -> list[Any]:
    """Run the calls in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Any) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_agents_racing_to_claim_get_one_200_and_one_409(workers: Workers, any_store: SqlCommerceStore) -> None:
    ana, ben = agent_token(any_store, "Ana"), agent_token(any_store, "Ben")
    with TestClient(workers(any_store)) as worker_a, TestClient(workers(any_store)) as worker_b:
        for _ in range(3):
            conversation_id, _ = escalate(worker_a)
            ticket_id = ticket_of(worker_a, ana, conversation_id)["id"]
            url = f"/v1/escalations/{ticket_id}/claim"
            first, second = _together(
                lambda url=url: worker_a.post(url, headers=bearer(ana)),
                lambda url=url: worker_b.post(url, headers=bearer(ben)),
            )
            codes = sorted([first.status_code, second.status_code])
            assert codes == [200, 409], (first.text, second.text)
            winner = (first if first.status_code == 200 else second).json()["assignee"]
            loser = second if first.status_code == 200 else first
            assert winner in loser.json()["message"]
            shown = worker_b.get(f"/v1/escalations/{ticket_id}", headers=bearer(ben)).json()
            assert shown["assignee"] == winner and shown["status"] == "claimed"


def test_a_customer_writing_while_the_agent_types(workers: Workers, any_store: SqlCommerceStore) -> None:
    ana = agent_token(any_store, "Ana")
    with TestClient(workers(any_store)) as customer_side, TestClient(workers(any_store)) as agent_side:
        conversation_id, _ = escalate(customer_side)
        ticket_id = ticket_of(agent_side, ana, conversation_id)["id"]
        assert agent_side.post(f"/v1/escalations/{ticket_id}/claim", headers=bearer(ana)).status_code == 200

        def customer(n: int) -> Any:
            return customer_side.post(f"/v1/conversations/{conversation_id}/messages", json={"text": f"customer {n}"})

        def agent(n: int) -> Any:
            return agent_side.post(
                f"/v1/escalations/{ticket_id}/messages", json={"text": f"agent {n}"}, headers=bearer(ana)
            )

        for n in range(3):
            said, wrote = _together(lambda n=n: customer(n), lambda n=n: agent(n))
            assert said.status_code == 200 and said.json()["mode"] == "human" and said.json()["reply"] == ""
            assert wrote.status_code == 201
        events = customer_side.get(f"/v1/conversations/{conversation_id}").json()["events"]
        texts = [e["text"] for e in events if e["kind"] in ("user", "agent")]
        assert sorted(texts[-6:]) == sorted([f"customer {n}" for n in range(3)] + [f"agent {n}" for n in range(3)])
        assert [e for e in events if e["kind"] == "assistant"][-1]["text"] != ""  # the hand-off reply, nothing since
        assert [e["kind"] for e in events].count("assistant") == 1
        detail = agent_side.get(f"/v1/escalations/{ticket_id}", headers=bearer(ana)).json()
        seen = [e["text"] for e in detail["transcript"] if e["kind"] == "user"]
        assert {f"customer {n}" for n in range(3)} <= set(seen)
        resolved = agent_side.post(
            f"/v1/escalations/{ticket_id}/resolve", json={"note": "done", "hand_back": True}, headers=bearer(ana)
        )
        assert resolved.status_code == 200
        back = customer_side.post(f"/v1/conversations/{conversation_id}/messages", json={"text": "Hi there!"})
        assert back.json()["mode"] == "bot" and back.json()["reply"]
