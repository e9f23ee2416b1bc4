"""``shopkeep index``, ``search``, ``ask``, ``seed`` (which indexes) and ``eval retrieval`` from the command line:
JSON shapes, incremental re-indexing, and clear failures (empty query, a database without pgvector)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from shopkeep.cli.main import app
from tests.cli.test_cli import isolated_var_dir

runner = CliRunner()


@pytest.fixture(autouse=True)
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from isolated_var_dir(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def indexed_url(indexed_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli-search") / "indexed.db"
    shutil.copy(indexed_sqlite_template, path)
    return f"sqlite:///{path}"


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    return " ".join(text.split())


def test_index_is_incremental(sqlite_template: Path, tmp_path: Path, indexed_sqlite_template: Path) -> None:
    path = tmp_path / "shop.db"
    shutil.copy(sqlite_template, path)
    first = invoke("index", "--store", f"sqlite:///{path}")
    assert first.exit_code == 0, first.output
    assert "indexed" in flat(first.stderr) and "+0 ~0 -0" not in flat(first.stderr)
    second = invoke("index", "--store", f"sqlite:///{path}")
    assert second.exit_code == 0, second.output
    assert "+0 ~0 -0, 0 vectors (0 embedded" in flat(second.stderr)
    rebuilt = invoke("index", "--store", f"sqlite:///{path}", "--rebuild")
    assert rebuilt.exit_code == 0 and "(0 embedded" in flat(rebuilt.stderr)


def test_search_json_is_one_list_of_hits(indexed_url: str) -> None:
    result = invoke("search", "tea kettle", "--store", indexed_url, "--json", "--limit", "3")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    assert all(set(hit) == {"product_id", "item_id", "name", "options", "price", "score"} for hit in hits)
    assert (hits[0]["name"], hits[0]["item_id"], hits[0]["options"]) == ("Tea Kettle", None, {})
    variants = json.loads(invoke("search", "cheapest tea kettle", "--store", indexed_url, "--json").stdout)
    assert variants[0]["item_id"] and variants[0]["options"] and isinstance(variants[0]["price"], float)


def test_search_prints_ranked_results_with_reasons(indexed_url: str) -> None:
    result = invoke("search", "clicky keyboard under $250", "--store", indexed_url)
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "understood as: Mechanical Keyboard; switch type: clicky; at most $249.99" in out
    assert "1. Mechanical Keyboard" in out and "why:" in out


def test_ask_json_is_one_list_of_passages(indexed_url: str) -> None:
    result = invoke("ask", "how do I return an item?", "--store", indexed_url, "--json")
    assert result.exit_code == 0, result.output
    passages = json.loads(result.stdout)
    assert passages and all(set(p) == {"source", "text", "score"} for p in passages)
    assert passages[0]["source"] == "returns"
    printed = invoke("ask", "how do I return an item?", "--store", indexed_url)
    assert "(source: returns" in flat(printed.stdout)


def test_bad_queries_fail_clearly(indexed_url: str) -> None:
    empty = invoke("search", "  ", "--store", indexed_url)
    assert empty.exit_code == 2 and "The search is empty" in flat(empty.stderr)
    long = invoke("search", "kettle " * 900, "--store", indexed_url, "--json")
    assert long.exit_code == 0 and json.loads(long.stdout)


def test_searching_a_store_never_indexed_says_what_to_run(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    shutil.copy(sqlite_template, path)
    result = invoke("search", "kettle", "--store", f"sqlite:///{path}")
    assert result.exit_code == 2
    assert "not been indexed" in flat(result.stderr) and "shopkeep index" in flat(result.stderr)


def test_seed_leaves_the_store_ready_to_search(tmp_path: Path, indexed_sqlite_template: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    seeded = invoke("seed", "--store", url)
    assert seeded.exit_code == 0, seeded.output
    assert "+50 products" in flat(seeded.stderr) and "indexed" in flat(seeded.stderr)
    again = invoke("seed", "--store", url)
    assert "+0 ~0 -0, 0 vectors" in flat(again.stderr)
    hits = json.loads(invoke("search", "power bank", "--store", url, "--json").stdout)
    assert hits[0]["name"] == "Portable Charger"


def test_a_postgres_without_pgvector_is_reported_with_what_to_install(postgres_database: str) -> None:
    result = invoke("index", "--store", postgres_database)
    assert result.exit_code == 2
    out = flat(result.stderr)
    if "no pgvector" not in out:
        pytest.skip(f"this PostgreSQL server has pgvector: {out}")
    assert "CREATE EXTENSION vector" in out
    seeded = invoke("seed", "--store", postgres_database, "--no-index")
    assert seeded.exit_code == 0, seeded.output


def test_eval_retrieval_prints_metrics_per_kind(tmp_path: Path, indexed_sqlite_template: Path) -> None:
    products = tmp_path / "products.jsonl"
    products.write_text(
        "\n".join(
            json.dumps(case)
            for case in [
                {"id": "a", "query": "tea kettle", "kind": "exact", "judgments": [
                    {"product_id": "9832717871", "item_ids": None, "grade": 3}]},
                {"id": "b", "query": "power bank", "kind": "paraphrase", "judgments": [
                    {"product_id": "6942297802", "item_ids": None, "grade": 3}]},
            ]
        )
    )  # fmt: skip
    knowledge = tmp_path / "knowledge.jsonl"
    knowledge.write_text(json.dumps({"id": "k", "question": "do you take paypal", "source": "payment-methods",
                                     "section": "Accepted payment methods"}))  # fmt: skip
    args = ["eval", "retrieval", "--backend", "sqlite", "--products", str(products), "--knowledge", str(knowledge)]
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    sqlite = report["backends"]["sqlite"]
    assert sqlite["products"]["overall"]["ndcg@10"] == pytest.approx(1.0)
    assert set(sqlite["products"]["by_kind"]) == {"exact", "paraphrase"}
    assert sqlite["knowledge"]["overall"]["queries"] == 1
    table = invoke(*args)
    assert table.exit_code == 0 and "nDCG@10" in table.stdout and "paraphrase" in table.stdout
    unknown = invoke("eval", "retrieval", "--backend", "faiss")
    assert unknown.exit_code == 2 and "unknown backend" in flat(unknown.stderr)
