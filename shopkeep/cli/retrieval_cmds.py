"""``shopkeep index``, ``shopkeep search``, ``shopkeep ask`` and ``shopkeep eval retrieval``.

The embedding model (and torch) load only when a command needs them, not when the CLI starts.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shopkeep.cli._common import StoreOption, console, fail, open_cli_store, print_json
from shopkeep.domain.money import format_money
from shopkeep.errors import RetrievalError, ShopkeepError
from shopkeep.settings import get_settings

if TYPE_CHECKING:
    from shopkeep.retrieval.indexer import IndexReport
    from shopkeep.retrieval.search import CatalogSearch
    from shopkeep.store import SqlCommerceStore


def open_search(store: SqlCommerceStore) -> CatalogSearch:
    """The configured catalog search over an opened store; configuration problems end the command clearly."""
    from shopkeep.retrieval.search import CatalogSearch

    try:
        return CatalogSearch.from_settings(store, get_settings())
    except (RetrievalError, ImportError) as exc:
        raise fail(_explain(exc)) from exc


def _explain(exc: BaseException) -> str:
    if isinstance(exc, RetrievalError) and exc.install:
        return f"{exc.message} - {exc.install}"
    return exc.message if isinstance(exc, ShopkeepError) else str(exc)


def run_index(search: CatalogSearch, *, rebuild: bool = False, raise_errors: bool = False) -> IndexReport:
    """Index with a progress bar over the documents that need a vector; report what changed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task("embedding documents", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        try:
            report = search.index_documents(rebuild=rebuild, progress=advance)
        except RetrievalError as exc:
            if raise_errors:
                raise
            raise fail(_explain(exc)) from exc
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(report.kinds.items()))
    console.print(
        f"indexed {report.documents} documents ({kinds}) with {report.embedder} on {report.index}: "
        f"+{report.added} ~{report.updated} -{report.removed}, {report.vectors} vectors "
        f"({report.embedded} embedded, {report.cached} from cache) in {report.seconds:.1f}s"
    )
    return report


def index_for_search(store: SqlCommerceStore, *, check: bool = True) -> IndexReport | None:
    """Index a store for search, or say why search will not work and what to install (commerce still does).
    ``check``: also load the embedding model, so a search right after finds it ready."""
    from shopkeep.retrieval.search import CatalogSearch

    try:
        search = CatalogSearch.from_settings(store, get_settings())
        report = run_index(search, raise_errors=True)
        if check:
            search.check()  # an index built from the cache never loaded the model: make sure it loads
        return report
    except (RetrievalError, ImportError) as exc:
        console.print(f"[yellow]warning:[/yellow] search is not available: {_explain(exc)}")
        return None


def index_command(
    store: StoreOption = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop and rebuild every document and vector.")] = False,
) -> None:
    """Index the catalog and the knowledge base for search (incremental: only changed documents are re-embedded)."""
    target = open_cli_store(store, seed_if_empty=store is None)
    try:
        run_index(open_search(target), rebuild=rebuild)
    finally:
        target.close()


def _money(value: Decimal | None, currency: str) -> str:
    return "" if value is None else format_money(value, currency)


def search_command(
    query: Annotated[str, typer.Argument(help='What to look for, e.g. "clicky keyboard under $150".')],
    store: StoreOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=50, help="How many results.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """Search the catalog: ranked products or items, with why each matched."""
    from shopkeep.shop.catalog import shop_currency

    target = open_cli_store(store, seed_if_empty=store is None)
    try:
        results = open_search(target).search(query, limit=limit)
        currency = shop_currency(target)
    except ShopkeepError as exc:
        raise fail(_explain(exc)) from exc
    finally:
        target.close()
    if as_json:
        print_json(
            [
                {
                    "product_id": hit.product_id,
                    "item_id": hit.item_id,
                    "name": hit.name,
                    "options": hit.options,
                    "price": None if hit.price is None else float(hit.price),
                    "score": hit.score,
                }
                for hit in results.hits
            ]
        )
        return
    out = Console()
    out.print(f"[bold]{results.query}[/bold]  [dim]understood as: {results.understood}[/dim]")
    for rank, hit in enumerate(results.hits, start=1):
        price = _money(hit.price, currency)
        if hit.price_max is not None and hit.price_max != hit.price:
            price = f"{price} to {_money(hit.price_max, currency)}"
        what = f"item {hit.item_id}" if hit.item_id else f"product {hit.product_id}"
        options = f" ({', '.join(f'{k}: {v}' for k, v in hit.options.items())})" if hit.options else ""
        stock = "in stock" if hit.available else "out of stock"
        out.print(
            f"{rank:>2}. [bold]{hit.name}[/bold]{options}  {price}, {stock}  [dim]{what}, score {hit.score:.4f}[/dim]"
        )
        out.print(f"    [dim]why: {hit.reason}[/dim]", soft_wrap=True)
    for note in results.notes:
        out.print(f"[yellow]note:[/yellow] {note}")


def ask_command(
    question: Annotated[str, typer.Argument(help='A question, e.g. "how long do refunds take?".')],
    store: StoreOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=20, help="How many passages.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """Answer from the knowledge base: the passages that answer the question, with their source ids."""
    target = open_cli_store(store, seed_if_empty=store is None)
    try:
        passages = open_search(target).search_knowledge(question, limit=limit)
    except ShopkeepError as exc:
        raise fail(_explain(exc)) from exc
    finally:
        target.close()
    if as_json:
        print_json([{"source": p.source, "text": p.text, "score": p.score} for p in passages])
        return
    out = Console()
    for rank, passage in enumerate(passages, start=1):
        heading = f"{passage.title} - {passage.section}" if passage.section else passage.title
        out.print(f"[bold]{rank}. {heading}[/bold]  [dim](source: {passage.source}, score {passage.score:.4f})[/dim]")
        out.print(passage.text.split("\n\n", 1)[-1], soft_wrap=True)
        out.print()


def eval_retrieval_command(
    backend: Annotated[str, typer.Option("--backend", help="sqlite, pgvector or all.")] = "sqlite",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    pgvector_url: Annotated[
        str | None,
        typer.Option("--pgvector-url", help="PostgreSQL + pgvector server for the pgvector backend."),
    ] = None,
    products: Annotated[
        Path | None, typer.Option("--products", help="Catalog queries (JSONL; default evals/retrieval/products.jsonl).")
    ] = None,
    knowledge: Annotated[
        Path | None,
        typer.Option("--knowledge", help="Knowledge questions (JSONL; default evals/retrieval/knowledge.jsonl)."),
    ] = None,
) -> None:
    """Score catalog and knowledge retrieval on the labelled sets: recall@5, recall@10, nDCG@10, MRR."""
    from shopkeep.evals.retrieval import BACKENDS, EVAL_DIR, run_retrieval_eval

    wanted = list(BACKENDS) if backend == "all" else [backend]
    unknown = [name for name in wanted if name not in BACKENDS]
    if unknown:
        fail(f"unknown backend {unknown[0]!r}: use {', '.join(BACKENDS)} or all")
    sets = (products or EVAL_DIR / "products.jsonl", knowledge or EVAL_DIR / "knowledge.jsonl")
    for path in sets:
        if not path.is_file():
            fail(f"no such file: {path}")
    try:
        report = run_retrieval_eval(
            get_settings(), wanted, pgvector_url=pgvector_url, log=console.print, products=sets[0], knowledge=sets[1]
        )
    except (ShopkeepError, ValueError, KeyError) as exc:
        raise fail(_explain(exc)) from exc
    if as_json:
        print_json(report)
    else:
        _print_eval(report)
    for backend, error in report["errors"].items():
        console.print(f"[red]error:[/red] {backend} could not be evaluated: {error}")
    if report["errors"]:
        raise typer.Exit(1)


def _print_eval(report: dict[str, Any]) -> None:
    out = Console()
    table = Table(title="Retrieval eval (R@k = recall@k)", title_justify="left", padding=(0, 1))
    for name in ("backend", "set", "kind", "n", "R@5", "R@10", "nDCG@10", "MRR"):
        table.add_column(name, justify="left" if name in ("backend", "set", "kind") else "right", no_wrap=True)
    for backend, sets in report["backends"].items():
        for set_name, summary in sets.items():
            if set_name == "knowledge_without_overlap":
                continue  # printed below the table, with what it leaves out
            rows = [("all", summary["overall"]), *sorted(summary["by_kind"].items())]
            for kind, m in rows:
                table.add_row(
                    backend,
                    set_name,
                    kind,
                    str(m["queries"]),
                    f"{m['recall@5']:.3f}",
                    f"{m['recall@10']:.3f}",
                    f"{m['ndcg@10']:.3f}",
                    f"{m['mrr']:.3f}",
                )
            table.add_section()
    out.print(table)
    for backend, sets in report["backends"].items():
        clean = sets.get("knowledge_without_overlap", {}).get("overall")
        if clean:
            out.print(
                f"{backend} knowledge without questions that near-copy an asked: line ({clean['queries']}): "
                f"R@5 {clean['recall@5']:.3f}, R@10 {clean['recall@10']:.3f}, nDCG@10 {clean['ndcg@10']:.3f}, "
                f"MRR {clean['mrr']:.3f}"
            )
    for line in report.get("notes", []):
        out.print(f"[dim]{line}[/dim]")
