"""A customer's message is embedded once per turn, however many parts of the turn read it (issue 16): the input
screen, the router's and the brain's NLU, and search when its query is the message. Counted at the model: the real
local embedder, with every call it makes recorded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.agents.service import ConversationService
from shopkeep.llm.local.nlu import NLU
from shopkeep.retrieval.embedders.local import LocalEmbedder
from shopkeep.retrieval.embedders.recent import forget_recent
from shopkeep.settings import Settings
from tests.conftest import fresh_sqlite_store

# The five-turn mix, worded so that no other test's messages are remembered already.
MIX = [
    "hello there, friend",
    "do you sell hiking backpacks?",
    "which of them are waterproof?",
    "how long would shipping take to Denver?",
    "great, thanks a lot, bye",
]


@pytest.fixture
def model_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The texts of every call the embedding model gets, batch by batch."""
    calls: list[list[str]] = []
    real = LocalEmbedder.embed_documents

    def counting(self: LocalEmbedder, texts: Sequence[str]) -> list[list[float]]:
        calls.append(list(texts))
        return real(self, texts)

    monkeypatch.setattr(LocalEmbedder, "embed_documents", counting)
    forget_recent()
    return calls


@pytest.fixture
def service(indexed_sqlite_template: Path, tmp_path: Path, nlu: NLU) -> Iterator[ConversationService]:
    store = fresh_sqlite_store(indexed_sqlite_template, tmp_path)
    with open_checkpointer(f"sqlite:///{tmp_path / 'checkpoints.db'}") as checkpointer:
        yield build_service(Settings(var_dir=tmp_path), store, checkpointer, nlu=nlu)
    store.close()


def test_each_message_is_embedded_once_per_turn(service: ConversationService, model_calls: list[list[str]]) -> None:
    chat = service.start()
    searched = []
    for text in MIX:
        model_calls.clear()
        turn = service.send(chat, text)
        assert turn.reply
        embedded = [piece for batch in model_calls for piece in batch]
        assert embedded.count(text) == 1, (text, embedded)
        assert len(embedded) == len(set(embedded)), (text, embedded)  # a search query of its own, once at most
        searched += [call.name for call in turn.tool_calls]
    assert "search_products" in searched  # the search shared the turn (its own query text, or the message's)
