"""Turn latency and throughput as a client sees them: HTTP to a real ``shopkeep serve`` (issue 16).

The in-process figure of ``bench/turns.py`` leaves out the server; this one starts ``shopkeep serve`` and times each
``POST /v1/conversations/{id}/messages`` from the client's side, over three conversations: the issue's five-turn
mix ("hi", a product question, a follow-up, a shipping question, "thanks, bye"), a purchase (confirmed: an order is
placed) and an order change (a cancellation, declined at the confirmation so it can be asked again).

- One client: one worker on SQLite with the local brain (what ``make run`` serves), conversations one after another;
  p50 / p95 per turn.
- Throughput: ``serve --workers 2`` on PostgreSQL (``SHOPKEEP_BENCH_PGVECTOR_URL``, with pgvector so search works;
  ``SHOPKEEP_BENCH_POSTGRES_URL`` without it) and Redis, ``CLIENTS`` clients looping the conversations without
  pauses for ``SECONDS``; turns/s and p50 / p95 / p99.

Both stores are the seeded demo indexed for search, built once into ``var/bench/`` (the PostgreSQL one gets the
SQLite template's vectors, so nothing is embedded twice). Figures depend on what else the machine runs: print the
load average with them, as this does.

    python -m bench.http_turns [--rounds 4] [--clients 8] [--seconds 60] [--skip-throughput]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, select

from shopkeep.settings import PROJECT_ROOT

OUT = PROJECT_ROOT / "var" / "bench"
STARTUP_S = 900.0

MIX = ["hi", "do you have headphones?", "which ones are wireless?", "how long does shipping take?", "thanks, bye"]
PURCHASE = ["I want to buy the pink 5mm yoga mat", "noah.patel9232@example.com", "express please", "pay with my visa"]
ORDER_CHANGE = ["I want to cancel my order #W2631563", "my email is mei.ahmed5231@example.com", "I no longer need it"]
CONVERSATIONS: dict[str, list[str]] = {
    "five-turn mix": MIX,
    "purchase": [*PURCHASE, "yes"],
    "order change": [*ORDER_CHANGE, "no"],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


def indexed_template() -> Path:
    """The seeded demo store indexed for search, as a SQLite file kept in ``var/bench`` (built on first use)."""
    from shopkeep.retrieval.embedders import get_embedder
    from shopkeep.retrieval.search import CatalogSearch
    from shopkeep.settings import get_settings
    from shopkeep.store import open_store
    from shopkeep.store.seed import seed_demo

    path = OUT / "indexed-demo.db"
    if not path.is_file():
        OUT.mkdir(parents=True, exist_ok=True)
        building = path.with_suffix(".tmp")
        building.unlink(missing_ok=True)
        settings = get_settings()
        store = open_store(f"sqlite:///{building}")
        seed_demo(store, settings.data_dir)
        CatalogSearch(store, get_embedder(settings), kb_dir=settings.data_dir / "kb").index_documents()
        store.close()
        building.replace(path)
    return path


@contextmanager
def serve(env: dict[str, str], log: Path, workers: int = 1) -> Iterator[str]:
    """``shopkeep serve`` with ``env`` on a free port until the context ends; yields its URL once healthy."""
    port = _free_port()
    command = [sys.executable, "-m", "shopkeep.cli.main", "serve", "--port", str(port), "--workers", str(workers)]
    full_env = {
        **os.environ,
        "SHOPKEEP_LOG_LEVEL": "WARNING",
        # The bench measures turns, not the per-customer limits: its clients are a few customers many times over.
        "SHOPKEEP_LIMITS__MESSAGES_PER_CUSTOMER": "0",
        "SHOPKEEP_LIMITS__TOOL_CALLS_PER_CUSTOMER": "0",
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server was not healthy after {STARTUP_S:.0f} s")
            time.sleep(0.5)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=60)


def converse(client: httpx.Client, messages: list[str]) -> list[tuple[float, int]]:
    """One conversation; (milliseconds, status) of each turn."""
    cid = client.post("/v1/conversations").raise_for_status().json()["id"]
    timings = []
    for text in messages:
        started = time.perf_counter()
        response = client.post(f"/v1/conversations/{cid}/messages", json={"text": text})
        timings.append(((time.perf_counter() - started) * 1000, response.status_code))
    return timings


def one_client(rounds: int) -> None:
    """Latency per turn for one client against one worker on SQLite."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store.db"
        shutil.copy(indexed_template(), store)
        env = {
            "SHOPKEEP_STORE_URL": f"sqlite:///{store}",
            "SHOPKEEP_CHECKPOINT_URL": f"sqlite:///{Path(tmp) / 'checkpoints.db'}",
        }
        with serve(env, Path(tmp) / "serve.log") as url, httpx.Client(base_url=url, timeout=120) as client:
            for messages in CONVERSATIONS.values():  # warm-up: first use of every code path
                converse(client, messages)
            print(f"one client, one worker, SQLite, local brain; {rounds} rounds; {_load()} at start")
            every: list[float] = []
            for name, messages in CONVERSATIONS.items():
                samples: list[float] = []
                for _ in range(rounds):
                    for ms, status in converse(client, messages):
                        if status != 200:
                            raise SystemExit(f"{name}: a turn answered {status}")
                        samples.append(ms)
                every += samples
                print(
                    f"  {name:<14} turns {len(samples):>4}  p50 {statistics.median(samples):7.1f} ms"
                    f"  p95 {_percentile(samples, 0.95):7.1f} ms"
                )
            print(
                f"  {'all':<14} turns {len(every):>4}  p50 {statistics.median(every):7.1f} ms"
                f"  p95 {_percentile(every, 0.95):7.1f} ms   ({_load()} at end)"
            )


@contextmanager
def _postgres_store(server_url: str) -> Iterator[str]:
    """A scratch database holding the indexed demo store, its vectors copied from the SQLite template."""
    from shopkeep.retrieval import schema as rs
    from shopkeep.retrieval.embedders import get_embedder
    from shopkeep.retrieval.search import CatalogSearch
    from shopkeep.settings import get_settings
    from shopkeep.store import open_store
    from shopkeep.store.postgres import scratch_database
    from shopkeep.store.seed import seed_demo

    template = create_engine(f"sqlite:///{indexed_template()}")
    with template.connect() as conn:
        cached = [dict(row._mapping) for row in conn.execute(select(rs.embeddings))]
    template.dispose()
    with scratch_database(server_url, "shopkeep_bench_http") as url:
        scratch = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with scratch.connect() as conn:
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
        except Exception:
            print("  (this PostgreSQL has no pgvector: turns that search answer without it)")
        finally:
            scratch.dispose()
        settings = get_settings()
        store = open_store(url)
        seed_demo(store, settings.data_dir)
        with store.engine.begin() as conn:
            conn.execute(insert(rs.embeddings), cached)
        CatalogSearch(store, get_embedder(settings), kb_dir=settings.data_dir / "kb").index_documents()
        store.close()
        yield url


def throughput(clients: int, seconds: float, workers: int) -> None:
    """Turns per second for ``clients`` clients without pauses against ``serve --workers N`` on PostgreSQL."""
    redis_url = os.environ.get("SHOPKEEP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    server_url = os.environ.get("SHOPKEEP_BENCH_PGVECTOR_URL", "postgresql+psycopg://postgres@127.0.0.1:5433/test")
    try:
        create_engine(server_url, connect_args={"connect_timeout": 3}).connect().close()
    except Exception:
        server_url = os.environ.get("SHOPKEEP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        print(f"  (no pgvector server: {server_url} without vector search)")
    with tempfile.TemporaryDirectory() as tmp, _postgres_store(server_url) as url:
        env = {"SHOPKEEP_STORE_URL": url, "SHOPKEEP_CHECKPOINT_URL": url, "SHOPKEEP_REDIS_URL": redis_url}
        with serve(env, Path(tmp) / "serve.log", workers=workers) as base:
            with httpx.Client(base_url=base, timeout=120) as client:
                for messages in CONVERSATIONS.values():
                    converse(client, [m for m in messages if m != "yes"])  # warm both workers, buy nothing
            print(f"{clients} clients, {workers} workers, PostgreSQL + Redis; {seconds:.0f} s; {_load()} at start")
            samples: list[float] = []
            failures = [0]
            lock = threading.Lock()
            stop = time.monotonic() + seconds
            scripts = [[m for m in messages if m != "yes"] for messages in CONVERSATIONS.values()]

            def loop(n: int) -> None:
                with httpx.Client(base_url=base, timeout=120) as own:
                    turn = n
                    while time.monotonic() < stop:
                        for ms, status in converse(own, scripts[turn % len(scripts)]):
                            with lock:
                                samples.append(ms)
                                failures[0] += status != 200
                        turn += 1

            started = time.monotonic()
            threads = [threading.Thread(target=loop, args=(n,)) for n in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        print(
            f"  turns {len(samples)} in {elapsed:.0f} s: {len(samples) / elapsed:.1f} turns/s, "
            f"{failures[0]} not 200; p50 {statistics.median(samples):.0f} ms, p95 {_percentile(samples, 0.95):.0f} "
            f"ms, p99 {_percentile(samples, 0.99):.0f} ms   ({_load()} at end)"
        )


def run(rounds: int = 4, clients: int = 8, seconds: float = 60, workers: int = 2) -> None:
    one_client(rounds)
    throughput(clients, seconds, workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="Conversations of each kind for the one client.")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    one_client(args.rounds)
    if not args.skip_throughput:
        throughput(args.clients, args.seconds, args.workers)


if __name__ == "__main__":
    main()
