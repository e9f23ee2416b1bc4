"""A turn's graph state is checkpointed once, when the turn ends or stops for a confirmation (issue 16: the
per-step checkpoints were half of a turn's cost), and that one checkpoint is enough to go on: a proposal waiting for
the customer's yes survives, and a new service on the same files carries the conversation on."""

from __future__ import annotations

import itertools
from pathlib import Path

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings
from shopkeep.store import open_store
from tests.conftest import fresh_sqlite_store

CANCEL = ["I want to cancel order #W2417020", "emma.smith3991@example.com", "ordered by mistake"]


def test_each_turn_writes_one_checkpoint_and_a_pending_proposal_survives_a_restart(
    sqlite_template: Path, tmp_path: Path, nlu: NLU
) -> None:
    store = fresh_sqlite_store(sqlite_template, tmp_path)
    url = f"sqlite:///{tmp_path / 'checkpoints.db'}"
    with open_checkpointer(url) as checkpointer:
        service = build_service(Settings(var_dir=tmp_path), store, checkpointer, nlu=nlu)
        chat = service.start()
        config = {"configurable": {"thread_id": chat}}
        counts = [len(list(checkpointer.list(config)))]
        for text in CANCEL:
            turn = service.send(chat, text)
            counts.append(len(list(checkpointer.list(config))))
        assert turn.proposal is not None, turn.reply
        assert [b - a for a, b in itertools.pairwise(counts)] == [1, 1, 1]
    store_url = store.url
    store.close()

    store = open_store(store_url)
    with open_checkpointer(url) as checkpointer:
        restarted = build_service(Settings(var_dir=tmp_path), store, checkpointer, nlu=nlu)
        done = restarted.send(chat, "yes")
        assert [call.name for call in done.tool_calls] == ["cancel_pending_order"], done.reply
        with store.session() as session:
            order = session.get_order("#W2417020")
        assert order is not None and order.status == "cancelled"
    store.close()
