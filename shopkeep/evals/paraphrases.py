"""The paraphrase set: conversations in customers' own words, judged on what the store holds at the end.

``evals/paraphrases/*.yaml`` were written by a helper that never read the brain, its tests or the scenarios, from
only the shop's data (products, customers, orders, help pages) and a plain list of tasks (see ``HOW_WRITTEN.md``).
Each file has the customer's turns and what must be true at the end: one write (a cancelled order, a requested
return or exchange, changed items, address or payment, a new default address, a placed order, a cart) or, for
questions, facts the replies must state. A write conversation passes when that exact change is in the store and
nothing else in the store changed; a question passes when nothing changed and every fact is in a reply.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shopkeep.agents.service import ConversationService
from shopkeep.evals.scenarios import ScenarioRun
from shopkeep.settings import PROJECT_ROOT
from shopkeep.store import SqlCommerceStore
from shopkeep.store.seed import export

PARAPHRASES_DIR = PROJECT_ROOT / "evals" / "paraphrases"
GOALS = (
    "cancel",
    "return",
    "exchange",
    "modify_items",
    "modify_address",
    "modify_payment",
    "default_address",
    "buy",
    "cart",
    "read_only",
    "policy",
)
ORDER_WRITES: dict[str, str | None] = {
    "cancel": "cancelled",
    "return": "return requested",
    "exchange": "exchange requested",
    "modify_items": "pending (item modified)",
    "modify_address": None,
    "modify_payment": None,
}
"""The status an order holds after each kind of write (None: the one it had)."""
RECORDED = {
    "return": (("return_items", "item_ids"), ("return_payment_method_id", "payment_method_id")),
    "exchange": (
        ("exchange_items", "item_ids"),
        ("exchange_new_items", "new_item_ids"),
        ("exchange_payment_method_id", "payment_method_id"),
    ),
}
"""What a return or exchange request records on the order (its field, the paraphrase's expect key)."""


@dataclass(frozen=True)
class Paraphrase:
    id: str
    goal: str
    task: str
    customer: dict[str, Any]
    turns: list[str]
    expect: dict[str, Any]

    @property
    def wanted(self) -> dict[str, Any]:
        """The goal's own block of ``expect``."""
        block: dict[str, Any] = self.expect[self.goal]
        return block


def paraphrase_files(directory: Path = PARAPHRASES_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_paraphrase(path: Path) -> Paraphrase:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if raw.get("goal") not in GOALS or raw["goal"] not in raw.get("expect", {}):
        raise ValueError(f"{path.name}: goal {raw.get('goal')!r} must be one of {GOALS} with its expect block")
    turns = raw.get("turns") or []
    if not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        raise ValueError(f"{path.name}: turns must be non-empty strings")
    return Paraphrase(str(raw["id"]), raw["goal"], raw.get("task", ""), raw.get("customer", {}), turns, raw["expect"])


def run_paraphrase(
    case: Paraphrase, service: ConversationService, store: SqlCommerceStore, demo_db: Mapping[str, Any]
) -> ScenarioRun:
    """Play the customer's turns, then judge the store (and, for questions, the replies)."""
    run = ScenarioRun(service.start())
    for text in case.turns:
        started = time.perf_counter()
        result = service.send(run.conversation_id, text)
        run.turns.append((text, result, time.perf_counter() - started))
    replies = [result.reply for _, result, _ in run.turns]
    run.failures = judge(case, store, run.conversation_id, demo_db, replies)
    return run


def judge(
    case: Paraphrase,
    store: SqlCommerceStore,
    conversation_id: str,
    demo_db: Mapping[str, Any],
    replies: list[str],
) -> list[str]:
    final = export(store)
    changed_orders = {k for k, o in final["orders"].items() if demo_db["orders"].get(k) != o}
    changed_users = {k for k, u in final["users"].items() if demo_db["users"].get(k) != u}
    wanted = case.wanted
    failures: list[str] = []
    expected_orders: set[str] = set()
    expected_users: set[str] = set()
    if case.goal in ORDER_WRITES:
        order_id = wanted["order_id"]
        expected_orders = {order_id}
        failures += _order_write(case.goal, wanted, final["orders"].get(order_id, {}), demo_db["orders"][order_id])
    elif case.goal == "default_address":
        user_id = case.customer["user_id"]
        expected_users = {user_id}
        address = final["users"].get(user_id, {}).get("address", {})
        failures += _same_address(address, wanted["address"], "default address")
    elif case.goal == "buy":
        new = [k for k in changed_orders if k not in demo_db["orders"]]
        expected_orders = set(new)
        failures += _placed(wanted, [final["orders"][k] for k in new], case.customer["user_id"])
    elif case.goal == "cart":
        with store.session() as session:
            cart = session.get_cart(conversation_id)
        lines = {line.item_id: line.quantity for line in cart.lines} if cart else {}
        want = {str(k): int(v) for k, v in wanted["items"].items()}
        if lines != want:
            failures.append(f"cart holds {lines}, expected {want}")
    else:
        failures += _mentioned(wanted.get("mentions", []), replies)
    if unexpected := sorted(changed_orders - expected_orders):
        failures.append(f"orders changed that should not have: {unexpected}")
    # a new order is listed on its customer and a refund or charge moves a gift card's balance: nothing else of the
    # customer's may change
    user_id = case.customer["user_id"]
    if user_id in changed_users and _only_orders_and_balances(demo_db["users"][user_id], final["users"][user_id]):
        changed_users.discard(user_id)
    if unexpected := sorted(changed_users - expected_users):
        failures.append(f"customers changed that should not have: {unexpected}")
    return failures


def _only_orders_and_balances(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    def without(user: Mapping[str, Any]) -> dict[str, Any]:
        methods = {k: {f: v for f, v in m.items() if f != "balance"} for k, m in user["payment_methods"].items()}
        return {**{k: v for k, v in user.items() if k != "orders"}, "payment_methods": methods}

    return without(before) == without(after)


def _order_write(
    goal: str, wanted: Mapping[str, Any], order: Mapping[str, Any], before: Mapping[str, Any]
) -> list[str]:
    if not order:
        return [f"order {wanted['order_id']} is missing"]
    failures = []
    status = ORDER_WRITES[goal] or before["status"]
    if order.get("status") != status:
        failures.append(f"order {wanted['order_id']} is {order.get('status')!r}, expected {status!r}")
    if goal == "cancel" and order.get("cancel_reason") != wanted["reason"]:
        failures.append(f"cancel reason {order.get('cancel_reason')!r}, expected {wanted['reason']!r}")
    for field, key in RECORDED.get(goal, ()):
        actual, expected = order.get(field), wanted[key]
        if isinstance(expected, list):
            actual, expected = sorted(actual or []), sorted(expected)
        if actual != expected:
            failures.append(f"{field} is {actual}, expected {expected}")
    if goal == "modify_items":
        expected = sorted(
            [i["item_id"] for i in before["items"] if i["item_id"] not in wanted["item_ids"]] + wanted["new_item_ids"]
        )
        actual = sorted(i["item_id"] for i in order.get("items", []))
        if actual != expected:
            failures.append(f"items {actual}, expected {expected}")
        methods = {p["payment_method_id"] for p in order.get("payment_history", [])[len(before["payment_history"]) :]}
        if methods - {wanted["payment_method_id"]}:
            failures.append(f"difference settled with {sorted(methods)}, expected {wanted['payment_method_id']}")
    if goal == "modify_address":
        failures += _same_address(order.get("address", {}), wanted["address"], "shipping address")
    if goal == "modify_payment":  # a payment with the new method, then a refund to the old one
        added = order.get("payment_history", [])[len(before["payment_history"]) :]
        paid = [p["payment_method_id"] for p in added if p["transaction_type"] == "payment"]
        if paid != [wanted["payment_method_id"]]:
            failures.append(f"new payments {paid}, expected one with {wanted['payment_method_id']}")
    return failures


def _normal(value: Any) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(value or "").lower()).strip()


def _same_address(actual: Mapping[str, Any], wanted: Mapping[str, Any], what: str) -> list[str]:
    fields = ("address1", "address2", "city", "state", "zip")
    diff = [f for f in fields if _normal(actual.get(f)) != _normal(wanted.get(f))]
    return [f"{what} {dict(actual)} differs from {dict(wanted)} in {diff}"] if diff else []


def _placed(wanted: Mapping[str, Any], new: list[Mapping[str, Any]], user_id: str) -> list[str]:
    if len(new) != 1:
        return [f"{len(new)} new orders, expected 1"]
    order = new[0]
    failures = []
    if order.get("user_id") != user_id:
        failures.append(f"the order is {order.get('user_id')}'s, expected {user_id}'s")
    items = sorted(i["item_id"] for i in order["items"])
    if items != sorted(wanted["item_ids"]):
        failures.append(f"ordered {items}, expected {sorted(wanted['item_ids'])}")
    methods = {p["payment_method_id"] for p in order.get("payment_history", [])}
    if methods != {wanted["payment_method_id"]}:
        failures.append(f"paid with {sorted(methods)}, expected {wanted['payment_method_id']}")
    return failures


def _mentioned(facts: list[str], replies: list[str]) -> list[str]:
    """Every fact in some reply, compared on lowercase letters and digits only ("5-7 days" is "5 7 days")."""
    said = " ".join(_normal(reply) for reply in replies)
    return [f"no reply states {fact!r}" for fact in facts if _normal(fact) not in said]
