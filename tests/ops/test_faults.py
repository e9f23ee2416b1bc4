"""Faults with real processes on loopback: a PostgreSQL that goes away under a running service and comes back, and a
Redis that is killed. Each test asserts what the customer saw and what the store holds afterwards.

PostgreSQL here is a private server (``infra/pgvector/server.sh`` on a free port in a temp folder), never the
machine's shared one; Redis is a private ``redis-server`` on a free port."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

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
