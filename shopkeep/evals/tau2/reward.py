"""The reward: the end state of the conversation's store equals the end state of the expected actions' replay.

Both end states are produced by Shopkeep's own tools on fresh copies of the same demo store, so Shopkeep's
deliberate differences from τ² (own-variant multi-item modification, exact money, net cancel refunds) appear on
both sides and τ²'s DB hash of the two exports is directly comparable.

Fresh stores come from a ``StoreTemplate``: a seeded SQLite file copied per use (milliseconds), or, for a server
store (PostgreSQL, Oracle), the same database reset and re-seeded with the demo data before each task.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from shopkeep.evals.tau2.tasks import Action
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.seed import StoreData, export, read_tau2_db, seed, tau2_hash
from shopkeep.tools import ToolContext, ToolOutcome, retail_registry

RECORD_KINDS = ("products", "users", "orders")


class StoreTemplate:
    """Where fresh copies of the demo store come from."""

    def __init__(self, sqlite_path: Path, *, server_url: str | None = None, data: StoreData | None = None) -> None:
        self.sqlite_path = sqlite_path
        self._server_url = server_url
        self._data = data

    @classmethod
    def seeded(cls, directory: Path, data_path: Path) -> StoreTemplate:
        """Seed a SQLite template in ``directory`` from a τ² ``db.json``."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "template.db"
        store = open_store(f"sqlite:///{path}")
        try:
            seed(store, read_tau2_db(data_path), reset=True)
        finally:
            store.close()
        return cls(path)

    @classmethod
    def for_url(cls, url: str | None, directory: Path, data_path: Path) -> StoreTemplate:
        """A template for ``--store``: a SQLite URL is copied as is (it must hold a store); a server URL is reset
        and re-seeded from ``data_path`` for every conversation, and the expected replays run on SQLite."""
        if url is None:
            return cls.seeded(directory, data_path)
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            path = Path(parsed.database or "")
            if not path.is_file():
                raise FileNotFoundError(f"no SQLite store at {path}")
            store = open_store(url)  # migrate it once, so that copies open without migrating
            empty = store.is_empty()
            store.close()
            if empty:
                raise ValueError(f"the store at {path} is empty: run `shopkeep seed --store {url}` first")
            return cls(path)
        template = cls.seeded(directory, data_path)
        return cls(template.sqlite_path, server_url=url, data=read_tau2_db(data_path))

    @contextmanager
    def fresh(self, directory: Path, *, local: bool = False) -> Iterator[SqlCommerceStore]:
        """A fresh store for one use, closed (and its file removed) afterwards. ``local`` forces a SQLite copy."""
        if self._server_url is not None and not local:
            store = open_store(self._server_url)
            assert self._data is not None
            seed(store, self._data, reset=True)
            try:
                yield store
            finally:
                store.close()
            return
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"store-{uuid.uuid4().hex[:12]}.db"
        shutil.copyfile(self.sqlite_path, path)
        store = open_store(f"sqlite:///{path}", upgrade=False)
        try:
            yield store
        finally:
            store.close()
            for leftover in directory.glob(f"{path.name}*"):
                leftover.unlink(missing_ok=True)

    def initial_state(self) -> dict[str, Any]:
        """The template's records in τ²'s layout (what the oracle user knows about the shop)."""
        store = open_store(f"sqlite:///{self.sqlite_path}", upgrade=False)
        try:
            return export(store)
        finally:
            store.close()


@dataclass(frozen=True)
class EndState:
    db: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, store: SqlCommerceStore) -> EndState:
        db = export(store)
        return cls(db, tau2_hash(db))


@dataclass(frozen=True)
class ExpectedEnd:
    """The replay of a task's expected actions: the end state and each action's outcome."""

    state: EndState
    outcomes: list[ToolOutcome] = field(default_factory=list)


def replay(store: SqlCommerceStore, actions: list[Action]) -> list[ToolOutcome]:
    """Run every action in order with operator scope; failures are kept as outcomes and ignored (as τ² does)."""
    registry = retail_registry()
    ctx = ToolContext(store=store)
    return [registry.call(a.name, a.arguments, ctx) for a in actions]


def expected_end(template: StoreTemplate, directory: Path, actions: list[Action]) -> ExpectedEnd:
    with template.fresh(directory, local=True) as store:
        outcomes = replay(store, actions)
        return ExpectedEnd(EndState.of(store), outcomes)


def _field_diff(actual: Any, expected: Any, path: str, out: list[dict[str, Any]]) -> None:
    if isinstance(actual, dict) and isinstance(expected, dict):
        for key in dict.fromkeys([*expected, *actual]):
            _field_diff(actual.get(key), expected.get(key), f"{path}.{key}" if path else str(key), out)
    elif actual != expected:
        out.append({"path": path, "actual": actual, "expected": expected})


def diff_states(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Records whose JSON differs, by kind and key, with the differing fields (lists compared whole)."""
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for kind in RECORD_KINDS:
        mine, theirs = actual.get(kind, {}), expected.get(kind, {})
        for key in dict.fromkeys([*theirs, *mine]):
            if mine.get(key) != theirs.get(key):
                fields: list[dict[str, Any]] = []
                _field_diff(mine.get(key), theirs.get(key), "", fields)
                found.setdefault(kind, {})[key] = fields
    return found


@dataclass(frozen=True)
class Reward:
    value: int
    diff: dict[str, dict[str, list[dict[str, Any]]]]


def reward(actual: EndState, expected: EndState) -> Reward:
    """1 when the two end states hash the same; otherwise 0 and the differing records."""
    if actual.hash == expected.hash:
        return Reward(1, {})
    return Reward(0, diff_states(actual.db, expected.db))
