"""The input screen's classifier: is a message benign, a prompt injection / jailbreak, or abuse?

A logistic regression (scikit-learn) over the local MiniLM sentence embeddings, trained on the examples in
``data/guardrails/train.yaml`` plus the first examples of every intent of ``data/nlu/intents.yaml`` as ``benign``
(real shop messages are the negatives that matter most). ``data/guardrails/heldout.yaml`` is never trained on; the tests
and the bench measure precision and recall on it. Next to each probability the screen reports how close the message
comes to any training example of that label (best cosine similarity): gibberish and unfamiliar text can get a
confident probability from a linear model, and the rails only trust a probability for a message that resembles
the label. The embedder is passed in: the graph hands over the same process-wide model the NLU uses
(``LocalEmbedder`` shares one loaded model), so the screen loads no second model.

Training embeds about 1,200 short texts (seconds on an idle machine); the fitted weights and the injection and
abuse examples' embeddings are cached in one ``.npz`` keyed by the
training files, the embedder and the configuration, so a warm start only loads arrays. Long messages are
scored window by window (the model reads about 256 word pieces) and the worst window counts, so an instruction
buried at the end of a long product question is still read.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import yaml
from filelock import FileLock
from numpy.typing import NDArray

from shopkeep.retrieval.embedders.base import Embedder

Label = Literal["benign", "injection", "abuse"]
LABELS: tuple[Label, ...] = ("benign", "injection", "abuse")
MODEL_VERSION = 2
_WINDOW_WORDS = 48
_WINDOW_STRIDE = 40
_MEMO_SIZE = 4096


@dataclass(frozen=True)
class ScreenConfig:
    regularization: float = 4.0
    """Inverse L2 strength (scikit-learn's ``C``)."""
    intent_examples: int = 15
    """How many examples of each intent join ``benign`` (the first ones: spread over every intent, and few enough
    that a cold start embeds about a thousand texts)."""

    def key(self) -> str:
        return f"C={self.regularization};n={self.intent_examples}"


@dataclass(frozen=True)
class Scores:
    """Probabilities of the worst window of a message, and its best similarity to each label's examples."""

    injection: float
    abuse: float
    injection_like: float
    abuse_like: float


def load_examples(path: Path) -> list[tuple[str, Label]]:
    """(text, label) from a ``train.yaml``/``heldout.yaml``-shaped file."""
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, dict) or not set(loaded) <= set(LABELS):
        raise ValueError(f"{path} must map {', '.join(LABELS)} to lists of examples")
    return [(str(text), label) for label in LABELS for text in loaded.get(label) or []]


def _intent_examples(path: Path, per_intent: int) -> list[str]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(text) for intent in loaded["intents"] for text in intent["examples"][:per_intent]]


def windows(text: str) -> list[str]:
    """The message itself when short, else overlapping windows of ``_WINDOW_WORDS`` words."""
    words = text.split()
    if len(words) <= _WINDOW_WORDS:
        return [text]
    starts = range(0, len(words) - _WINDOW_WORDS + _WINDOW_STRIDE, _WINDOW_STRIDE)
    return [" ".join(words[start : start + _WINDOW_WORDS]) for start in starts]


class ScreenClassifier:
    """Scores messages; thread-safe. Build with ``ScreenClassifier.build``."""

    def __init__(
        self,
        embedder: Embedder,
        weights: NDArray[np.float64],
        bias: NDArray[np.float64],
        injections: NDArray[np.float32],
        abuses: NDArray[np.float32],
    ) -> None:
        self._embedder = embedder
        self._weights = weights
        self._bias = bias
        self._injections_t = np.ascontiguousarray(injections.astype(np.float32).T)
        self._abuses_t = np.ascontiguousarray(abuses.astype(np.float32).T)
        self._memo: OrderedDict[str, Scores] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def build(
        cls,
        embedder: Embedder,
        train_path: Path,
        intents_path: Path,
        *,
        cache_dir: Path | None = None,
        config: ScreenConfig | None = None,
    ) -> ScreenClassifier:
        """Load the fitted weights from ``cache_dir``, or train (and cache them there)."""
        config = config or ScreenConfig()
        material = f"v{MODEL_VERSION}|{embedder.name}|{config.key()}".encode()
        digest = hashlib.sha256(material + train_path.read_bytes() + intents_path.read_bytes()).hexdigest()
        if cache_dir is None:
            return cls._fit(embedder, train_path, intents_path, config, None)
        path = cache_dir / f"screen-{digest[:20]}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{path}.lock"):  # processes starting together train once; the others load the file
            if path.is_file():
                try:
                    with np.load(path) as data:
                        return cls(embedder, data["weights"], data["bias"], data["injections"], data["abuses"])
                except (OSError, ValueError, KeyError):
                    pass  # a truncated or stale file: retrain and overwrite it
            return cls._fit(embedder, train_path, intents_path, config, path)

    @classmethod
    def _fit(
        cls, embedder: Embedder, train_path: Path, intents_path: Path, config: ScreenConfig, path: Path | None
    ) -> ScreenClassifier:
        """Train on the examples; cache the weights at ``path`` (written aside, then moved in place)."""
        texts, labels = _training_set(train_path, intents_path, config)
        embeddings = _embed(embedder, texts)
        weights, bias = fit(embeddings, labels, config)
        injections, abuses = embeddings[labels == 1].astype(np.float16), embeddings[labels == 2].astype(np.float16)
        if path is not None:
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, weights=weights, bias=bias, injections=injections, abuses=abuses)
            tmp.replace(path)
        return cls(embedder, weights, bias, injections, abuses)

    def probabilities(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Rows of P(benign, injection, abuse), one per text (no windows, no memo): for evaluation."""
        return self._probabilities(_embed(self._embedder, texts))

    def _probabilities(self, embeddings: NDArray[np.float32]) -> NDArray[np.float64]:
        return _softmax(embeddings.astype(np.float64) @ self._weights + self._bias)

    def scores(self, text: str) -> Scores:
        """The message's worst-window injection and abuse probabilities (memoized: both rails ask)."""
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str]) -> list[Scores]:
        """``scores`` for many messages, every window embedded in one batch (evaluations, warm-ups)."""
        with self._lock:
            missing = list(dict.fromkeys(text for text in texts if text not in self._memo))
        if missing:
            spans: list[tuple[int, int]] = []
            pieces: list[str] = []
            for text in missing:
                parts = windows(text)
                spans.append((len(pieces), len(pieces) + len(parts)))
                pieces += parts
            embeddings = _embed(self._embedder, pieces)
            p = self._probabilities(embeddings)
            like_injection = (embeddings @ self._injections_t).max(axis=1)
            like_abuse = (embeddings @ self._abuses_t).max(axis=1)
            with self._lock:
                for text, (start, end) in zip(missing, spans, strict=True):
                    self._memo[text] = Scores(
                        injection=float(p[start:end, 1].max()),
                        abuse=float(p[start:end, 2].max()),
                        injection_like=float(like_injection[start:end].max()),
                        abuse_like=float(like_abuse[start:end].max()),
                    )
                found = [self._memo[text] for text in texts]
                while len(self._memo) > _MEMO_SIZE:
                    self._memo.popitem(last=False)
            return found
        with self._lock:
            return [self._memo[text] for text in texts]


def _training_set(train_path: Path, intents_path: Path, config: ScreenConfig) -> tuple[list[str], NDArray[np.int64]]:
    examples = load_examples(train_path)
    own = {text.lower() for text, _ in examples}
    borrowed = [text for text in _intent_examples(intents_path, config.intent_examples) if text.lower() not in own]
    texts = [text for text, _ in examples] + borrowed
    labels = np.array([LABELS.index(label) for _, label in examples] + [0] * len(borrowed), dtype=np.int64)
    return texts, labels


def fit(
    embeddings: NDArray[np.float32],
    labels: NDArray[np.int64],
    config: ScreenConfig,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weights (dimensions x labels) and bias of a class-balanced multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression

    model: Any = LogisticRegression(C=config.regularization, class_weight="balanced", max_iter=2000)
    model.fit(embeddings.astype(np.float64), labels)
    return np.ascontiguousarray(model.coef_.T, dtype=np.float64), np.asarray(model.intercept_, dtype=np.float64)


def _embed(embedder: Embedder, texts: Sequence[str]) -> NDArray[np.float32]:
    return np.asarray(embedder.embed_documents(list(texts)), dtype=np.float32).reshape(len(texts), -1)


def _softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    result: NDArray[np.float64] = shifted / shifted.sum(axis=1, keepdims=True)
    return result


class Screen(Protocol):
    """What the input rails ask of a classifier (``ScreenClassifier`` or ``SharedScreen``)."""

    def scores(self, text: str) -> Scores: ...


class SharedScreen:
    """The process-wide ``ScreenClassifier`` for these files and cache, built on the first message, once.

    Graphs are cheap to build (tests build one per conversation); the classifier is not, so every graph of a process
    that reads the same training files shares one."""

    _instances: ClassVar[dict[tuple[Path, Path, Path | None, str], ScreenClassifier]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, embedder: Embedder, train_path: Path, intents_path: Path, cache_dir: Path | None) -> None:
        self._embedder = embedder
        self._key = (train_path.resolve(), intents_path.resolve(), cache_dir, embedder.name)

    def classifier(self) -> ScreenClassifier:
        with self._instances_lock:
            found = self._instances.get(self._key)
            if found is None:
                train_path, intents_path, cache_dir, _ = self._key
                found = ScreenClassifier.build(self._embedder, train_path, intents_path, cache_dir=cache_dir)
                self._instances[self._key] = found
            return found

    def scores(self, text: str) -> Scores:
        return self.classifier().scores(text)
