"""``make load`` / ``make soak``: locust (``bench/locustfile.py``) against ``shopkeep serve --workers N`` on a scratch
PostgreSQL database (store and checkpoints) and Redis, started here; prints throughput, latency percentiles, errors
and the workers' memory at start and end.

    python -m bench.load --users 16 --run-time 3m --workers 2
    python -m bench.load --host http://127.0.0.1:8000 ...      # an already running service instead

Locust's CSV files go to ``var/load/``. Figures depend on the machine and on what else runs on it: say so with them.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shopkeep.settings import PROJECT_ROOT
from shopkeep.store import open_store
from shopkeep.store.postgres import scratch_database
from shopkeep.store.seed import seed_demo

OUT = PROJECT_ROOT / "var" / "load"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            pending += [int(p) for p in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total / 1024


def _serve(store_url: str, workers: int, redis_url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "SHOPKEEP_STORE_URL": store_url,
        "SHOPKEEP_CHECKPOINT_URL": store_url,
        "SHOPKEEP_REDIS_URL": redis_url,
        "SHOPKEEP_LOG_LEVEL": "WARNING",
        # The load measures the service, not the per-customer limits: every simulated customer is one of a few.
        "SHOPKEEP_LIMITS__MESSAGES_PER_CUSTOMER": "0",
        "SHOPKEEP_LIMITS__TOOL_CALLS_PER_CUSTOMER": "0",
    }
    command = [sys.executable, "-m", "shopkeep.cli.main", "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(1)
    process.kill()
    raise SystemExit("the server did not become healthy in 10 minutes")


def _locust(host: str, users: int, run_time: str, prefix: Path) -> None:
    command = [
        sys.executable, "-m", "locust", "-f", str(PROJECT_ROOT / "bench" / "locustfile.py"), "--headless",
        "-u", str(users), "-r", str(max(1, users // 4)), "--run-time", run_time, "--host", host,
        "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    subprocess.run(command, check=False, cwd=PROJECT_ROOT)


def _report(prefix: Path) -> None:
    with Path(f"{prefix}_stats.csv").open(encoding="utf-8") as stats:
        rows = list(csv.DictReader(stats))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    turns = [row for row in rows if "turn" in row["Name"]]
    turn_count = sum(int(row["Request Count"]) for row in turns)
    print(
        f"requests {total['Request Count']}, failures {total['Failure Count']}, {float(total['Requests/s']):.1f} req/s"
    )
    print(f"all requests: p50 {total['50%']} ms, p95 {total['95%']} ms, p99 {total['99%']} ms")
    print(f"turns: {turn_count} in {len(turns)} kinds")
    for row in turns:
        print(
            f"  {row['Name']:<24} n={row['Request Count']:>5} "
            f"p50={row['50%']:>6} p95={row['95%']:>6} p99={row['99%']:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--run-time", default="3m")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--host", default="", help="An already running service (nothing is started then).")
    parser.add_argument("--soak", action="store_true", help="Name the output files as a soak run.")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    prefix = OUT / ("soak" if args.soak else "load")
    if args.host:
        _locust(args.host, args.users, args.run_time, prefix)
        _report(prefix)
        return
    server_url = os.environ.get("SHOPKEEP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("SHOPKEEP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    with scratch_database(server_url, "shopkeep_load") as store_url:
        store = open_store(store_url)
        seed_demo(store, PROJECT_ROOT / "data")
        store.close()
        process, url = _serve(store_url, args.workers, redis_url, OUT / "server.log")
        try:
            rss_start = _rss_mb(process.pid)
            _locust(url, args.users, args.run_time, prefix)
            rss_end = _rss_mb(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=120)  # workers finish the turns in flight
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=60)
    print(f"{args.workers} workers, {args.users} users, {args.run_time}; memory of the service {rss_start:.0f} MB "
          f"at start, {rss_end:.0f} MB at end")  # fmt: skip
    _report(prefix)


if __name__ == "__main__":
    main()
