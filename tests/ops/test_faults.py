"""Faults with real processes on loopback: a PostgreSQL that goes away under a running service and comes back, a
Redis that is killed, and a worker killed (kill -9) while it takes a payment. Each test asserts what the customer
saw and what the store holds afterwards.

PostgreSQL here is a private server (``infra/pgvector/server.sh`` on a free port in a temp folder), never the
machine's shared one; Redis is a private ``redis-server`` on a free port."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopkeep.payments.ledger import reconcile
from shopkeep.settings import PROJECT_ROOT
from shopkeep.store import open_store
from shopkeep.store.seed import StoreData, seed
from tests.conftest import service_missing
from tests.ops.servers import Server, free_port, server_env, start_server

SERVER_SH = PROJECT_ROOT / "infra" / "pgvector" / "server.sh"
# Each test starts a server (up to STARTUP_S, 300 s, on a loaded machine), then stops and starts a dependency.
pytestmark = pytest.mark.timeout(900)


class PrivatePostgres:
    """A throw-away PostgreSQL 16 (the bundled one) that a test may stop and start."""

    def __init__(self, base: Path) -> None:
        self.env = {
            **os.environ,
            "PGVECTOR_PORT": str(free_port()),
            "PGVECTOR_DATA_DIR": str(base / "data"),
            "PGVECTOR_SOCKET_DIR": str(base / "sock"),
            "PGVECTOR_VENV": sys.prefix,
        }

    def run(self, action: str) -> str:
        done = subprocess.run(
            ["bash", str(SERVER_SH), action], env=self.env, capture_output=True, text=True, timeout=180, check=False
        )
        if done.returncode != 0:
            service_missing(f"private PostgreSQL could not {action}: {done.stderr[-1500:]}")
        return done.stdout.strip()


@pytest.fixture
def private_postgres() -> Iterator[tuple[PrivatePostgres, str]]:
    base = Path(f"/tmp/shopkeep-fault-pg-{os.getpid()}-{time.monotonic_ns()}")  # readable by the postgres user
    server = PrivatePostgres(base)
    server.run("start")
    try:
        yield server, server.run("url")
    finally:
        subprocess.run(["bash", str(SERVER_SH), "stop"], env=server.env, capture_output=True, timeout=120, check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[list[subprocess.Popen[bytes]], int]]:
    if shutil.which("redis-server") is None:
        service_missing("redis-server is not installed")
    port = free_port()
    processes = [_redis_server(port, tmp_path)]
    try:
        yield processes, port
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def _redis_server(port: int, directory: Path) -> subprocess.Popen[bytes]:
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [*command, "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False)
        if done.stdout.strip() == "PONG":
            return process
        time.sleep(0.2)
    pytest.fail("private redis-server did not start")


def post(base_url: str, path: str, *, timeout: float = 120, **body: Any) -> httpx.Response:
    return httpx.post(f"{base_url}{path}", json=body or None, timeout=timeout)


RECOVERY_S = 60.0
"""How long the service may take to serve again once PostgreSQL is back. The checkpoint pool retries a connection
every few seconds at most (``RECONNECT_S``); the bound leaves room for a loaded CI machine, and a service that never
recovers still fails the test."""


def send_until_served(base_url: str, cid: str, text: str, *, within_s: float) -> httpx.Response:
    """Send a message as a customer obeying ``Retry-After`` would, until it is not a 503 or the time is up."""
    deadline = time.monotonic() + within_s
    while True:
        response = post(base_url, f"/v1/conversations/{cid}/messages", text=text)
        if response.status_code != 503 or time.monotonic() >= deadline:
            return response
        assert response.headers["retry-after"] == "5"
        time.sleep(1)


def user_messages(base_url: str, cid: str) -> list[str]:
    events = httpx.get(f"{base_url}/v1/conversations/{cid}", timeout=60).json()["events"]
    return [e["text"] for e in events if e["kind"] == "user"]


def test_postgres_down_under_a_running_service_is_a_fast_503_then_it_recovers_without_restart(
    private_postgres: tuple[PrivatePostgres, str], demo_data: StoreData, tmp_path: Path
) -> None:
    postgres, url = private_postgres
    store = open_store(url)
    seed(store, demo_data)
    store.close()
    env = server_env(url, tmp_path, SHOPKEEP_REDIS_URL="")
    env.pop("SHOPKEEP_REDIS_URL")
    server: Server = start_server(env, tmp_path / "serve.log")
    try:
        server.wait_healthy()
        cid = post(server.url, "/v1/conversations").json()["id"]
        assert post(server.url, f"/v1/conversations/{cid}/messages", text="hi").status_code == 200

        postgres.run("stop")
        # Failing fast is the contract: a request that hangs on the dead database fails the test by its timeout.
        down = [
            post(server.url, f"/v1/conversations/{cid}/messages", timeout=30, text=f"are you there {n}?")
            for n in range(3)
        ]
        health = httpx.get(f"{server.url}/healthz", timeout=30)
        for response in down:
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.json()["code"] == "service_unavailable"
        assert health.status_code == 503

        postgres.run("start")
        back = send_until_served(server.url, cid, "what do you sell?", within_s=RECOVERY_S)
        assert back.status_code == 200, back.text
        assert back.json()["reply"]
        assert post(server.url, f"/v1/conversations/{cid}/messages", text="thanks, bye").status_code == 200
        assert user_messages(server.url, cid) == ["hi", "what do you sell?", "thanks, bye"]  # nothing half-written
        assert server.process.poll() is None  # recovered without a restart
    finally:
        server.stop()


def test_redis_killed_under_a_running_service_degrades_to_local_limits_and_loses_nothing(
    private_redis: tuple[list[subprocess.Popen[bytes]], int], sqlite_template: Path, tmp_path: Path
) -> None:
    processes, port = private_redis
    store = tmp_path / "store.db"
    shutil.copy(sqlite_template, store)
    env = server_env(
        f"sqlite:///{store}",
        tmp_path,
        SHOPKEEP_CHECKPOINT_URL=f"sqlite:///{tmp_path / 'checkpoints.db'}",
        SHOPKEEP_REDIS_URL=f"redis://127.0.0.1:{port}/0",
        SHOPKEEP_LOG_LEVEL="INFO",
    )
    server = start_server(env, tmp_path / "serve.log")
    try:
        server.wait_healthy()
        cid = post(server.url, "/v1/conversations").json()["id"]
        assert post(server.url, f"/v1/conversations/{cid}/messages", text="hi").status_code == 200

        processes[0].kill()
        processes[0].wait(timeout=30)
        during = [post(server.url, f"/v1/conversations/{cid}/messages", text=t) for t in ("what do you sell?", "ok")]
        assert [r.status_code for r in during] == [200, 200], [r.text for r in during]
        assert all(r.json()["reply"] for r in during)

        processes.append(_redis_server(port, tmp_path))
        after = post(server.url, f"/v1/conversations/{cid}/messages", text="thanks, bye")
        assert after.status_code == 200, after.text
        assert user_messages(server.url, cid) == ["hi", "what do you sell?", "ok", "thanks, bye"]
        log = server.log.read_text()
        assert "rate_limit_redis_down" in log and "rate_limit_redis_back" in log
    finally:
        server.stop()


PURCHASE = ["I want to buy the pink 5mm yoga mat", "noah.patel9232@example.com", "express please", "pay with my visa"]
NOAH = "noah_patel_1311"
GATEWAY_LATENCY_S = 6.0
"""Every sandbox call answers this long after processing it, so a kill lands while a payment call is in flight."""
LEASE_S = 120.0 + 60.0
"""How long a retry may be told 409 ``idempotency_in_progress``: the dead request's claim lease (120 s) runs out
first, with room for a loaded machine."""


def _gateway_calls(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        return int(conn.execute("SELECT count(*) FROM gateway_records WHERE kind = 'idem'").fetchone()[0])


def _send_obeying_retry_after(base_url: str, cid: str, text: str, key: str, *, within_s: float) -> httpx.Response:
    deadline = time.monotonic() + within_s
    while True:
        response = httpx.post(
            f"{base_url}/v1/conversations/{cid}/messages",
            json={"text": text},
            headers={"Idempotency-Key": key},
            timeout=180,
        )
        if response.status_code not in (409, 503) or time.monotonic() > deadline:
            return response
        time.sleep(float(response.headers.get("Retry-After", "2")))


@pytest.mark.slow
def test_worker_killed_mid_payment_then_the_customers_retry_places_one_order_charged_once(
    indexed_sqlite_template: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store.db"
    shutil.copy(indexed_sqlite_template, store)
    env = server_env(
        f"sqlite:///{store}",
        tmp_path,
        SHOPKEEP_CHECKPOINT_URL=f"sqlite:///{tmp_path / 'checkpoints.db'}",
        SHOPKEEP_PAYMENTS__SANDBOX_LATENCY_S=str(GATEWAY_LATENCY_S),
        SHOPKEEP_PAYMENTS__TIMEOUT_S="30",
    )
    with sqlite3.connect(store) as conn:
        orders_before = {row[0] for row in conn.execute("SELECT order_id FROM orders WHERE user_id = ?", (NOAH,))}
    server = start_server(env, tmp_path / "serve.log")
    try:
        server.wait_healthy()
        cid = post(server.url, "/v1/conversations").json()["id"]
        for text in PURCHASE:
            turn = post(server.url, f"/v1/conversations/{cid}/messages", text=text)
            assert turn.status_code == 200, turn.text
        assert turn.json()["awaiting_confirmation"], turn.json()["reply"]

        calls_before = _gateway_calls(store)
        answered: list[int] = []
        first_yes = threading.Thread(
            target=_send_and_record,
            args=(f"{server.url}/v1/conversations/{cid}/messages", {"text": "yes"}, "yes-1", answered),
        )
        first_yes.start()
        deadline = time.monotonic() + 120
        while _gateway_calls(store) == calls_before:  # the payment call is processed, its answer not yet sent
            assert time.monotonic() < deadline, "the confirmation never reached the payment gateway"
            time.sleep(0.1)
        server.process.kill()  # kill -9, in the middle of the turn
        server.process.wait(timeout=30)
        first_yes.join(timeout=60)
        assert answered == [], "the worker answered before it was killed: the kill missed the turn"
    finally:
        server.stop()

    server = start_server(env, tmp_path / "serve-after.log")
    try:
        server.wait_healthy()
        retry = _send_obeying_retry_after(server.url, cid, "yes", "yes-1", within_s=LEASE_S)
        assert retry.status_code == 200, retry.text
        again = _send_obeying_retry_after(server.url, cid, "yes", "yes-1", within_s=LEASE_S)
        assert again.status_code == 200 and again.json() == retry.json()
        assert again.headers.get("Idempotent-Replayed") == "true"
    finally:
        server.stop()

    reopened = open_store(f"sqlite:///{store}")
    try:
        with reopened.session() as session:
            new_orders = [o for o in session.list_orders(NOAH) if o.order_id not in orders_before]
        assert len(new_orders) == 1, (retry.json()["reply"], [o.order_id for o in new_orders])
        assert new_orders[0].order_id in retry.json()["reply"], retry.json()["reply"]
        assert len(new_orders[0].payment_history) == 1
        assert reconcile(reopened) == []
        with sqlite3.connect(store) as conn:
            captures = [
                json.loads(row[0]) for row in conn.execute("SELECT payload FROM gateway_records WHERE kind = 'payment'")
            ]
        assert len([p for p in captures if p.get("captured")]) == 1, captures
    finally:
        reopened.close()


def _send_and_record(url: str, body: dict[str, str], key: str, answered: list[int]) -> None:
    """Send, and record the status if an answer comes: the connection dying with the worker is the point."""
    with contextlib.suppress(httpx.TransportError):
        answered.append(httpx.post(url, json=body, headers={"Idempotency-Key": key}, timeout=180).status_code)
