"""The ``VectorIndex`` seam: nearest-neighbour search over document vectors, in the catalog's own database.

A backend is the search side of one database: the vector table it creates and owns, and the lexical (full-text)
index that the store's migration set up next to ``retrieval_documents``. Every search takes a ``where`` clause
over ``retrieval_documents`` (kind, product ids, price, availability, options): filters always run in the
database, joined to the index, never in Python after the fact.

Distances are cosine distances (0 = same direction, 2 = opposite). ``exact=True`` asks for a brute-force scan,
the ground truth an approximate index is measured against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Connection, select

from shopkeep.retrieval import schema as rs

Vector = npt.NDArray[np.float32]
KINDS = ("product", "variant", "kb")


@dataclass(frozen=True)
class IndexHit:
    """A document and how close it is: cosine distance for vector hits, the engine's relevance for text hits."""

    doc_id: int
    score: float


class VectorIndex(Protocol):
    """Vectors and full text of the search documents in one database."""

    name: str

    def ensure(self, conn: Connection, dimensions: int, *, reset: bool = False) -> None:
        """Create the vector table and indexes if missing (``reset`` drops them first: a new embedder)."""
        ...

    def upsert(self, conn: Connection, rows: Sequence[tuple[int, str, Vector]]) -> None:
        """Store (doc_id, kind, vector) rows, replacing any vector a doc_id had."""
        ...

    def delete(self, conn: Connection, doc_ids: Sequence[int]) -> None: ...

    def analyze(self, conn: Connection) -> None:
        """Refresh the query planner's statistics after the documents changed (without them a planner cannot tell
        a filter on one product type from one on half the catalog, and may pick a plan 30 times slower)."""
        ...

    def search(
        self,
        conn: Connection,
        vector: Vector,
        *,
        kind: str,
        where: ColumnElement[bool],
        k: int,
        exact: bool = False,
    ) -> list[IndexHit]:
        """The ``k`` nearest documents of ``kind`` satisfying ``where``, nearest first (score = distance)."""
        ...

    def text_search(
        self, conn: Connection, terms: Sequence[str], *, where: ColumnElement[bool], k: int
    ) -> list[IndexHit]:
        """Full-text search for any of ``terms``, best first (score: higher is better)."""
        ...


def check_kind(kind: str) -> str:
    """Kinds are inlined into SQL (partial indexes and partitions need literals): only known ones pass."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    return kind


def few_allowed(conn: Connection, allowed: ColumnElement[bool], most: int) -> list[int] | None:
    """The ids of the documents ``allowed`` keeps when there are at most ``most`` of them, else None: a selective
    filter is ranked fastest by scanning exactly what it allows, which a capped read of its ids finds out cheaply."""
    d = rs.documents
    ids = list(conn.scalars(select(d.c.doc_id).where(allowed).limit(most + 1)))
    return ids if len(ids) <= most else None
