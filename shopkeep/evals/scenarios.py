"""Conversation scenarios: scripted multi-turn conversations (``tests/scenarios/**/*.yaml``) and their checks.

A scenario names what each turn must do (agent, tools, confirmation, mode, reply text) and what the store must hold
at the end (see ``tests/scenarios/README.md`` for the format). It runs on the demo store, or with ``shop: NAME`` on
the shop of its own that ``shops/NAME/shop.yaml`` describes (``build_shop``: a profile, catalog files, customers and
help pages, imported as ``shopkeep init`` and the import commands do). ``run_scenario`` plays one through a
``ConversationService`` and returns every failed check as a message, so the pytest suite and ``shopkeep eval run
scenarios`` judge a conversation the same way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shopkeep.agents.service import ConversationService, TurnResult
from shopkeep.domain.shop import ShopProfile
from shopkeep.settings import PROJECT_ROOT
from shopkeep.store import SqlCommerceStore
from shopkeep.store.seed import export

SCENARIOS_DIR = PROJECT_ROOT / "tests" / "scenarios"
SHOPS = "shops"
"""The folder (under the scenarios folder) of the shops scenarios may run on instead of the demo."""
KEYS = {"name", "tags", "turns", "store", "unchanged", "new_orders", "cart", "tickets", "xfail", "shop"}
SHOP_KEYS = {"name", "currency", "support_hours", "policy", "catalog", "customers", "help"}
TURN_KEYS = {"agent", "tools", "confirm", "reply_contains", "reply_excludes", "mode"}


def scenario_files(directory: Path = SCENARIOS_DIR) -> list[Path]:
    return sorted(p for p in directory.rglob("*.yaml") if SHOPS not in p.relative_to(directory).parts)


def build_shop(name: str, store: SqlCommerceStore, directory: Path = SCENARIOS_DIR) -> None:
    """Make ``store`` (empty, or holding anything) the shop ``shops/NAME/shop.yaml`` describes: a new shop with its
    profile, then its catalog files, customers and help pages imported. Search indexing is the caller's."""
    from shopkeep.shop.catalog import import_catalog
    from shopkeep.shop.customers import import_customers
    from shopkeep.shop.kb import import_help_pages
    from shopkeep.shop.setup import default_policy, init_shop

    path = directory / SHOPS / name / "shop.yaml"
    spec: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = set(spec) - SHOP_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown shop keys {sorted(unknown)}")
    here = path.parent
    hours = str(spec.get("support_hours") or "")
    policy = (here / spec["policy"]).read_text(encoding="utf-8") if spec.get("policy") else ""
    profile = ShopProfile(
        name=spec["name"],
        currency=spec.get("currency", "USD"),
        support_hours=hours,
        policy=policy or default_policy(spec["name"], hours),
    )
    init_shop(store, profile, force=True)
    import_catalog(store, [here / file for file in spec.get("catalog", [])])
    if spec.get("customers"):
        import_customers(store, here / spec["customers"])
    if spec.get("help"):
        import_help_pages(store, here / spec["help"])


def scenario_id(path: Path, directory: Path = SCENARIOS_DIR) -> str:
    """``orders/cancel_pending``: the file's path under the scenarios folder, without the suffix."""
    return str(path.relative_to(directory).with_suffix(""))


def load_scenario(path: Path) -> dict[str, Any]:
    """A scenario file; unknown keys raise ValueError naming the file."""
    scenario: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = set(scenario) - KEYS
    if unknown:
        raise ValueError(f"{path}: unknown scenario keys {sorted(unknown)}")
    for n, turn in enumerate(scenario["turns"]):
        bad = set(turn.get("expect", {})) - TURN_KEYS
        if bad:
            raise ValueError(f"{path}: turn {n + 1}: unknown expect keys {sorted(bad)}")
    return scenario


def check_turn(n: int, expect: Mapping[str, Any], result: TurnResult) -> list[str]:
    """What turn ``n`` (0-based) did differently from ``expect``, one message per failed check."""
    where = f"turn {n + 1} ({result.reply[:300]!r})"
    failures: list[str] = []
    if "agent" in expect and result.agent != expect["agent"]:
        failures.append(f"{where}: agent {result.agent!r} != {expect['agent']!r}")
    if "tools" in expect:
        called = [c.name + ("" if c.ok else "!") for c in result.tool_calls]
        if called != expect["tools"]:
            failures.append(f"{where}: tools {called} != {expect['tools']}")
    if "confirm" in expect and result.awaiting_confirmation is not expect["confirm"]:
        failures.append(f"{where}: awaiting confirmation {result.awaiting_confirmation} != {expect['confirm']}")
    if "mode" in expect and result.mode != expect["mode"]:
        failures.append(f"{where}: mode {result.mode!r} != {expect['mode']!r}")
    for text in expect.get("reply_contains", []):
        if text.lower() not in result.reply.lower():
            failures.append(f"{where}: missing {text!r}")
    for text in expect.get("reply_excludes", []):
        if text.lower() in result.reply.lower():
            failures.append(f"{where}: should not say {text!r}")
    return failures


def _subset(actual: Any, expected: Any, path: str, failures: list[str]) -> None:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            failures.append(f"{path}: {actual!r} is not a mapping")
            return
        for key, value in expected.items():
            _subset(actual.get(key), value, f"{path}/{key}", failures)
    elif actual != expected:
        failures.append(f"{path}: {actual!r} != {expected!r}")


def _order_summary(order: dict[str, Any]) -> dict[str, Any]:
    """A new order (placed in the conversation; its id is random) as the scenario describes it."""
    payments = order.get("payment_history", [])
    return {
        **order,
        "item_ids": sorted(item["item_id"] for item in order["items"]),
        "payment_method_id": payments[0]["payment_method_id"] if payments else None,
        "total": payments[0]["amount"] if payments else None,
    }


def check_store(
    scenario: Mapping[str, Any], store: SqlCommerceStore, conversation_id: str, demo_db: Mapping[str, Any]
) -> list[str]:
    """The final store: changed records field by field, untouched records exactly as in ``demo_db`` (the store's
    data before the conversation: the demo's, or the scenario's shop's), the orders placed in the conversation, the
    conversation's cart and its escalation tickets."""
    failures: list[str] = []
    final = export(store)
    _subset(final, scenario.get("store", {}), "store", failures)
    for ref in scenario.get("unchanged", []):
        kind, key = ref.split("/", 1)
        if final[kind].get(key) != demo_db[kind][key]:
            failures.append(f"{ref} changed")
    if "new_orders" in scenario:
        new = [_order_summary(o) for key, o in final["orders"].items() if key not in demo_db["orders"]]
        expected = scenario["new_orders"]
        if len(new) != len(expected):
            failures.append(f"new orders: {[o['order_id'] for o in new]}, expected {len(expected)}")
        else:
            for n, (actual, wanted) in enumerate(zip(new, expected, strict=True)):
                _subset(actual, wanted, f"new_orders/{n}", failures)
    with store.session() as session:
        cart = session.get_cart(conversation_id)
        tickets = [t for t in session.list_tickets() if t.conversation_id == conversation_id]
    if "cart" in scenario:
        lines = {line.item_id: line.quantity for line in cart.lines} if cart else {}
        wanted_lines = {str(k): v for k, v in (scenario["cart"] or {}).items()}
        if lines != wanted_lines:
            failures.append(f"cart: {lines} != {wanted_lines}")
    if "tickets" in scenario and len(tickets) != scenario["tickets"]:
        failures.append(f"tickets: {[t.summary for t in tickets]}, expected {scenario['tickets']}")
    return failures


@dataclass
class ScenarioRun:
    """One scenario played: every turn's result and timing, and every failed check (empty when it passed)."""

    conversation_id: str
    turns: list[tuple[str, TurnResult, float]] = field(default_factory=list)
    """(customer message, what it produced, seconds the turn took)."""
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def run_scenario(
    scenario: Mapping[str, Any],
    service: ConversationService,
    store: SqlCommerceStore,
    demo_db: Mapping[str, Any],
) -> ScenarioRun:
    """Play every turn of ``scenario``, checking each as it comes, then the store."""
    run = ScenarioRun(service.start())
    for n, turn in enumerate(scenario["turns"]):
        started = time.perf_counter()
        result = service.send(run.conversation_id, turn["user"])
        run.turns.append((turn["user"], result, time.perf_counter() - started))
        run.failures.extend(check_turn(n, turn.get("expect", {}), result))
    run.failures.extend(check_store(scenario, store, run.conversation_id, demo_db))
    return run
