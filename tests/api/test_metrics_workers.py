"""``/metrics`` with several worker processes: two real ``shopkeep serve`` processes share one
``PROMETHEUS_MULTIPROC_DIR``, each answers a turn, and either one reports both turns."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

STARTUP_S = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _turns(base_url: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=30).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "shopkeep_turns"
        for sample in family.samples
        if sample.name == "shopkeep_turns_total"
    )


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"worker exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"worker not healthy after {STARTUP_S:.0f} s: {log.read_text()[-2000:]}")


@pytest.fixture
def two_workers(sqlite_template: Path, tmp_path: Path) -> Iterator[list[str]]:
    store = tmp_path / "store.db"
    shutil.copy(sqlite_template, store)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "SHOPKEEP_CHECKPOINT_URL": f"sqlite:///{tmp_path / 'checkpoints.db'}",
        "SHOPKEEP_RETRIEVAL__INDEX_ON_START": "false",
        "SHOPKEEP_LOG_LEVEL": "WARNING",
    }
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for n in range(2):
            port = _free_port()
            log = tmp_path / f"worker{n}.log"
            command = [sys.executable, "-m", "shopkeep.cli.main", "serve", "--store", f"sqlite:///{store}"]
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen([*command, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
                )
            urls.append(f"http://127.0.0.1:{port}")
        for process, url, n in zip(processes, urls, range(2), strict=True):
            _wait_healthy(url, process, tmp_path / f"worker{n}.log")
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_either_worker_reports_the_turns_of_both(two_workers: list[str]) -> None:
    first, second = two_workers
    assert _turns(first) == _turns(second) == 0
    for url in two_workers:
        conversation = httpx.post(f"{url}/v1/conversations", timeout=30).json()["id"]
        reply = httpx.post(f"{url}/v1/conversations/{conversation}/messages", json={"text": "hi"}, timeout=120)
        assert reply.status_code == 200, reply.text
    assert _turns(first) == _turns(second) == 2
