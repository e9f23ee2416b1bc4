"""The cost of the output rails per turn, on real local-brain conversations (SQLite): what the output guard does
for every reply, i.e. build the conversation's facts (the customer's record from the store, every tool result
parsed) and run the rails on the reply; and per streamed sentence (the rails alone, the facts already built).

The conversations are the turn benchmark's order and account scripts plus catalog, cart and knowledge ones, so the
facts include search hits, product details, carts and knowledge passages. Also printed: how many of these turns
tripped a rail (the local brain composes from tool results, so the expected count is zero).
"""

from __future__ import annotations

import re
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage
from rich.console import Console
from rich.table import Table

from bench._util import percentiles, time_ms
from bench.turns import SCRIPTS
from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.guardrails.facts import conversation_facts
from shopkeep.guardrails.output import check_reply
from shopkeep.llm.local.nlu import NLU
from shopkeep.settings import Settings, get_settings
from shopkeep.store import open_store
from shopkeep.store.seed import demo_db_path, read_tau2_db, seed

SHOPPING = [
    ["do you have a kettle?", "tell me about the first one", "add it to my cart", "show my cart"],
    ["how long does shipping take?", "what is your return policy?", "can I use a promo code?"],
    ["I'd like to buy a water bottle", "the first one", "yes", "checkout"],
]
REPEAT = 20
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _turns() -> tuple[Any, list[tuple[list[Any], str | None, str]], str]:
    """Runs the conversations; returns the store, each turn's (messages, customer id, reply) and the policy."""
    base = get_settings()
    tmp = tempfile.mkdtemp()
    settings = Settings(var_dir=Path(tmp), data_dir=base.data_dir)
    store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
    seed(store, read_tau2_db(demo_db_path(settings.data_dir)))
    nlu = NLU.load(base)
    nlu.warm_up()
    captured: list[tuple[list[Any], str | None, str]] = []
    with open_checkpointer(f"sqlite:///{Path(tmp) / 'checkpoints.db'}") as checkpointer:
        service = build_service(settings, store, checkpointer, nlu=nlu)
        for script in [*SCRIPTS, *SHOPPING]:
            conversation = service.start()
            for text in script:
                service.send(conversation, text)
                values = service.values(conversation)
                messages = list(values.get("messages", []))
                if messages and isinstance(messages[-1], AIMessage) and messages[-1].content:
                    captured.append((messages, values.get("customer_id"), str(messages[-1].content)))
    return store, captured, service.policy


def _guard(store: Any, messages: list[Any], customer_id: str | None, reply: str, policy: str) -> None:
    """What the output guard does for one reply that passes: build the facts, run the rails."""
    check_reply(reply, conversation_facts(store, messages, customer_id, policy))


def run(console: Console) -> None:
    store, turns, policy = _turns()
    per_turn: list[float] = []
    per_sentence: list[float] = []
    trips = 0
    for messages, customer_id, reply in turns:
        facts = conversation_facts(store, messages, customer_id, policy)
        trips += bool(check_reply(reply, facts).trips)
        per_turn += time_ms(partial(_guard, store, messages, customer_id, reply, policy), REPEAT)
        for sentence in _SENTENCE.split(reply):
            per_sentence += time_ms(partial(check_reply, sentence, facts), REPEAT)
    store.close()
    table = Table(title="Output rails per turn (facts + grounding, PII, promises; local brain, SQLite), ms")
    for column in ("measured", "samples", "p50", "p95"):
        table.add_column(column, justify="right" if column != "measured" else "left")
    for name, samples in (("per reply (facts built)", per_turn), ("per streamed sentence", per_sentence)):
        p50, p95 = percentiles(samples)
        table.add_row(name, str(len(samples)), f"{p50:.3f}", f"{p95:.3f}")
    console.print(table)
    console.print(f"{len(turns)} replies checked, {trips} tripped an output rail")
