"""The retrieval eval: catalog search and knowledge search scored on labelled sets, per backend and query kind.

Data (``evals/retrieval/``):

- ``products.jsonl``: ``{"id", "query", "kind", "judgments": [{"product_id", "item_ids", "grade"}]}``. ``grade`` is
  3 (exactly what was asked), 2 (a good alternative) or 1 (related). ``item_ids`` null means any variant of the
  product (or the product itself) is relevant; a list means only those variants are.
- ``knowledge.jsonl``: ``{"id", "question", "source", "section"}``: the page and section that answer it.

Relevance of a hit (the search's top 10):

- A hit is credited to the judgment of its product, if the query has one. Its gain is the judgment's grade when
  ``item_ids`` is null, or when the hit is a variant listed in ``item_ids``. A variant not listed gains 0 (the
  wrong item). A product-level hit for a judgment that lists items gains grade - 1: the right product, but the
  customer still has to find the item.
- Each judgment is credited once, at its first hit with a positive gain; later hits of the same product gain 0
  (so listing many variants of one product neither helps nor, except by pushing others down, hurts).
- A knowledge passage is relevant (gain 1) when its source and section are the judgment's.

Metrics, averaged over queries: recall@k = share of a query's judgments credited within the top k; nDCG@10 =
DCG / ideal DCG with linear gains and a log2(rank + 1) discount, the ideal ranking being the judgments' grades in
descending order; MRR = 1 / rank of the first hit with a positive gain (0 when none is in the top 10).
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopkeep.retrieval.embedders.base import Embedder
from shopkeep.settings import PROJECT_ROOT, Settings

EVAL_DIR = PROJECT_ROOT / "evals" / "retrieval"
BACKENDS = ("sqlite", "pgvector")
DEFAULT_PGVECTOR_URL = "postgresql+psycopg://postgres@127.0.0.1:5433/test"
K = 10


@dataclass(frozen=True)
class Judgment:
    product_id: str
    item_ids: frozenset[str] | None
    grade: int


@dataclass(frozen=True)
class ProductCase:
    id: str
    query: str
    kind: str
    judgments: tuple[Judgment, ...]


@dataclass(frozen=True)
class KnowledgeCase:
    id: str
    question: str
    source: str
    section: str


@dataclass(frozen=True)
class Hit:
    """What the metrics need of a catalog hit."""

    product_id: str
    item_id: str | None


@dataclass(frozen=True)
class Scores:
    recall_5: float
    recall_10: float
    ndcg_10: float
    mrr: float


def load_product_cases(path: Path = EVAL_DIR / "products.jsonl") -> list[ProductCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            judgments = tuple(
                Judgment(j["product_id"], None if j["item_ids"] is None else frozenset(j["item_ids"]), int(j["grade"]))
                for j in raw["judgments"]
            )
            cases.append(ProductCase(raw["id"], raw["query"], raw.get("kind", "other"), judgments))
    return cases


def load_knowledge_cases(path: Path = EVAL_DIR / "knowledge.jsonl") -> list[KnowledgeCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            cases.append(KnowledgeCase(raw["id"], raw["question"], raw["source"], raw["section"]))
    return cases


def _gain(hit: Hit, judgment: Judgment) -> int:
    if hit.product_id != judgment.product_id:
        return 0
    if judgment.item_ids is None:
        return judgment.grade
    if hit.item_id is None:
        return judgment.grade - 1
    return judgment.grade if hit.item_id in judgment.item_ids else 0


def score_ranking(gains_by_rank: Sequence[tuple[int, int | None]], ideal: Sequence[int], total: int) -> Scores:
    """Metrics from (gain, credited judgment index or None) per rank, the ideal gains and the number of judgments."""
    top = list(gains_by_rank[:K])
    dcg = sum(gain / math.log2(rank + 2) for rank, (gain, _) in enumerate(top))
    best = sorted(ideal, reverse=True)[:K]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(best))

    def recall(k: int) -> float:
        found = {judgment for _, judgment in top[:k] if judgment is not None}
        return len(found) / total if total else 0.0

    first = next((rank for rank, (gain, _) in enumerate(top) if gain > 0), None)
    return Scores(
        recall_5=recall(5),
        recall_10=recall(10),
        ndcg_10=dcg / idcg if idcg else 0.0,
        mrr=0.0 if first is None else 1.0 / (first + 1),
    )


def score_products(hits: Sequence[Hit], judgments: Sequence[Judgment]) -> Scores:
    """The metrics of one catalog query (see the module docstring for what counts)."""
    credited: set[int] = set()
    gains: list[tuple[int, int | None]] = []
    for hit in hits[:K]:
        gain, judged = 0, None
        for index, judgment in enumerate(judgments):
            value = _gain(hit, judgment)
            if value > 0 and index not in credited:
                gain, judged = value, index
                credited.add(index)
                break
        gains.append((gain, judged))
    return score_ranking(gains, [j.grade for j in judgments], len(judgments))


def score_knowledge(passages: Sequence[tuple[str, str | None]], case: KnowledgeCase) -> Scores:
    """The metrics of one knowledge question: ``passages`` are (source, section), best first."""
    gains: list[tuple[int, int | None]] = []
    found = False
    for source, section in passages[:K]:
        relevant = not found and source == case.source and section == case.section
        found = found or relevant
        gains.append((1, 0) if relevant else (0, None))
    return score_ranking(gains, [1], 1)


def summarize(scored: Sequence[tuple[str, Scores]]) -> dict[str, Any]:
    """Mean metrics overall and per kind: {"overall": {...}, "by_kind": {kind: {...}}}."""

    def mean(items: Sequence[Scores]) -> dict[str, float]:
        n = len(items)
        return {
            "queries": n,
            "recall@5": sum(s.recall_5 for s in items) / n if n else 0.0,
            "recall@10": sum(s.recall_10 for s in items) / n if n else 0.0,
            "ndcg@10": sum(s.ndcg_10 for s in items) / n if n else 0.0,
            "mrr": sum(s.mrr for s in items) / n if n else 0.0,
        }

    kinds: dict[str, list[Scores]] = {}
    for kind, scores in scored:
        kinds.setdefault(kind, []).append(scores)
    return {
        "overall": mean([s for _, s in scored]),
        "by_kind": {kind: mean(items) for kind, items in sorted(kinds.items())},
    }


class _MemoEmbedder:
    """One embedding per distinct text for the whole eval run, whichever backend asks (the model is the same)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions
        self._memo: dict[str, list[float]] = {}

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            self._memo.update(zip(missing, self.inner.embed_documents(missing), strict=True))
        return [self._memo[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        if text not in self._memo:
            self._memo[text] = self.inner.embed_query(text)
        return self._memo[text]


@contextmanager
def _scratch_store(backend: str, pgvector_url: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="shopkeep-eval-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'eval.db'}"
        return
    from shopkeep.store.postgres import scratch_database

    with scratch_database(pgvector_url, "shopkeep_eval") as url:
        yield url


def _detail(case_id: str, labelled_set: str, kind: str, query: str, scores: Scores) -> dict[str, Any]:
    return {
        "id": case_id,
        "set": labelled_set,
        "kind": kind,
        "query": query,
        "recall@5": scores.recall_5,
        "recall@10": scores.recall_10,
        "ndcg@10": scores.ndcg_10,
        "mrr": scores.mrr,
    }


def evaluate_search(
    search: Any,
    products: Sequence[ProductCase],
    knowledge: Sequence[KnowledgeCase],
    overlap: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Run every case through a ``CatalogSearch`` and summarize; per-query scores are kept for inspection.
    ``overlap``: knowledge questions that near-copy an indexed ``asked:`` line (``contamination``), summarized
    apart as ``knowledge_without_overlap``."""
    product_scores: list[tuple[str, Scores]] = []
    details: list[dict[str, Any]] = []
    for case in products:
        results = search.search(case.query, limit=K)
        hits = [Hit(h.product_id, h.item_id) for h in results.hits]
        scores = score_products(hits, case.judgments)
        product_scores.append((case.kind, scores))
        details.append(_detail(case.id, "products", case.kind, case.query, scores))
    knowledge_scores: list[tuple[str, Scores]] = []
    for kcase in knowledge:
        passages = search.search_knowledge(kcase.question, limit=K)
        scores = score_knowledge([(p.source, p.section) for p in passages], kcase)
        knowledge_scores.append(("knowledge", scores))
        details.append(
            {**_detail(kcase.id, "knowledge", "knowledge", kcase.question, scores), "overlap": kcase.id in overlap}
        )
    clean = [pair for pair, k in zip(knowledge_scores, knowledge, strict=True) if k.id not in overlap]
    return {
        "products": summarize(product_scores),
        "knowledge": summarize(knowledge_scores),
        "knowledge_without_overlap": summarize(clean),
        "queries": details,
    }


def run_retrieval_eval(
    settings: Settings,
    backends: Sequence[str],
    *,
    pgvector_url: str | None = None,
    log: Callable[[str], object] = print,
    products: Path = EVAL_DIR / "products.jsonl",
    knowledge: Path = EVAL_DIR / "knowledge.jsonl",
) -> dict[str, Any]:
    """Seed the demo store on each backend, index it, and score both labelled sets there."""
    from shopkeep.evals.contamination import THRESHOLD, overlapping
    from shopkeep.retrieval.embedders import get_embedder
    from shopkeep.retrieval.search import CatalogSearch
    from shopkeep.store import open_store
    from shopkeep.store.seed import demo_db_path, read_tau2_db, seed

    product_cases, knowledge_cases = load_product_cases(products), load_knowledge_cases(knowledge)
    data = read_tau2_db(demo_db_path(settings.data_dir))
    embedder = _MemoEmbedder(get_embedder(settings))
    report: dict[str, Any] = {"embedder": embedder.name, "backends": {}, "errors": {}, "notes": []}
    overlap = frozenset(
        o.question_id
        for o in overlapping([(k.id, k.question) for k in knowledge_cases], settings.data_dir / "kb", embedder)
    )
    report["overlap"] = {"threshold": THRESHOLD, "questions": sorted(overlap)}
    url = pgvector_url or DEFAULT_PGVECTOR_URL
    for backend in backends:
        log(f"[dim]{backend}: seeding and indexing the demo store...[/dim]")
        try:
            with _scratch_store(backend, url) as store_url:
                store = open_store(store_url)
                try:
                    seed(store, data)
                    search = CatalogSearch(store, embedder, kb_dir=settings.data_dir / "kb")
                    search.index_documents()
                    log(f"[dim]{backend}: {len(product_cases)} catalog queries, {len(knowledge_cases)} questions[/dim]")
                    result = evaluate_search(search, product_cases, knowledge_cases, overlap)
                finally:
                    store.close()
        except Exception as exc:  # one backend's failure (a server that is down) must not hide the others' scores
            report["errors"][backend] = f"{type(exc).__name__}: {exc}"
            continue
        report["backends"][backend] = {
            "products": result["products"],
            "knowledge": result["knowledge"],
            "knowledge_without_overlap": result["knowledge_without_overlap"],
        }
    report["notes"].append(
        f"{len(product_cases)} catalog queries, {len(knowledge_cases)} knowledge questions; embedder {embedder.name}; "
        "relevance as defined in shopkeep/evals/retrieval.py"
    )
    report["notes"].append(
        f"knowledge_without_overlap leaves out {len(overlap)} questions within cosine {THRESHOLD} of an indexed "
        "`asked:` line of the help pages (near copies: they measure recall of a string the index holds)"
    )
    return report
