"""``shopkeep catalog import`` and ``shopkeep catalog export``: a shop's own catalog in and out of the store."""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shopkeep.cli._common import StoreOption, console, fail, open_cli_store
from shopkeep.cli.retrieval_cmds import open_search, run_index
from shopkeep.errors import ShopDataError

if TYPE_CHECKING:
    from rich.progress import Progress

    from shopkeep.shop.catalog import CatalogImport
    from shopkeep.shop.formats import Progress as ReadProgress

catalog_app = typer.Typer(help="Bring a shop's own catalog into the store, or write it out.", no_args_is_help=True)

LARGE_FILE = 1 << 20
"""Files from this size up get a progress bar while they are read (smaller ones are read in a blink)."""


@catalog_app.command("import")
def import_command(
    files: Annotated[list[Path], typer.Argument(help="Catalog files: Shopify CSV, Merchant TSV/XML, JSON Lines.")],
    fmt: Annotated[
        str, typer.Option("--format", help="The files' format: auto, shopify, merchant or jsonl (auto: detect).")
    ] = "auto",
    replace: Annotated[
        bool, typer.Option("--replace", help="Remove the products the files do not contain (ordered items stay).")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Import products: new ones are added, known ones (by id/handle, then SKU or options) updated, in one
    transaction; then the catalog is indexed for search. Any invalid row fails the whole import (exit code 1)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from shopkeep.shop.catalog import FORMAT_CHOICES, import_catalog

    for path in files:
        if not path.is_file():
            raise fail(f"no such file: {path}", code=1)
    if fmt not in FORMAT_CHOICES:
        raise fail(f"unknown format {fmt!r}: use {', '.join(FORMAT_CHOICES)}", code=1)
    target = open_cli_store(store)
    try:
        with ExitStack() as stack:
            bars: Progress | None = None
            if sum(path.stat().st_size for path in files) >= LARGE_FILE:
                columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn())
                bars = stack.enter_context(Progress(*columns, console=console, transient=True))

            def reading(shown: str) -> ReadProgress | None:
                if bars is None:
                    return None
                task = bars.add_task(f"reading {shown}", total=None)
                return lambda done, total: bars.update(task, completed=done, total=total)

            result = import_catalog(target, files, fmt=fmt, replace=replace, progress=reading)
        _print_summary(result)
        run_index(open_search(target))
    except ShopDataError as exc:
        raise fail(f"{exc.message}. Nothing was imported.", code=1) from None
    finally:
        target.close()


def _print_summary(result: CatalogImport) -> None:
    c = result.changes
    for read in result.files:
        console.print(f"read {read.shown} ({read.format}): {read.rows} rows, {read.products} products")
    console.print(
        f"products: +{c.products_added} added, ~{c.products_updated} updated, {c.products_unchanged} unchanged, "
        f"-{c.products_removed} removed, {len(result.skipped)} skipped"
    )
    kept = f", {c.variants_kept_unavailable} kept unavailable (ordered before)" if c.variants_kept_unavailable else ""
    console.print(
        f"variants: +{c.variants_added} added, ~{c.variants_updated} updated, -{c.variants_removed} removed{kept}"
    )
    for reason, count in Counter(skip.reason for skip in result.skipped).most_common():
        examples = [s.source_id for s in result.skipped if s.reason == reason][:3]
        more = ", ..." if count > len(examples) else ""
        console.print(f"skipped {count}: {reason} ({', '.join(examples)}{more})")
    rate = result.rows / result.read_seconds if result.read_seconds else 0.0
    console.print(
        f"read {result.rows} rows in {result.read_seconds:.1f}s ({rate:,.0f} rows/s), "
        f"written in one transaction in {result.write_seconds:.1f}s"
    )


@catalog_app.command("export")
def export_command(
    file: Annotated[Path | None, typer.Argument(help="Where to write (default: standard output).")] = None,
    store: StoreOption = None,
) -> None:
    """Write the whole catalog as Shopkeep product JSON Lines (what `catalog import` reads back, ids included)."""
    from shopkeep.shop.formats.jsonl import write_product_lines

    source = open_cli_store(store)
    try:
        with source.session() as session:
            products = session.list_products()
    finally:
        source.close()
    if file is None or str(file) == "-":
        count = write_product_lines(products, sys.stdout)
    else:
        with file.open("w", encoding="utf-8") as out:
            count = write_product_lines(products, out)
        console.print(f"exported {count} products to {file}")
