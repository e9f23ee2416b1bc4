"""Variant resolution: every describable exchange/modify of the τ² train split resolves to the item the task
expects (``variant_cases.yaml``), plus ambiguous, out-of-stock and impossible requests."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from shopkeep.domain import Product, Variant
from shopkeep.retrieval.query import QueryParser
from shopkeep.retrieval.variants import resolve_variant
from shopkeep.store.seed import StoreData
from tests.conftest import TAU2_DIR

CASES: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (Path(__file__).parent / "variant_cases.yaml").read_text(encoding="utf-8")
)
ITEM_ACTIONS = ("exchange_delivered_order_items", "modify_pending_order_items")


@cache
def _train_tasks() -> dict[str, dict[str, Any]]:
    tasks = json.loads((TAU2_DIR / "tasks_train.json").read_text(encoding="utf-8"))
    return {task["id"]: task for task in tasks}


@cache
def _expected_states() -> dict[str, Any]:
    states = json.loads((TAU2_DIR / "expected_states_train.json").read_text(encoding="utf-8"))
    tasks: dict[str, Any] = states["tasks"]
    return tasks


def _item_pairs() -> list[tuple[str, str, str, str]]:
    """(task, action id, old item, new item) for every item exchanged or modified in the train split."""
    pairs = []
    for task_id, task in _train_tasks().items():
        for action in task["evaluation_criteria"]["actions"]:
            if action["name"] in ITEM_ACTIONS:
                arguments = action["arguments"]
                for old, new in zip(arguments["item_ids"], arguments["new_item_ids"], strict=True):
                    pairs.append((task_id, action["action_id"], old, new))
    return pairs


@pytest.fixture(scope="module")
def parser(demo_data: StoreData) -> QueryParser:
    return QueryParser(demo_data.products)


@pytest.fixture(scope="module")
def items(demo_data: StoreData) -> dict[str, tuple[Product, Variant]]:
    return {
        item_id: (product, variant) for product in demo_data.products for item_id, variant in product.variants.items()
    }


@pytest.fixture(scope="module")
def by_name(demo_data: StoreData) -> dict[str, Product]:
    return {product.name: product for product in demo_data.products}


def test_the_cases_cover_every_train_exchange_and_modification() -> None:
    covered = [(case["action"], case["base"], case["expected"]) for case in CASES["train"] + CASES["skipped"]]
    wanted = [(action, old, new) for _, action, old, new in _item_pairs()]
    assert sorted(covered) == sorted(wanted)
    assert len(CASES["train"]) >= 30
    assert len(CASES["synthetic"]) >= 15


@pytest.mark.parametrize("case", CASES["train"], ids=[f"{c['action']}:{c['base']}" for c in CASES["train"]])
def test_train_descriptions_resolve_to_the_expected_item(
    case: dict[str, Any], parser: QueryParser, items: dict[str, tuple[Product, Variant]], demo_data: StoreData
) -> None:
    task = _train_tasks()[case["task"]]
    reason = task["user_scenario"]["instructions"]["reason_for_call"].lower()
    words: list[str] = re.findall(r"[a-z]{4,}", case["phrase"].lower())
    assert sum(word in reason for word in words) >= len(words) / 2, "the phrase should come from reason_for_call"
    action = next(a for a in task["evaluation_criteria"]["actions"] if a["action_id"] == case["action"])
    assert action["arguments"]["order_id"] == case["order"]
    assert (case["base"], case["expected"]) in zip(
        action["arguments"]["item_ids"], action["arguments"]["new_item_ids"], strict=True
    )
    order_items = _order_items(case["task"], case["order"], demo_data)
    assert case["base"] in order_items

    product, base = items[case["base"]]
    resolution = resolve_variant(product, case["phrase"], parser, base=base)
    assert (resolution.status, resolution.matches[0].item_id) == ("exact", case["expected"]), resolution.message
    assert resolution.matches[0].score == 1.0
    assert resolution.open_options == {}


def _order_items(task_id: str, order_id: str, demo_data: StoreData) -> set[str]:
    """The order's items as the task's get_order_details call showed them (else as the demo store has them)."""
    for action in _expected_states()[task_id]["actions"]:
        if action["name"] == "get_order_details" and action["arguments"]["order_id"] == order_id:
            return {item["item_id"] for item in action["output"]["items"]}
    order = next(order for order in demo_data.orders if order.order_id == order_id)
    return {item.item_id for item in order.items}


@pytest.mark.parametrize("case", CASES["synthetic"], ids=[f"{c['product']}: {c['phrase']}" for c in CASES["synthetic"]])
def test_synthetic_descriptions(
    case: dict[str, Any],
    parser: QueryParser,
    items: dict[str, tuple[Product, Variant]],
    by_name: dict[str, Product],
) -> None:
    base = items[case["base"]][1] if case.get("base") else None
    resolution = resolve_variant(by_name[case["product"]], case["phrase"], parser, base=base)
    assert resolution.status == case["status"], resolution.message
    if "expected" in case:
        assert resolution.matches[0].item_id == case["expected"]
    if "open_options" in case:
        assert resolution.open_options == case["open_options"]
    if "message_contains" in case:
        assert case["message_contains"] in resolution.message


def test_matches_are_ranked_and_explain_what_is_missing(parser: QueryParser, by_name: dict[str, Product]) -> None:
    resolution = resolve_variant(by_name["Mechanical Keyboard"], "tactile, RGB, full size", parser)
    scores = [match.score for match in resolution.matches]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= score < 1 for score in scores)
    top = resolution.matches[0]
    assert top.score == pytest.approx(2 / 3, abs=1e-4)
    assert len(top.unmet) == 1
    assert set(top.unmet.values()) <= {"tactile", "RGB", "full size"}


def test_available_variants_come_first_among_equals(parser: QueryParser, by_name: dict[str, Product]) -> None:
    resolution = resolve_variant(by_name["Smartphone"], "6.1-inch screen", parser)
    fitting = [match for match in resolution.matches if match.score == 1.0]
    flags = [match.available for match in fitting]
    assert flags == sorted(flags, reverse=True)


def test_nothing_requested_asks_about_every_open_option(parser: QueryParser, by_name: dict[str, Product]) -> None:
    resolution = resolve_variant(by_name["Notebook"], "", parser)
    assert resolution.status == "ambiguous"
    assert set(resolution.open_options) <= {"size", "cover type"}
    assert resolution.message.startswith("Which ")


def test_comparisons_need_the_current_item(parser: QueryParser, by_name: dict[str, Product]) -> None:
    resolution = resolve_variant(by_name["T-Shirt"], "one size smaller, cheaper", parser)
    assert "needs the item you have now" in resolution.message
    assert resolution.status == "ambiguous"


def test_bad_descriptions_never_crash(parser: QueryParser, by_name: dict[str, Product]) -> None:
    for description in ("", "😀" * 2000, "$-5", "'; DROP TABLE items; --", "size size size", "x" * 5000):
        resolution = resolve_variant(by_name["Laptop"], description, parser)
        assert resolution.product_id == by_name["Laptop"].product_id
        assert resolution.message


def test_a_product_without_variants_has_no_match(parser: QueryParser) -> None:
    resolution = resolve_variant(Product(name="Laptop", product_id="x"), "i7", parser)
    assert (resolution.status, resolution.matches) == ("no_match", [])
