"""Query understanding speed: ``QueryParser`` build time and ``parse()`` p50/p95 on the labelled retrieval
queries, over the demo catalog and over a synthetic 100k-product catalog of the same product types (names repeat
with a numbering suffix, the option vocabulary is the same)."""

from __future__ import annotations

import json
import time
from functools import partial

from rich.console import Console
from rich.table import Table

from bench._util import percentiles, time_ms
from shopkeep.domain import Product
from shopkeep.retrieval.query import QueryParser
from shopkeep.settings import PROJECT_ROOT, get_settings
from shopkeep.store.seed import demo_db_path, read_tau2_db

SYNTHETIC_PRODUCTS = 100_000
REPEAT = 20


def synthetic_catalog(products: list[Product], size: int) -> list[Product]:
    """``size`` products cycling through ``products``, named "<name> <n>" with fresh product ids."""
    return [
        products[n % len(products)].model_copy(
            update={"name": f"{products[n % len(products)].name} {n // len(products) + 1}", "product_id": f"s{n}"}
        )
        for n in range(size)
    ]


def _queries() -> list[str]:
    path = PROJECT_ROOT / "evals" / "retrieval" / "products.jsonl"
    return [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(console: Console) -> None:
    demo = read_tau2_db(demo_db_path(get_settings().data_dir)).products
    queries = _queries()
    table = Table(title=f"QueryParser on {len(queries)} labelled queries (ms)")
    for column in ("catalog", "products", "build", "first parse p50", "p95", "parse p50", "p95 "):
        table.add_column(column, justify="right" if column != "catalog" else "left")
    for label, catalog in (("demo", demo), ("synthetic", synthetic_catalog(demo, SYNTHETIC_PRODUCTS))):
        started = time.perf_counter()
        parser = QueryParser(catalog)
        build_ms = (time.perf_counter() - started) * 1000
        # The first parse of a query also fills the typo cache; later ones are what a running service mostly sees.
        first = [sample for query in queries for sample in time_ms(partial(parser.parse, query), 1)]
        later = [sample for query in queries for sample in time_ms(partial(parser.parse, query), REPEAT)]
        cold, warm = percentiles(first), percentiles(later)
        table.add_row(
            label,
            f"{len(catalog):,}",
            f"{build_ms:,.0f}",
            *(f"{value:.3f}" for value in (*cold, *warm)),
        )
    console.print(table)


if __name__ == "__main__":
    run(Console(width=120))
