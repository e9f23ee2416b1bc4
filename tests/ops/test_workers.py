"""Several workers on shared PostgreSQL (store, checkpoints) and Redis: any worker serves any message of a
conversation, across a pending proposal, and a conversation's turns never run at once in two workers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage
from sqlalchemy import create_engine

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.locks import PostgresAdvisoryLocks
from shopkeep.errors import StoreUnavailableError
from shopkeep.store import open_store
from shopkeep.store.seed import StoreData
from tests.api.helpers import EMAIL, PENDING_ORDER, order_status
from tests.ops.servers import Server, require_redis, server_env, shared_database, start_server

# A server may take up to STARTUP_S (300 s) to come up on a loaded machine: the default 300 s per test cannot hold that
# and the turns after it (a two-worker server timed out in its teardown under `-n 2` at load average 14).
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def database(demo_data: StoreData) -> Iterator[str]:
    with shared_database(demo_data, "shopkeep_workers") as url:
        yield url


def say(base_url: str, cid: str, text: str, **extra: Any) -> dict[str, Any]:
    response = httpx.post(f"{base_url}/v1/conversations/{cid}/messages", json={"text": text, **extra}, timeout=120)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_advisory_locks_exclude_other_sessions_and_free_with_them(database: str) -> None:
    """Two engines stand for two worker processes: each lock lives in its own database session."""
    first, second = create_engine(database), create_engine(database)
    try:
        holder, other = PostgresAdvisoryLocks(first), PostgresAdvisoryLocks(second, wait_s=0.3)
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with holder.hold("conv-1"):
                held.set()
                release.wait(30)

        thread = threading.Thread(target=hold)
        thread.start()
        assert held.wait(30)
        with pytest.raises(StoreUnavailableError, match="busy"), other.hold("conv-1"):
            pass
        with other.hold("conv-2"):  # another conversation is not blocked
            pass
        release.set()
        thread.join(30)
        with other.hold("conv-1"):
            pass
    finally:
        first.dispose()
        second.dispose()


@pytest.fixture(scope="module")
def two_servers(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Two single-worker servers on their own ports, as a load balancer without sticky sessions sees them."""
    require_redis()
    logs = tmp_path_factory.mktemp("workers")
    servers = [start_server(server_env(database, logs), logs / f"worker{n}.log") for n in range(2)]
    try:
        for server in servers:
            server.wait_healthy()
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_alternating_workers_on_every_message_across_a_pending_proposal(
    two_servers: list[Server], database: str
) -> None:
    a, b = (server.url for server in two_servers)
    cid = httpx.post(f"{a}/v1/conversations", timeout=60).json()["id"]
    say(b, cid, f"I want to cancel my order {PENDING_ORDER}")
    say(a, cid, f"my email is {EMAIL}")
    proposal_turn = say(b, cid, "I no longer need it")
    assert proposal_turn["awaiting_confirmation"] is True, proposal_turn
    proposal = proposal_turn["proposal"]
    store = open_store(database, upgrade=False)
    try:
        assert order_status(store, PENDING_ORDER) == "pending"
        done = say(a, cid, "yes", confirm=proposal["fingerprint"])
        assert done["tool_calls"] == [{"name": "cancel_pending_order", "arguments": proposal["arguments"], "ok": True}]
        assert order_status(store, PENDING_ORDER) == "cancelled"
    finally:
        store.close()
    transcript = httpx.get(f"{b}/v1/conversations/{cid}", timeout=60).json()
    said = [e["text"] for e in transcript["events"] if e["kind"] == "user"]
    assert said == [f"I want to cancel my order {PENDING_ORDER}", f"my email is {EMAIL}", "I no longer need it", "yes"]


def test_concurrent_messages_to_one_conversation_on_two_workers_take_turns(
    two_servers: list[Server], database: str
) -> None:
    """Four messages at once, two per worker: each turn runs on the checkpoint of the one before (the advisory
    lock), so the conversation's state holds all four; without the lock two turns would start from the same
    checkpoint and one would overwrite the other."""
    a, b = (server.url for server in two_servers)
    cid = httpx.post(f"{a}/v1/conversations", timeout=60).json()["id"]
    texts = [f"do you sell {thing}?" for thing in ("kettles", "backpacks", "headphones", "boots")]
    with ThreadPoolExecutor(4) as pool:
        turns = list(pool.map(lambda pair: say(pair[0], cid, pair[1]), zip([a, b, a, b], texts, strict=True)))
    assert all(turn["reply"] for turn in turns)
    with open_checkpointer(database) as checkpointer:
        state = checkpointer.get({"configurable": {"thread_id": cid}})
    assert state is not None
    remembered = [m.content for m in state["channel_values"]["messages"] if isinstance(m, HumanMessage)]
    assert sorted(remembered) == sorted(texts)


def test_serve_with_two_workers_runs_two_processes_on_one_port(database: str, tmp_path: Path) -> None:
    require_redis()
    server = start_server(server_env(database, tmp_path), tmp_path / "serve.log", "--workers", "2")
    try:
        server.wait_healthy()
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        workers = [pid for pid in children if "spawn" in Path(f"/proc/{pid}/cmdline").read_bytes().decode()]
        assert len(workers) == 2, children
        cid = httpx.post(f"{server.url}/v1/conversations", timeout=60).json()["id"]
        for text in ("hi", "what do you sell?", "thanks, bye"):
            assert say(server.url, cid, text)["reply"]
    finally:
        server.stop()


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    env = server_env(f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    server = start_server(env, tmp_path / "serve.log", "--workers", "2")
    assert server.process.wait(timeout=120) == 2
    assert "needs the store on PostgreSQL" in " ".join(server.log.read_text().split())
