"""Real Shopkeep processes on loopback for the scale and fault tests: ``shopkeep serve`` against a scratch
PostgreSQL database (store and checkpoints) and Redis, started, waited for and stopped by the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shopkeep.settings import PROJECT_ROOT
from shopkeep.store import open_store
from shopkeep.store.postgres import scratch_database
from shopkeep.store.seed import StoreData, seed
from tests.conftest import POSTGRES_URL, service_missing

REDIS_URL = os.environ.get("SHOPKEEP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STARTUP_S = 300.0
"""Each worker loads the embedding model and the NLU: slow on a busy 2-core machine."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require_redis(url: str = REDIS_URL) -> None:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        service_missing(f"Redis at {url} is not reachable: {exc}")
    finally:
        client.close()


@contextmanager
def shared_database(demo_data: StoreData, prefix: str) -> Iterator[str]:
    """A scratch PostgreSQL database holding the seeded demo store (workers keep their checkpoints there too)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_database(POSTGRES_URL, prefix))
        except Exception as exc:
            service_missing(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
        store = open_store(url)
        seed(store, demo_data)
        store.close()
        yield url


@dataclass
class Server:
    """One ``shopkeep serve`` process (which may run several workers) and its log."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def wait_healthy(self, timeout_s: float = STARTUP_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        pytest.fail(f"server not healthy after {timeout_s:.0f} s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def server_env(store_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "SHOPKEEP_STORE_URL": store_url,
        "SHOPKEEP_CHECKPOINT_URL": store_url,
        "SHOPKEEP_REDIS_URL": REDIS_URL,
        "SHOPKEEP_RETRIEVAL__INDEX_ON_START": "false",
        "SHOPKEEP_LOG_LEVEL": "WARNING",
        "SHOPKEEP_VAR_DIR": str(PROJECT_ROOT / "var"),  # the NLU the test session trained
        **extra,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def start_server(env: dict[str, str], log: Path, *args: str) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "shopkeep.cli.main", "serve", "--port", str(port), *args]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    return Server(process, f"http://127.0.0.1:{port}", log)
