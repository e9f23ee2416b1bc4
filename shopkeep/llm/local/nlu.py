"""The NLU façade of the local brain: one call reads a customer message into an intent and entities.

``NLU.load(settings)`` returns the process-wide instance for those settings' data and cache directories. It is
cheap: the embedding model and the intent classifier are built on first use (``analyze``, ``warm_up``), once, under
a lock, so CLI commands that never analyze a message never pay for them. Used alone it reads the demo's product and
customer words (``data/tau2_retail/db.json``); ``nlu.for_store(store)`` is the same NLU reading the words of the
shop a store holds, rebuilt when they change (``vocabulary.StoreLexicon``), and is what the running product uses.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from shopkeep.domain._base import Frozen
from shopkeep.llm.local._text import clip
from shopkeep.llm.local.acts import Act, speech_act
from shopkeep.llm.local.entities import Entity, EntityExtractor
from shopkeep.llm.local.intents import (
    IntentClassifier,
    IntentPrediction,
    IntentTaxonomy,
    Reason,
    TrainingConfig,
)
from shopkeep.llm.local.lexicon import ShopLexicon
from shopkeep.llm.local.vocabulary import FileLexicon, LexiconSource, StoreLexicon
from shopkeep.retrieval.embedders.base import Embedder
from shopkeep.settings import Settings
from shopkeep.store.seed import demo_db_path
from shopkeep.store.sql import SqlCommerceStore

__all__ = ["NLU", "Entity", "NLUResult"]

# Entity types that only say who the customer is: a request can carry them along ("checkout please, <email>").
_IDENTITY = frozenset({"email", "person_name", "zip", "user_id"})
# Words that only introduce identity details; what is left after them and the details is the request, if any.
_IDENTITY_WORDS = re.compile(
    r"\b(?:i'?m|i am|my|name|names|is|it'?s|this is|here|email|e-mail|address|zip|code|and|hi|hello|hey|from|"
    r"account|under|the|on|of|with|please|pls|thanks|sorry)\b",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[A-Za-z]{2,}")
IDENTITY_INTENT = "authenticate"
# Entity types whose words are names or codes, not language: the language check skips them.
_NOT_LANGUAGE = frozenset(
    {"email", "order_id", "user_id", "item_id", "product_id", "person_name", "zip", "address", "money"}
)


class NLUResult(Frozen):
    """What one customer message says."""

    text: str
    intent: str
    confidence: float
    top: tuple[tuple[str, float], ...] = ()
    """The classifier's raw top 3 (intent, calibrated probability), kept when ``intent`` is out of scope."""
    entities: tuple[Entity, ...] = ()
    clarify: bool = False
    """Ask rather than act: unclear, other language, gibberish, empty, or two close candidates."""
    reason: Reason | None = None
    truncated: bool = False
    """The message was longer than the NLU reads; only its beginning was analyzed."""
    act: Act = "request"
    """A request to do something, or a question about how things work or about the customer's own things."""

    @property
    def general_question(self) -> bool:
        """How something works or what the rules are: answered from the knowledge base, never by starting a flow."""
        return self.act == "general_question"

    def entities_of(self, kind: str) -> list[Entity]:
        return [e for e in self.entities if e.type == kind]

    def as_record(self) -> dict[str, object]:
        """JSON-ready, the shape ``shopkeep nlu classify`` prints (plus top, clarify, reason)."""
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "entities": [e.as_record() for e in self.entities],
            "top": [[intent, p] for intent, p in self.top],
            "clarify": self.clarify,
            "reason": self.reason,
            "truncated": self.truncated,
            "act": self.act,
        }


class NLU:
    """Intent + entities for the local brain. Thread-safe; build once per process with ``NLU.load``, and bind it to
    a store with ``for_store`` (the bound NLU shares the trained classifier and the embedding model)."""

    _instances: ClassVar[dict[tuple[Path, Path], NLU]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        intents_path: Path,
        lexicons: Path | LexiconSource,
        cache_dir: Path | None,
        *,
        embedder: Embedder | None = None,
        config: TrainingConfig | None = None,
    ) -> None:
        """``lexicons``: where the shop's words come from (a τ² ``db.json`` path reads that file's)."""
        self.intents_path = intents_path
        self.lexicons: LexiconSource = FileLexicon(lexicons) if isinstance(lexicons, Path) else lexicons
        self.cache_dir = cache_dir
        self._embedder = embedder
        self._config = config
        self._lock = threading.Lock()
        self._root = self
        self._taxonomy: IntentTaxonomy | None = None
        self._base: IntentClassifier | None = None
        self._reader: _Reader | None = None
        self._bound: weakref.WeakKeyDictionary[SqlCommerceStore, NLU] = weakref.WeakKeyDictionary()

    @classmethod
    def load(cls, settings: Settings) -> NLU:
        """The process-wide NLU for these settings (``data_dir``'s intents and catalog, ``var_dir/nlu`` cache)."""
        key = (settings.data_dir.resolve(), settings.var_dir.resolve())
        with cls._instances_lock:
            found = cls._instances.get(key)
            if found is None:
                found = cls._instances[key] = cls(
                    settings.data_dir / "nlu" / "intents.yaml",
                    demo_db_path(settings.data_dir),
                    settings.var_dir / "nlu",
                )
            return found

    def for_store(self, store: SqlCommerceStore, *, max_age_s: float | None = None) -> NLU:
        """This NLU reading the words of the shop ``store`` holds (one per store and process unless ``max_age_s``,
        how stale the words may be, is given: see ``StoreLexicon``)."""
        root = self._root
        if max_age_s is None:
            with root._lock:
                found = root._bound.get(store)
                if found is None:
                    found = root._bound[store] = root._with(StoreLexicon(store))
            return found
        return root._with(StoreLexicon(store, max_age_s=max_age_s))

    def _with(self, lexicons: LexiconSource) -> NLU:
        bound = NLU(self.intents_path, lexicons, self.cache_dir, embedder=self._embedder, config=self._config)
        bound._root = self
        return bound

    # -------------------------------------------------------------------------------------------- components

    @property
    def taxonomy(self) -> IntentTaxonomy:
        root = self._root
        if root._taxonomy is None:
            with root._lock:
                if root._taxonomy is None:
                    root._taxonomy = IntentTaxonomy.load(root.intents_path)
        return root._taxonomy

    def _base_classifier(self) -> IntentClassifier:
        """The trained classifier without any shop's words (shared by every store's NLU)."""
        root = self._root
        if root._base is None:
            taxonomy, embedder = self.taxonomy, self.embedder
            with root._lock:
                if root._base is None:
                    root._base = IntentClassifier.build(
                        taxonomy, embedder, cache_dir=root.cache_dir, config=root._config
                    )
        return root._base

    def _current(self) -> _Reader:
        """The extractor and classifier for the shop's words as they are now (rebuilt when they changed)."""
        lexicon = self.lexicons.current()
        reader = self._reader
        if reader is not None and reader.lexicon is lexicon:
            return reader
        base = self._base_classifier()
        with self._lock:
            reader = self._reader
            if reader is None or reader.lexicon is not lexicon:
                generation = reader.generation + 1 if reader is not None else 0
                classifier = base.with_shop_words(lexicon.words())
                reader = self._reader = _Reader(lexicon, EntityExtractor(lexicon), classifier, generation)
            return reader

    @property
    def extractor(self) -> EntityExtractor:
        return self._current().extractor

    @property
    def embedder(self) -> Embedder:
        """The embedding model messages are read with (the input screen reads them with the same one)."""
        root = self._root
        if root._embedder is None:
            with root._lock:
                if root._embedder is None:
                    root._embedder = _local_embedder()
        return root._embedder

    @property
    def classifier(self) -> IntentClassifier:
        return self._current().classifier

    def vocabulary_key(self) -> tuple[int, int]:
        """Changes whenever the shop's words do: readings cached under one key stay true until it moves."""
        return id(self), self._current().generation

    def warm_up(self) -> None:
        """Build everything now (load or train the classifier, load the embedding model, read the shop's words)
        instead of on first use."""
        self.analyze("hello")

    # -------------------------------------------------------------------------------------------------- reading

    def analyze(self, text: str, *, context_products: Sequence[str] = ()) -> NLUResult:
        """Intent and entities of one message. ``context_products`` are products under discussion."""
        return self.analyze_many([text], context_products=context_products)[0]

    def analyze_many(self, texts: Sequence[str], *, context_products: Sequence[str] = ()) -> list[NLUResult]:
        """``analyze`` for many messages, with their embeddings computed in one batch."""
        reader = self._current()
        entity_lists = [reader.extractor.extract(text, context_products=context_products) for text in texts]
        ignores = [[(e.start, e.end) for e in entities if e.type in _NOT_LANGUAGE] for entities in entity_lists]
        predictions = reader.classifier.predict_many(texts, ignores=ignores)
        predictions = self._requests_with_identity(reader.classifier, texts, entity_lists, predictions)
        return [
            _result(text, prediction, entities)
            for text, prediction, entities in zip(texts, predictions, entity_lists, strict=True)
        ]

    def _requests_with_identity(
        self,
        classifier: IntentClassifier,
        texts: Sequence[str],
        entity_lists: list[list[Entity]],
        predictions: list[IntentPrediction],
    ) -> list[IntentPrediction]:
        """A request that carries the customer's identity ("checkout please, <email>", "status of #W...? <email>")
        reads as a bare introduction to the classifier, which weighs the email or name most. When the top reading
        is (or is close to) ``authenticate`` and words are left once the identity details are taken out, those
        words are classified on their own: a clear request for a tool flow there is the message's intent."""
        pending: list[tuple[int, str]] = []
        for n, (text, entities, prediction) in enumerate(zip(texts, entity_lists, predictions, strict=True)):
            close = [intent for intent, _ in prediction.top[:2]]
            if IDENTITY_INTENT not in (prediction.intent, *close):
                continue
            rest = _without(clip(text)[0], [e for e in entities if e.type in _IDENTITY])
            if rest is not None:
                pending.append((n, rest))
        if not pending:
            return predictions
        found = list(predictions)
        for (n, _), reading in zip(pending, classifier.predict_many([r for _, r in pending]), strict=True):
            # identity rides along with requests that need it: tool flows ("you'll find my account under <email>"
            # reads as a sign-up question without the email, but it only introduces the customer)
            needs_identity = self.taxonomy.handling_for(reading.intent) == "tool_flow"
            if reading.intent != IDENTITY_INTENT and needs_identity and not reading.clarify:
                found[n] = reading
        return found


class _Reader:
    """One shop lexicon with the extractor and classifier built for it; ``generation`` counts rebuilds."""

    def __init__(
        self, lexicon: ShopLexicon, extractor: EntityExtractor, classifier: IntentClassifier, generation: int
    ) -> None:
        self.lexicon = lexicon
        self.extractor = extractor
        self.classifier = classifier
        self.generation = generation


def _without(text: str, spans: list[Entity]) -> str | None:
    """The text without the identity details; None when nothing but introductions is left."""
    if not spans:
        return None
    for entity in sorted(spans, key=lambda e: -e.start):
        text = text[: entity.start] + " " + text[entity.end :]
    if len(_WORDS.findall(_IDENTITY_WORDS.sub(" ", text))) < 1:
        return None
    return " ".join(text.split())


def _result(text: str, prediction: IntentPrediction, entities: list[Entity]) -> NLUResult:
    return NLUResult(
        text=text,
        intent=prediction.intent,
        confidence=prediction.confidence,
        top=prediction.top,
        entities=tuple(entities),
        clarify=prediction.clarify,
        reason=prediction.reason,
        truncated=clip(text)[1],
        act=speech_act(clip(text)[0], (e.type for e in entities)),
    )


def _local_embedder() -> Embedder:
    from shopkeep.retrieval.embedders.batching import shared_batcher
    from shopkeep.retrieval.embedders.local import LocalEmbedder
    from shopkeep.retrieval.embedders.recent import RecentEmbeddings

    # the screen and search embed the same message: the model runs once, batched with concurrent turns' messages
    return RecentEmbeddings(shared_batcher(LocalEmbedder()))
