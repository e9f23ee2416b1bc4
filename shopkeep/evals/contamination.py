"""Contamination of the knowledge eval: questions that are near copies of an indexed ``asked:`` line.

Help pages carry ``<!-- asked: ... -->`` lines, each indexed as a document that leads to its section; a labelled
question that is (nearly) one of them measures recall of a string the index already holds, not retrieval. A
question *overlaps* when the cosine similarity of its embedding with an ``asked:`` line's is at least
``THRESHOLD`` (the offline MiniLM embedder, as search uses it), or when their normalized words are the same.

The retrieval eval reports its knowledge figures with and without the overlapping questions; the accepted ones are
listed in ``evals/retrieval/asked_overlap.txt`` and a test fails when another question starts overlapping (a new
``asked:`` line copied from the eval, or a new eval question copied from a page).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shopkeep.retrieval.embedders.base import Embedder
from shopkeep.retrieval.knowledge import load_knowledge_base
from shopkeep.settings import PROJECT_ROOT

THRESHOLD = 0.9
ACCEPTED = PROJECT_ROOT / "evals" / "retrieval" / "asked_overlap.txt"
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Overlap:
    question_id: str
    question: str
    asked: str
    """The closest ``asked:`` line."""
    page: str
    similarity: float


def asked_lines(kb_dir: Path) -> list[tuple[str, str]]:
    """Every ``asked:`` line of the help pages, as (page, line)."""
    return [(chunk.source, line) for chunk in load_knowledge_base(kb_dir) for line in chunk.asked]


def _words(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


def closest_asked(
    questions: Sequence[tuple[str, str]], asked: Sequence[tuple[str, str]], embedder: Embedder
) -> list[Overlap]:
    """For every (id, question): its closest ``asked:`` line and their cosine similarity (1.0 for the same words)."""
    if not questions or not asked:
        return []
    q = np.asarray(embedder.embed_documents([text for _, text in questions]), dtype=np.float64)
    a = np.asarray(embedder.embed_documents([line for _, line in asked]), dtype=np.float64)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    similarity = q @ a.T
    same_words = {_words(line): n for n, (_, line) in enumerate(asked)}
    found = []
    for row, (question_id, text) in enumerate(questions):
        best = same_words.get(_words(text))
        score = 1.0 if best is not None else float(similarity[row].max())
        best = best if best is not None else int(similarity[row].argmax())
        found.append(Overlap(question_id, text, asked[best][1], asked[best][0], score))
    return found


def overlapping(
    questions: Sequence[tuple[str, str]], kb_dir: Path, embedder: Embedder, threshold: float = THRESHOLD
) -> list[Overlap]:
    """The questions within ``threshold`` of an ``asked:`` line, most similar first."""
    closest = closest_asked(questions, asked_lines(kb_dir), embedder)
    return sorted((o for o in closest if o.similarity >= threshold), key=lambda o: -o.similarity)


def accepted_overlap(path: Path = ACCEPTED) -> set[str]:
    """The question ids known to overlap (one per line; ``#`` starts a comment)."""
    if not path.is_file():
        return set()
    return {line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()} - {""}
