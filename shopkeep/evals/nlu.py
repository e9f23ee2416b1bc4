"""The NLU eval: the local brain's intent classifier scored on labelled utterances.

Data, one ``{"text", "intent"}`` per line (``NLU_SETS``):

- ``team``: ``evals/nlu/test.jsonl``, written by the team separately from the training examples in
  ``data/nlu/intents.yaml`` (never trained on);
- ``independent``: ``evals/nlu/independent.jsonl``, the 27 customer-support intents (and ``out_of_scope``), written
  from the intents' meanings alone by a writer who saw neither the training data nor the team's test set
  (``independent_HOW_WRITTEN.md``); never trained or tuned on, only reported;
- ``independent_shopping``: ``evals/nlu/independent_shopping.jsonl``, the same for the 20 shopping and conversation
  intents (``independent_shopping_HOW_WRITTEN.md``); never trained or tuned on, only reported.

Metrics:

- accuracy: the NLU's final intent (after the out-of-scope gate) equals the label; ``raw_accuracy`` is the same for
  the classifier's top-1 before the gate, so the gate's cost on in-scope messages is visible;
- macro-F1: the unweighted mean over the labelled intents of per-intent F1 (of the final intent);
- confusions: (label, prediction) pairs, most frequent first, with examples;
- out of scope: the gate's recall (the share of ``out_of_scope``-labelled items the NLU flags as out of scope),
  its false-out-of-scope rate (the share of in-scope items it rejects), and how often it asks to clarify;
- calibration: mean confidence of the correct and of the incorrect raw top-1, and the expected calibration error.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from shopkeep.domain._base import Frozen
from shopkeep.llm.local.intents import OUT_OF_SCOPE, expected_calibration_error
from shopkeep.llm.local.nlu import NLU, NLUResult
from shopkeep.settings import PROJECT_ROOT

TEST_SET = PROJECT_ROOT / "evals" / "nlu" / "test.jsonl"
INDEPENDENT_SET = PROJECT_ROOT / "evals" / "nlu" / "independent.jsonl"
INDEPENDENT_SHOPPING_SET = PROJECT_ROOT / "evals" / "nlu" / "independent_shopping.jsonl"
NLU_SETS: dict[str, Path] = {
    "team": TEST_SET,
    "independent": INDEPENDENT_SET,
    "independent_shopping": INDEPENDENT_SHOPPING_SET,
}
"""The labelled sets ``shopkeep eval nlu --set`` knows, by name."""


class NLUCase(Frozen):
    text: str
    intent: str


class NLUItemResult(Frozen):
    """One labelled utterance and what the NLU made of it."""

    text: str
    expected: str
    predicted: str
    """The final intent, after the out-of-scope gate."""
    raw: str
    """The classifier's top-1 before the gate."""
    confidence: float
    correct: bool
    clarify: bool
    reason: str | None


class IntentScore(Frozen):
    intent: str
    support: int
    precision: float
    recall: float
    f1: float


class Confusion(Frozen):
    expected: str
    predicted: str
    count: int
    examples: list[str]


class OutOfScopeScore(Frozen):
    cases: int
    """Items labelled out_of_scope."""
    flagged: float
    """Out-of-scope recall: the share of them the NLU answers with out_of_scope (by the class or the gate)."""
    in_scope_cases: int
    wrongly_rejected: float
    """The false-out-of-scope rate: the share of in-scope items answered with out_of_scope (class or gate)."""
    clarify: float
    """Share of all items where the NLU asks the dialog to clarify."""
    reasons: dict[str, int]


class Calibration(Frozen):
    confidence_correct: float
    confidence_incorrect: float
    ece: float


class NLUReport(Frozen):
    cases: int
    accuracy: float
    raw_accuracy: float
    macro_f1: float
    per_intent: list[IntentScore]
    confusions: list[Confusion]
    out_of_scope: OutOfScopeScore
    calibration: Calibration
    training: dict[str, float]
    """Cross-validated figures on the training set, from when the model was trained."""


def load_cases(path: Path = TEST_SET) -> list[NLUCase]:
    """Labelled utterances from a JSONL file; a malformed line raises ValueError naming it."""
    cases: list[NLUCase] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(NLUCase.model_validate(json.loads(line)))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
    return cases


class NLURun(Frozen):
    """Every item's result and the summary metrics of one eval run."""

    items: list[NLUItemResult]
    report: NLUReport


def evaluate_nlu(nlu: NLU, cases: list[NLUCase]) -> NLUReport:
    """Score the NLU on ``cases`` (analyzed in one batch)."""
    return run_nlu_eval(nlu, cases).report


def run_nlu_eval(nlu: NLU, cases: list[NLUCase]) -> NLURun:
    """Analyze ``cases`` in one batch; per-item results and the report."""
    results = nlu.analyze_many([case.text for case in cases])
    return NLURun(
        items=item_results(cases, results), report=score(cases, results, training=nlu.classifier.training_stats)
    )


def item_results(cases: list[NLUCase], results: list[NLUResult]) -> list[NLUItemResult]:
    """One ``NLUItemResult`` per case, in order."""
    return [
        NLUItemResult(
            text=case.text,
            expected=case.intent,
            predicted=result.intent,
            raw=result.top[0][0] if result.top else OUT_OF_SCOPE,
            confidence=result.confidence,
            correct=result.intent == case.intent,
            clarify=result.clarify,
            reason=result.reason,
        )
        for case, result in zip(cases, results, strict=True)
    ]


def score(cases: list[NLUCase], results: list[NLUResult], *, training: dict[str, float] | None = None) -> NLUReport:
    """The report for NLU results already computed, one per case."""
    gold = [case.intent for case in cases]
    final = [result.intent for result in results]
    raw = [result.top[0][0] if result.top else OUT_OF_SCOPE for result in results]
    raw_confidence = np.array([result.top[0][1] if result.top else 0.0 for result in results], dtype=np.float64)
    raw_correct = np.array([r == g for r, g in zip(raw, gold, strict=True)], dtype=bool)
    total = len(cases)
    per_intent = [_intent_score(intent, gold, final) for intent in sorted(set(gold))]
    pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for case, predicted in zip(cases, final, strict=True):
        if predicted != case.intent:
            pairs[(case.intent, predicted)].append(case.text)
    confusions = [
        Confusion(expected=e, predicted=p, count=len(texts), examples=texts[:3])
        for (e, p), texts in sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    oos = [n for n, g in enumerate(gold) if g == OUT_OF_SCOPE]
    in_scope = [n for n, g in enumerate(gold) if g != OUT_OF_SCOPE]
    return NLUReport(
        cases=total,
        accuracy=_share(sum(f == g for f, g in zip(final, gold, strict=True)), total),
        raw_accuracy=_share(int(raw_correct.sum()), total),
        macro_f1=float(np.mean([s.f1 for s in per_intent])) if per_intent else 0.0,
        per_intent=per_intent,
        confusions=confusions,
        out_of_scope=OutOfScopeScore(
            cases=len(oos),
            flagged=_share(sum(final[n] == OUT_OF_SCOPE for n in oos), len(oos)),
            in_scope_cases=len(in_scope),
            wrongly_rejected=_share(sum(final[n] == OUT_OF_SCOPE for n in in_scope), len(in_scope)),
            clarify=_share(sum(result.clarify for result in results), total),
            reasons=dict(Counter(result.reason or "accepted" for result in results).most_common()),
        ),
        calibration=Calibration(
            confidence_correct=float(raw_confidence[raw_correct].mean()) if raw_correct.any() else 0.0,
            confidence_incorrect=float(raw_confidence[~raw_correct].mean()) if (~raw_correct).any() else 0.0,
            ece=expected_calibration_error(raw_confidence, raw_correct),
        ),
        training=training or {},
    )


def _intent_score(intent: str, gold: list[str], predicted: list[str]) -> IntentScore:
    true_positive = sum(g == intent and p == intent for g, p in zip(gold, predicted, strict=True))
    support = sum(g == intent for g in gold)
    guessed = sum(p == intent for p in predicted)
    precision = _share(true_positive, guessed)
    recall = _share(true_positive, support)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return IntentScore(intent=intent, support=support, precision=precision, recall=recall, f1=f1)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
