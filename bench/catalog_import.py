"""Bringing your own shop: import rate of a generated 100,000-product Google Merchant Center feed, the import's peak
memory, and the time until the new catalog gives its first answer.

Method. A deterministic generator writes a Merchant TSV feed (``SHOPKEEP_BENCH_IMPORT_PRODUCTS`` products, 100,000
by default; one to three items per product, grouped by ``item_group_id``, with colours, sizes, materials, sale prices
and stock). A child process runs ``shopkeep init`` and ``import_catalog`` into a fresh SQLite store, then indexes the
catalog and asks its first question; the parent reads the child's peak resident memory (``RUSAGE_CHILDREN``), so the
figure is the import's own. Rows per second are feed rows (items) over reading + writing, the one transaction
included.

Embedding is not in the indexing figure: MiniLM writes about 50 product documents a second on two cores (the retrieval
benchmark measures it), which for a catalog this size is hours, not minutes. Documents take a stand-in vector from
their text's hash here, and the model's own share is printed as an estimate: the catalog's documents over the rate
measured on a sample of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

PRODUCTS = 100_000
SAMPLE = 256
KINDS = {
    "Shirts": ("Apparel > Tops > Shirts", ("Linen", "Oxford", "Flannel", "Chambray")),
    "Socks": ("Apparel > Socks", ("Merino", "Hiking", "Cotton", "Trail")),
    "Rain Jackets": ("Apparel > Outerwear > Rain Jackets", ("Squall", "Storm", "Coastal", "Packable")),
    "Mugs": ("Kitchen > Drinkware > Mugs", ("Enamel", "Stoneware", "Camp", "Travel")),
    "Lanterns": ("Outdoor > Lighting > Lanterns", ("Storm", "LED", "Solar", "Hurricane")),
    "Blankets": ("Home > Bedding > Blankets", ("Wool", "Beach", "Picnic", "Fleece")),
    "Backpacks": ("Outdoor > Bags > Backpacks", ("Daypack", "Rolltop", "Trail", "Commuter")),
    "Candles": ("Home > Decor > Candles", ("Soy", "Beeswax", "Driftwood", "Cedar")),
    "Knives": ("Outdoor > Tools > Knives", ("Folding", "Pocket", "Bushcraft", "Fillet")),
    "Bottles": ("Kitchen > Drinkware > Bottles", ("Insulated", "Steel", "Glass", "Trail")),
}
COLORS = ("Navy", "Sand", "Moss", "Rust", "Charcoal", "Driftwood", "Tidepool Blue", "Heather Grey")
SIZES = ("XS", "S", "M", "L", "XL")
MATERIALS = ("Cotton", "Wool", "Recycled nylon", "Steel", "Linen")
HEADER = (
    "id\titem_group_id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tsale_price\tbrand\t"
    "product_type\tcolor\tsize\tmaterial"
)


def write_feed(path: Path, products: int, seed: int = 7) -> int:
    """A Merchant TSV feed of ``products`` products; returns its row (item) count."""
    rng = random.Random(seed)
    kinds = list(KINDS.items())
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER + "\n")
        for n in range(products):
            kind, (category, words) = kinds[n % len(kinds)]
            noun = kind.rstrip("s") if kind != "Knives" else "Knife"
            name = f"{rng.choice(words)} {noun} {n:06d}"
            material = rng.choice(MATERIALS)
            base = rng.randint(900, 19900) / 100
            for color in rng.sample(COLORS, rng.randint(1, 3)):
                size = rng.choice(SIZES)
                sale = f"{base * 0.8:.2f} USD" if rng.random() < 0.15 else ""
                stock = "in_stock" if rng.random() < 0.8 else "out_of_stock"
                out.write(
                    f"SKU-{n:06d}-{rows:07d}\tgroup-{n:06d}\t{name} - {color} / {size}\t"
                    f"A {material.lower()} {noun.lower()} for the coast, number {n}.\t"
                    f"https://shop.example.com/p/{n}\thttps://cdn.example.com/p/{n}.jpg\t{stock}\t{base:.2f} USD\t"
                    f"{sale}\tHarbor & Pine\t{category}\t{color}\t{size}\t{material}\n"
                )
                rows += 1
    return rows


class _Hashed:
    """A stand-in embedder (see the module doc): a 384-dimension vector from each text's hash."""

    name, dimensions = "bench:hashed-384", 384

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = []
        for text in texts:
            digest = hashlib.sha256(text.encode()).digest() * 12
            vectors.append([(b - 127.5) / 127.5 for b in digest[: self.dimensions]])
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _child(feed: str, url: str) -> None:
    """Runs in its own process: init, import, index, first answer; prints the timings as JSON."""
    from shopkeep.domain.shop import ShopProfile
    from shopkeep.llm.local.entities import EntityExtractor
    from shopkeep.llm.local.vocabulary import StoreLexicon
    from shopkeep.retrieval.search import CatalogSearch
    from shopkeep.shop.catalog import import_catalog
    from shopkeep.shop.setup import default_policy, init_shop
    from shopkeep.store import open_store

    started = time.perf_counter()
    store = open_store(url)
    init_shop(store, ShopProfile(name="Bench Outfitters", policy=default_policy("Bench Outfitters")))
    result = import_catalog(store, [Path(feed)], fmt="merchant")
    imported = time.perf_counter()
    search = CatalogSearch(store, _Hashed())
    report = search.index_documents()
    indexed = time.perf_counter()
    hits = search.search("navy linen shirt in size M under $60").hits
    answered = time.perf_counter()
    second = time.perf_counter()
    search.search("insulated bottle in moss")
    nexted = time.perf_counter()
    # the local brain reads the same catalog's words (the model itself loads once per process, whatever the shop)
    lexicon = StoreLexicon(store).current()
    learned = time.perf_counter()
    read = EntityExtractor(lexicon).extract("is the navy linen shirt in size M in stock?")
    understood = time.perf_counter()
    print(
        json.dumps(
            {
                "rows": result.rows,
                "products": result.changes.products_added,
                "variants": result.changes.variants_added,
                "read_s": result.read_seconds,
                "write_s": result.write_seconds,
                "import_s": imported - started,
                "documents": report.documents,
                "index_s": indexed - imported,
                "first_answer_s": answered - indexed,
                "next_answer_s": nexted - second,
                "lexicon_s": learned - nexted,
                "extractor_s": understood - learned,
                "lexicon_phrases": len(lexicon.product_phrases) + len(lexicon.option_phrases),
                "entities": [e.type for e in read],
                "hits": len(hits),
                "peak_rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )
    store.close()


def _model_rate(feed: Path) -> float:
    """Documents per second the local model embeds, on product documents of this catalog."""
    from shopkeep.retrieval.embedders import LocalEmbedder
    from shopkeep.retrieval.indexer import catalog_documents
    from shopkeep.shop.catalog import read_catalog_file

    _, read = read_catalog_file(feed, "merchant", currency="USD")
    from shopkeep.domain import Product, Variant

    products = [
        Product(
            name=entry.name,
            product_id=str(n),
            product_type=entry.product_type,
            brand=entry.brand,
            description=entry.description,
            variants={
                f"{n}-{m}": Variant(item_id=f"{n}-{m}", options=v.options, price=v.price, available=v.available)
                for m, v in enumerate(entry.variants)
            },
        )
        for n, entry in enumerate(read.products[: SAMPLE // 2])
    ]
    texts = [doc.body for doc in catalog_documents(products)][:SAMPLE]
    model = LocalEmbedder()
    model.embed_documents(texts[:8])  # load the model first
    started = time.perf_counter()
    model.embed_documents(texts)
    return len(texts) / (time.perf_counter() - started)


def run(console: Console, products: int = PRODUCTS) -> None:
    console.rule(f"[bold]Bring your own shop: importing a {products:,}-product Merchant feed")
    with tempfile.TemporaryDirectory(prefix="shopkeep-bench-import-") as workdir:
        feed = Path(workdir) / "feed.tsv"
        started = time.perf_counter()
        rows = write_feed(feed, products)
        console.print(
            f"generated {feed.stat().st_size / 2**20:.0f} MB, {rows:,} rows in {time.perf_counter() - started:.1f}s"
        )
        url = f"sqlite:///{Path(workdir) / 'shop.db'}"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        child = subprocess.run(
            [sys.executable, "-m", "bench.catalog_import", str(feed), url],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        if child.returncode != 0:
            console.print(f"[red]the import failed:[/red] {child.stderr[-2000:]}")
            return
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
        rate = _model_rate(feed)
    table = Table(title="Import (SQLite, one transaction) and the first answer", title_justify="left")
    for column in ("figure", "value"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    read_write = figures["read_s"] + figures["write_s"]
    table.add_row(
        "feed rows (items) / products / variants",
        f"{figures['rows']:,} / {figures['products']:,} / {figures['variants']:,}",
    )
    table.add_row("read + validate", f"{figures['read_s']:.1f} s")
    table.add_row("write (one transaction)", f"{figures['write_s']:.1f} s")
    table.add_row("import rate", f"{figures['rows'] / read_write:,.0f} rows/s")
    table.add_row("peak memory (the process that imports, indexes, answers)", f"{peak_mb:,.0f} MB")
    table.add_row(
        "index (documents, full text, vectors; no model)", f"{figures['documents']:,} docs, {figures['index_s']:.1f} s"
    )
    table.add_row(
        "first answer (vocabulary load + search)",
        f"{figures['first_answer_s'] * 1000:,.0f} ms ({figures['hits']} hits)",
    )
    table.add_row("next answer", f"{figures['next_answer_s'] * 1000:,.0f} ms")
    table.add_row(
        "the local brain's vocabulary, read from the store",
        f"{figures['lexicon_phrases']:,} phrases, {figures['lexicon_s']:.1f} s",
    )
    table.add_row(
        "its entity extractor (English word lists: once per process)",
        f"{figures['extractor_s']:.1f} s (read {', '.join(figures['entities'])})",
    )
    until = figures["import_s"] + figures["index_s"] + figures["first_answer_s"] + figures["lexicon_s"]
    table.add_row("time until the first answer (search and the local brain's words; model aside)", f"{until:.1f} s")
    embed = figures["documents"] / rate
    table.add_row(
        "the local model's share, estimated",
        f"{figures['documents']:,} docs at {rate:.0f} docs/s = {embed / 60:.0f} min",
    )
    console.print(table)


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
