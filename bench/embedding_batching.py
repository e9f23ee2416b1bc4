"""Embedding micro-batching (issue 16): CLIENTS threads each embed distinct customer-sized messages one at a time, as
concurrent turns do, through the local model alone and through ``BatchingEmbedder``; messages/s and per-call
p50 / p95. One client shows what batching costs a lone caller (it should cost nothing: no batching window).

    python -m bench.embedding_batching [--clients 8] [--messages 40]
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from rich.console import Console
from rich.table import Table

from bench._util import percentiles
from shopkeep.retrieval.embedders.base import Embedder
from shopkeep.retrieval.embedders.batching import BatchingEmbedder
from shopkeep.retrieval.embedders.local import LocalEmbedder

WORDS = ["boots", "order", "refund", "cart", "wireless", "headphones", "shipping", "size", "black", "return"]


def _message(client: int, n: int) -> str:
    picked = [WORDS[(client * 7 + n * 3 + k) % len(WORDS)] for k in range(6)]
    return f"hi, message {client}-{n}: do you have {' '.join(picked)}?"


def _drive(embedder: Embedder, clients: int, messages: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        for n in range(messages):
            start = time.perf_counter()
            embedder.embed_query(_message(number, n))
            with lock:
                latencies.append((time.perf_counter() - start) * 1000)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return clients * messages / (time.perf_counter() - start), latencies


def run(console: Console, clients: int = 8, messages: int = 40) -> None:
    model = LocalEmbedder()
    model.embed_query("warm up")
    table = Table(title=f"Embedding micro-batching (load average {os.getloadavg()[0]:.1f} at start)")
    for column in ("clients", "embedder", "messages/s", "p50 ms", "p95 ms"):
        table.add_column(column)
    for count in (1, clients):
        for label, embedder in (("model alone", model), ("batched", BatchingEmbedder(model))):
            rate, latencies = _drive(embedder, count, messages)
            p50, p95 = percentiles(latencies)
            table.add_row(str(count), label, f"{rate:.0f}", f"{p50:.1f}", f"{p95:.1f}")
    console.print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--messages", type=int, default=40)
    arguments = parser.parse_args()
    run(Console(width=120), arguments.clients, arguments.messages)
