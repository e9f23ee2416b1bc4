"""The confirmation parser's eval: customers' replies to proposals, labelled yes / no / unclear / other.

The set (``evals/confirmation/replies.jsonl``) was written by a helper that never read the parser or its tests (see
``evals/confirmation/HOW_WRITTEN.md``). Each row is split by a hash of its id into a ``dev`` half, the one the
parser's word lists were tuned on, and a ``held_out`` half, read only for its figures. The figure that matters is the
precision of yes: a reply read as yes executes the proposal, so it must be 1.0 on both halves; recall of yes says
how often a real yes is taken without a re-ask.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from shopkeep.agents.confirmation import Reply, classify_reply
from shopkeep.settings import PROJECT_ROOT

SPLITS = ("dev", "held_out")
CONFIRMATION_SET = PROJECT_ROOT / "evals" / "confirmation" / "replies.jsonl"


@dataclass(frozen=True)
class LabelledReply:
    id: str
    tool: str
    proposal: str
    reply: str
    label: Reply

    @property
    def split(self) -> str:
        """``dev`` or ``held_out``, fixed by the id (half each, whatever order the file is in)."""
        return SPLITS[hashlib.sha256(self.id.encode()).digest()[0] % 2]


@dataclass(frozen=True)
class ConfirmationReport:
    split: str
    total: int
    confusion: dict[tuple[str, str], int]
    """(label, predicted) -> count."""

    def precision(self, label: Reply) -> float:
        predicted = sum(n for (_, p), n in self.confusion.items() if p == label)
        return self.confusion.get((label, label), 0) / predicted if predicted else 1.0

    def recall(self, label: Reply) -> float:
        actual = sum(n for (a, _), n in self.confusion.items() if a == label)
        return self.confusion.get((label, label), 0) / actual if actual else 1.0

    @property
    def accuracy(self) -> float:
        right = sum(n for (a, p), n in self.confusion.items() if a == p)
        return right / self.total if self.total else 0.0

    @property
    def false_yes(self) -> int:
        return sum(n for (a, p), n in self.confusion.items() if p == Reply.YES and a != Reply.YES)


def load_replies(path: Path) -> list[LabelledReply]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        missing = [key for key in ("id", "tool", "proposal", "reply", "label") if key not in raw]
        if missing:
            raise ValueError(f"{path.name} line {number}: missing {', '.join(missing)}")
        if raw["label"] not in set(Reply):
            raise ValueError(f"{path.name} line {number}: label {raw['label']!r} is not one of {', '.join(Reply)}")
        rows.append(LabelledReply(raw["id"], raw["tool"], raw["proposal"], raw["reply"], Reply(raw["label"])))
    return rows


def predict(row: LabelledReply) -> Reply:
    return classify_reply(row.reply, tool=row.tool, proposal=row.proposal)


def evaluate(rows: list[LabelledReply], split: str = "all") -> ConfirmationReport:
    chosen = [row for row in rows if split == "all" or row.split == split]
    confusion = Counter((str(row.label), str(predict(row))) for row in chosen)
    return ConfirmationReport(split=split, total=len(chosen), confusion=dict(confusion))
