"""Turn latency through the HTTP API (in-process ASGI client), local brain, SQLite: p50/p95 per turn, and the cost
of the input rails per turn (the output rails need a conversation's facts: ``bench/output_rails.py``).

The scripts are order and account conversations (identity, lookups, proposals, confirmations, small talk); catalog
and knowledge turns are measured by the retrieval benchmark. The NLU is warmed up before timing.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from bench._util import percentiles, time_ms
from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.api.app import create_app
from shopkeep.guardrails.rails import INPUT_RAILS, run_rails
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings, get_settings
from shopkeep.store import open_store
from shopkeep.store.seed import demo_db_path, read_tau2_db, seed

SCRIPTS = [
    [
        "Hi there",
        "I want to cancel order #W2417020",
        "emma.smith3991@example.com",
        "ordered by mistake",
        "yes",
        "thanks",
    ],
    ["where is my order #W5605613?", "I'm Emma Smith, zip 10192", "thanks, bye"],
    [
        "I'd like to return the digital camera I received, refund to my gift card",
        "my email is emma.smith3991@example.com",
        "no",
        "what are my orders?",
    ],
    [
        "hello",
        "what can you do?",
        "change my default address to 10 Oak Street, Apt 5, Boston, MA 02110",
        "Emma Smith 10192",
        "yes",
    ],
]
REPEATS = 3


def run(console: Console) -> None:
    base = get_settings()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp), data_dir=base.data_dir)
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        seed(store, read_tau2_db(demo_db_path(settings.data_dir)))
        nlu = NLU.load(base)
        nlu.warm_up()
        samples: list[float] = []
        with open_checkpointer(f"sqlite:///{Path(tmp) / 'checkpoints.db'}") as checkpointer:
            service = build_service(settings, store, checkpointer, nlu=nlu)
            with TestClient(create_app(settings, store, service=service)) as client:
                for _ in range(REPEATS):
                    for script in SCRIPTS:
                        conversation = client.post("/v1/conversations").json()["id"]
                        for text in script:
                            started = time.perf_counter()
                            response = client.post(f"/v1/conversations/{conversation}/messages", json={"text": text})
                            samples.append((time.perf_counter() - started) * 1000)
                            response.raise_for_status()
        store.close()
    p50, p95 = percentiles(samples)
    table = Table(title="Turn latency through the API (local brain, SQLite), ms")
    table.add_column("turns", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    table.add_row(str(len(samples)), f"{p50:.1f}", f"{p95:.1f}")
    console.print(table)

    message = "Hi, I'd like to return the kettle from order #W2417020 and pay with 4242 4242 4242 4242 " * 3
    rails = Table(title="Guardrail cost per turn, ms")
    rails.add_column("rails")
    rails.add_column("p50", justify="right")
    rails.add_column("p95", justify="right")
    cost = percentiles(time_ms(lambda: run_rails(INPUT_RAILS, message), 2000))
    rails.add_row("input", f"{cost[0]:.3f}", f"{cost[1]:.3f}")
    console.print(rails)
