"""``python -m bench`` (``make bench``): every benchmark, printed as tables."""

from __future__ import annotations

import os

from rich.console import Console

from bench import (
    catalog_import,
    embedding_batching,
    http_turns,
    input_rails,
    nlu,
    output_rails,
    query_parser,
    retrieval,
    tokens,
    tool_rails,
    tools,
    turns,
)


def main() -> None:
    console = Console(width=120)
    postgres_url = os.environ.get("SHOPKEEP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    tools.run(console, postgres_url)
    query_parser.run(console)
    nlu.run(console)
    embedding_batching.run(console)
    tokens.run(console)
    turns.run(console)
    http_turns.run()  # what a client sees: a real server, one client, then 2 workers under load
    output_rails.run(console)
    input_rails.run(console)
    tool_rails.run(console, os.environ.get("SHOPKEEP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    pgvector_url = os.environ.get("SHOPKEEP_BENCH_PGVECTOR_URL", "postgresql+psycopg://postgres@127.0.0.1:5433/test")
    retrieval.run(console, pgvector_url, products=int(os.environ.get("SHOPKEEP_BENCH_RETRIEVAL_PRODUCTS", "100000")))
    catalog_import.run(console, products=int(os.environ.get("SHOPKEEP_BENCH_IMPORT_PRODUCTS", "100000")))


if __name__ == "__main__":
    main()
