"""Bad tool calls fail cleanly and change nothing: unknown tools, missing/unexpected/mistyped arguments, unknown
ids, wrong statuses, short gift cards, a store that is down or locked, and a write that fails half-way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

import shopkeep.store.sqlite as sqlite_backend
from shopkeep.errors import RetryableError, StoreUnavailableError, UnknownToolError
from shopkeep.store import SqlCommerceStore
from shopkeep.store.postgres import create_postgres_engine
from shopkeep.store.seed import export, tau2_hash
from shopkeep.store.sql import SqlSession
from shopkeep.tools import ToolContext, retail_registry
from shopkeep.tools.base import STORE_DOWN_MESSAGE
from tests.conftest import fresh_sqlite_store

REGISTRY = retail_registry()
INITIAL_HASH = "b25c9cb211f5efcaee5dd646054a73c4a9f43f4f5acc32c10713cd9f9ac20e9c"
DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none"
STORE_DOWN = f"Error: {STORE_DOWN_MESSAGE}"
ADDRESS = {
    "address1": "1 Test St",
    "address2": "",
    "city": "Austin",
    "state": "TX",
    "country": "USA",
    "zip": "78701",
}

PENDING = "#W1006327"  # james_johnson_9321, paid with credit_card_4998749
DELIVERED = "#W1867876"  # paid with credit_card_1034663
PROCESSED = "#W1770559"
CANCELLED = "#W1106948"


@pytest.fixture
def store(sqlite_template: Path, tmp_path: Path) -> Iterator[SqlCommerceStore]:
    opened = fresh_sqlite_store(sqlite_template, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    """Store failures are logged (and rendering tracebacks to the console is slow): capture them instead."""
    with capture_logs() as captured:
        yield captured


def store_hash(store: SqlCommerceStore) -> str:
    return tau2_hash(export(store))


def python_message(tool_name: str, arguments: dict[str, Any]) -> str:
    """The TypeError text Python gives for these keyword arguments (what τ² shows for a malformed call)."""
    parameters = ", ".join(["self", *REGISTRY.get(tool_name).parameters])
    namespace: dict[str, Any] = {}
    exec(f"class RetailTools:\n    def {tool_name}({parameters}): pass", namespace)
    with pytest.raises(TypeError) as raised:
        getattr(namespace["RetailTools"](), tool_name)(**arguments)
    return str(raised.value)


def test_a_fresh_store_has_the_initial_hash(store: SqlCommerceStore) -> None:
    assert store_hash(store) == INITIAL_HASH


# unknown tool, malformed arguments -----------------------------------------------------------------------------


def test_unknown_tool(store: SqlCommerceStore) -> None:
    outcome = REGISTRY.call("x", {"order_id": PENDING}, ToolContext(store=store))
    assert (outcome.ok, outcome.output, outcome.error) == (False, None, "Error: Tool 'x' not found.")
    assert outcome.text == "Error: Tool 'x' not found."
    with pytest.raises(UnknownToolError) as raised:
        REGISTRY.get("x")
    assert raised.value.message == "Tool 'x' not found."
    assert raised.value.name == "x"
    assert raised.value.available == REGISTRY.names()
    assert len(raised.value.available) == 16
    assert "cancel_pending_order" in raised.value.available
    assert store_hash(store) == INITIAL_HASH


MISSING = [
    ("cancel_pending_order", {"order_id": PENDING}),
    ("cancel_pending_order", {}),
    ("get_order_details", {}),
    ("modify_pending_order_items", {"order_id": PENDING, "item_ids": ["5925362855"]}),
    ("find_user_id_by_name_zip", {"first_name": "James"}),
]


@pytest.mark.parametrize(("name", "arguments"), MISSING)
def test_missing_arguments_give_pythons_text(name: str, arguments: dict[str, Any], store: SqlCommerceStore) -> None:
    outcome = REGISTRY.call(name, arguments, ToolContext(store=store))
    assert not outcome.ok
    assert outcome.output is None
    assert outcome.error == f"Error: {python_message(name, arguments)}"
    assert store_hash(store) == INITIAL_HASH


def test_missing_argument_text_is_taus() -> None:
    """The one text τ² recorded (edge_cases.json), spelled out."""
    outcome = REGISTRY.call("cancel_pending_order", {"order_id": PENDING}, ToolContext(store=None))  # type: ignore[arg-type]
    assert outcome.error == (
        "Error: RetailTools.cancel_pending_order() missing 1 required positional argument: 'reason'"
    )


def test_three_missing_arguments_use_pythons_list_format(store: SqlCommerceStore) -> None:
    arguments = {"order_id": PENDING}
    outcome = REGISTRY.call("modify_pending_order_items", arguments, ToolContext(store=store))
    assert outcome.error == f"Error: {python_message('modify_pending_order_items', arguments)}"


UNEXPECTED = [
    ("get_order_details", {"order_id": PENDING, "verbose": True}),
    ("list_all_product_types", {"category": "all"}),
    (
        "cancel_pending_order",
        {"order_id": PENDING, "reason": "no longer needed", "customer_id": "someone_else"},
    ),
]


@pytest.mark.parametrize(("name", "arguments"), UNEXPECTED)
def test_unexpected_arguments_give_pythons_text(name: str, arguments: dict[str, Any], store: SqlCommerceStore) -> None:
    outcome = REGISTRY.call(name, arguments, ToolContext(store=store))
    assert not outcome.ok
    assert outcome.error == f"Error: {python_message(name, arguments)}"
    assert "unexpected keyword argument" in outcome.error
    assert store_hash(store) == INITIAL_HASH


def test_unexpected_and_missing_reports_the_unexpected_one(store: SqlCommerceStore) -> None:
    arguments = {"order_id": PENDING, "verbose": True}
    outcome = REGISTRY.call("cancel_pending_order", arguments, ToolContext(store=store))
    assert outcome.error == f"Error: {python_message('cancel_pending_order', arguments)}"


MISTYPED = [
    ("modify_pending_order_items", {"item_ids": "5925362855", "new_item_ids": ["6117189161"]}, "item_ids"),
    ("modify_pending_order_items", {"item_ids": [5925362855], "new_item_ids": ["6117189161"]}, "item_ids.0"),
    ("modify_pending_order_items", {"item_ids": ["5925362855"], "new_item_ids": None}, "new_item_ids"),
    ("get_order_details", {"order_id": 1006327}, "order_id"),
    ("cancel_pending_order", {"order_id": PENDING, "reason": None}, "reason"),
    ("return_delivered_order_items", {"order_id": DELIVERED, "item_ids": ("6906307980",)}, "item_ids"),
    ("calculate", {"expression": 2}, "expression"),
    ("get_user_details", {"user_id": True}, "user_id"),
]


@pytest.mark.parametrize(("name", "arguments", "field"), MISTYPED)
def test_mistyped_argument_names_the_field(
    name: str, arguments: dict[str, Any], field: str, store: SqlCommerceStore
) -> None:
    defaults = {"order_id": PENDING, "payment_method_id": "credit_card_4998749"}
    full = {k: v for k, v in defaults.items() if k in REGISTRY.get(name).parameters} | arguments
    outcome = REGISTRY.call(name, full, ToolContext(store=store))
    assert not outcome.ok
    assert outcome.output is None
    assert outcome.error is not None
    assert outcome.error.startswith(f"Error: Invalid argument '{field}' for {name}: ")
    assert store_hash(store) == INITIAL_HASH


@pytest.mark.parametrize("arguments", [["#W1006327", "no longer needed"], "#W1006327", None, 7])
def test_arguments_that_are_not_an_object(arguments: Any, store: SqlCommerceStore) -> None:
    outcome = REGISTRY.call("cancel_pending_order", arguments, ToolContext(store=store))
    assert not outcome.ok
    assert outcome.error == "Error: Arguments for cancel_pending_order must be a JSON object"
    assert store_hash(store) == INITIAL_HASH


# unknown ids, wrong statuses, gift cards too short: τ²'s texts, nothing written --------------------------------

REFUSED = [
    pytest.param("cancel_pending_order", {"order_id": "W1006327", "reason": "no longer needed"},
                 "Order not found", id="cancel-no-hash"),
    pytest.param("cancel_pending_order", {"order_id": "#W0000000", "reason": "no longer needed"},
                 "Order not found", id="cancel-unknown"),
    pytest.param("cancel_pending_order", {"order_id": DELIVERED, "reason": "no longer needed"},
                 "Non-pending order cannot be cancelled", id="cancel-delivered"),
    pytest.param("cancel_pending_order", {"order_id": PROCESSED, "reason": "no longer needed"},
                 "Non-pending order cannot be cancelled", id="cancel-processed"),
    pytest.param("cancel_pending_order", {"order_id": CANCELLED, "reason": "ordered by mistake"},
                 "Non-pending order cannot be cancelled", id="cancel-cancelled"),
    pytest.param("cancel_pending_order", {"order_id": PENDING, "reason": "found it cheaper"},
                 "Invalid reason", id="cancel-reason"),
    pytest.param("modify_pending_order_address", {"order_id": "#W0000000", **ADDRESS},
                 "Order not found", id="address-unknown"),
    pytest.param("modify_pending_order_address", {"order_id": PROCESSED, **ADDRESS},
                 "Non-pending order cannot be modified", id="address-processed"),
    pytest.param("modify_pending_order_items",
                 {"order_id": "#W0000000", "item_ids": ["5925362855"], "new_item_ids": ["6117189161"],
                  "payment_method_id": "credit_card_4998749"},
                 "Order not found", id="items-unknown-order"),
    pytest.param("modify_pending_order_items",
                 {"order_id": DELIVERED, "item_ids": ["6906307980"], "new_item_ids": ["3557711149"],
                  "payment_method_id": "credit_card_1034663"},
                 "Non-pending order cannot be modified", id="items-delivered"),
    pytest.param("modify_pending_order_items",
                 {"order_id": PENDING, "item_ids": ["0000000000"], "new_item_ids": ["6117189161"],
                  "payment_method_id": "credit_card_4998749"},
                 "0000000000 not found", id="items-unknown-item"),
    pytest.param("modify_pending_order_items",
                 {"order_id": PENDING, "item_ids": ["5925362855"], "new_item_ids": ["9999999999"],
                  "payment_method_id": "credit_card_4998749"},
                 "Variant not found", id="items-unknown-variant"),
    pytest.param("modify_pending_order_items",
                 {"order_id": PENDING, "item_ids": ["5925362855"], "new_item_ids": ["6117189161"],
                  "payment_method_id": "credit_card_0000000"},
                 "Payment method not found", id="items-unknown-method"),
    pytest.param("modify_pending_order_items",
                 {"order_id": "#W6779827", "item_ids": ["7896397433"], "new_item_ids": ["8068777068"],
                  "payment_method_id": "gift_card_7219486"},
                 "Insufficient gift card balance to pay for the new item", id="items-gift-card-short"),
    pytest.param("modify_pending_order_payment", {"order_id": "#W0000000", "payment_method_id": "paypal_5914760"},
                 "Order not found", id="payment-unknown-order"),
    pytest.param("modify_pending_order_payment", {"order_id": PROCESSED, "payment_method_id": "gift_card_5826260"},
                 "Non-pending order cannot be modified", id="payment-processed"),
    pytest.param("modify_pending_order_payment", {"order_id": "#W3189752", "payment_method_id": "paypal_0000000"},
                 "Payment method not found", id="payment-unknown-method"),
    pytest.param("modify_pending_order_payment",
                 {"order_id": "#W3189752", "payment_method_id": "gift_card_8049813"},
                 "Insufficient gift card balance to pay for the order", id="payment-gift-card-short"),
    pytest.param("modify_user_address", {"user_id": "nobody_0000", **ADDRESS},
                 "User not found", id="user-address-unknown"),
    pytest.param("return_delivered_order_items",
                 {"order_id": "#W0000000", "item_ids": [], "payment_method_id": "credit_card_1034663"},
                 "Order not found", id="return-unknown-order"),
    pytest.param("return_delivered_order_items",
                 {"order_id": PENDING, "item_ids": ["5925362855"], "payment_method_id": "credit_card_4998749"},
                 "Non-delivered order cannot be returned", id="return-pending"),
    pytest.param("return_delivered_order_items",
                 {"order_id": DELIVERED, "item_ids": ["6906307980"], "payment_method_id": "gift_card_0000000"},
                 "Payment method not found", id="return-unknown-method"),
    pytest.param("exchange_delivered_order_items",
                 {"order_id": "#W0000000", "item_ids": [], "new_item_ids": [], "payment_method_id": "paypal_7706317"},
                 "Order not found", id="exchange-unknown-order"),
    pytest.param("exchange_delivered_order_items",
                 {"order_id": PENDING, "item_ids": ["5925362855"], "new_item_ids": ["6117189161"],
                  "payment_method_id": "credit_card_4998749"},
                 "Non-delivered order cannot be exchanged", id="exchange-pending"),
    pytest.param("exchange_delivered_order_items",
                 {"order_id": "#W4316152", "item_ids": ["7292993796", "7292993796"],
                  "new_item_ids": ["3761330360", "9647374798"], "payment_method_id": "gift_card_7245904"},
                 "Insufficient gift card balance to pay for the price difference", id="exchange-gift-card-short"),
    pytest.param("get_user_details", {"user_id": "nobody_0000"}, "User not found", id="get-user"),
    pytest.param("get_order_details", {"order_id": "#W0000000"}, "Order not found", id="get-order"),
    pytest.param("get_product_details", {"product_id": "5925362855"}, "Product not found", id="get-product"),
    pytest.param("get_item_details", {"item_id": "0000000000"}, "Item not found", id="get-item"),
    pytest.param("find_user_id_by_email", {"email": "nobody@example.com"}, "User not found", id="find-email"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "arguments", "message"), REFUSED)
def test_refused_calls_give_taus_text_and_change_nothing(
    name: str, arguments: dict[str, Any], message: str, store: SqlCommerceStore
) -> None:
    outcome = REGISTRY.call(name, arguments, ToolContext(store=store))
    assert (outcome.ok, outcome.output, outcome.error) == (False, None, f"Error: {message}")
    assert store_hash(store) == INITIAL_HASH


# the store itself fails --------------------------------------------------------------------------------------


@pytest.fixture
def down_store() -> Iterator[SqlCommerceStore]:
    unreachable = SqlCommerceStore(create_postgres_engine(DOWN_URL))
    yield unreachable
    unreachable.close()


def test_a_down_store_raises_a_retryable_store_unavailable_error(down_store: SqlCommerceStore) -> None:
    with pytest.raises(StoreUnavailableError) as raised:
        down_store.is_empty()
    assert isinstance(raised.value, RetryableError)
    assert "unavailable" in raised.value.message


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("get_order_details", {"order_id": PENDING}),
        ("cancel_pending_order", {"order_id": PENDING, "reason": "no longer needed"}),
    ],
)
def test_a_down_store_gives_a_clear_tool_error(
    name: str, arguments: dict[str, Any], down_store: SqlCommerceStore, logs: list[dict[str, Any]]
) -> None:
    outcome = REGISTRY.call(name, arguments, ToolContext(store=down_store))
    assert (outcome.ok, outcome.output, outcome.error) == (False, None, STORE_DOWN)
    assert [(e["event"], e["tool"], e["log_level"]) for e in logs] == [("tool_store_error", name, "error")]
    assert STORE_DOWN.startswith("Error: The store is temporarily unavailable; nothing was changed")


def test_tools_that_need_no_store_still_work_when_it_is_down(down_store: SqlCommerceStore) -> None:
    ctx = ToolContext(store=down_store)
    assert REGISTRY.call("calculate", {"expression": "2 + 2"}, ctx).output == "4.0"
    assert REGISTRY.call("transfer_to_human_agents", {"summary": "x"}, ctx).output == "Transfer successful"


def test_a_locked_sqlite_store_fails_writes_cleanly(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: list[dict[str, Any]]
) -> None:
    monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_MS", 100)
    store = fresh_sqlite_store(sqlite_template, tmp_path)
    database = store.engine.url.database
    assert database is not None
    ctx = ToolContext(store=store)
    # the same SQLite library as the store: two library copies in one process do not see each other's locks
    holder = sqlite_backend._dbapi_module().connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        outcome = REGISTRY.call("cancel_pending_order", {"order_id": PENDING, "reason": "no longer needed"}, ctx)
        assert (outcome.ok, outcome.output, outcome.error) == (False, None, STORE_DOWN)
        address = REGISTRY.call("modify_user_address", {"user_id": "james_johnson_9321", **ADDRESS}, ctx)
        assert address.error == STORE_DOWN
        assert [e["tool"] for e in logs] == ["cancel_pending_order", "modify_user_address"]
        # readers are not blocked by a writer (WAL)
        assert REGISTRY.call("get_order_details", {"order_id": PENDING}, ctx).output["status"] == "pending"
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert store_hash(store) == INITIAL_HASH
    # once the lock is gone the same call goes through
    retried = REGISTRY.call("cancel_pending_order", {"order_id": PENDING, "reason": "no longer needed"}, ctx)
    assert retried.ok, retried.error
    assert retried.output["status"] == "cancelled"
    store.close()


# a write that fails half-way is rolled back --------------------------------------------------------------------


def _gift_card_balance(ctx: ToolContext, user_id: str, card: str) -> float:
    user = REGISTRY.call("get_user_details", {"user_id": user_id}, ctx).output
    return float(user["payment_methods"][card]["balance"])


@pytest.mark.parametrize("fault", ["database", "bug"])
def test_a_failing_save_after_the_gift_card_debit_rolls_everything_back(
    fault: str, store: SqlCommerceStore, monkeypatch: pytest.MonkeyPatch, logs: list[dict[str, Any]]
) -> None:
    order_id, user_id, card = "#W1080318", "omar_kim_3528", "gift_card_3749819"
    ctx = ToolContext(store=store)
    before = _gift_card_balance(ctx, user_id, card)
    seen_inside: list[float] = []

    def failing_save_order(self: SqlSession, order: Any) -> None:
        customer = self.get_customer(user_id)
        assert customer is not None
        seen_inside.append(float(customer.payment_methods[card].balance))  # type: ignore[union-attr]
        if fault == "database":
            raise OperationalError("UPDATE orders ...", {}, Exception("disk I/O error"))
        raise RuntimeError("injected bug")

    monkeypatch.setattr(SqlSession, "save_order", failing_save_order)
    arguments = {"order_id": order_id, "payment_method_id": card}
    if fault == "database":
        outcome = REGISTRY.call("modify_pending_order_payment", arguments, ctx)
        assert (outcome.ok, outcome.error) == (False, STORE_DOWN)
    else:
        with pytest.raises(RuntimeError, match="injected bug"):
            REGISTRY.call("modify_pending_order_payment", arguments, ctx)
    assert seen_inside == [round(before - 53.43, 2)]  # the debit had happened inside the transaction
    monkeypatch.undo()
    assert _gift_card_balance(ctx, user_id, card) == before
    order = REGISTRY.call("get_order_details", {"order_id": order_id}, ctx).output
    assert len(order["payment_history"]) == 1
    assert store_hash(store) == INITIAL_HASH
