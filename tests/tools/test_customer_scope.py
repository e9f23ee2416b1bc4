"""Customer scope: inside a conversation a customer reads and changes only their own orders and profile.

Another customer's records are "not found", exactly like unknown ids; before authentication only the catalog
tools and the identification tools answer; an operator (CLI, evals) sees every customer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shopkeep.errors import AuthenticationRequiredError, NotFoundError, NotOwnedError
from shopkeep.store import SqlCommerceStore
from shopkeep.store.seed import export, tau2_hash
from shopkeep.tools import ToolContext, retail_registry
from shopkeep.tools.retail import get_order_details, get_user_details
from tests.conftest import fresh_sqlite_store

REGISTRY = retail_registry()
INITIAL_HASH = "b25c9cb211f5efcaee5dd646054a73c4a9f43f4f5acc32c10713cd9f9ac20e9c"
AUTH_REQUIRED = f"Error: {AuthenticationRequiredError().message}"
ADDRESS = {"address1": "1 Test St", "address2": "", "city": "Austin", "state": "TX", "country": "USA", "zip": "78701"}

# customer A and their orders
A = "sophia_thomas_5301"
A_EMAIL = "sophia.thomas1364@example.com"
A_PENDING = "#W4862767"  # paid with paypal_5297429
A_DELIVERED = "#W1867876"  # paid with credit_card_1034663
# other customers: B (omar_kim_3528) with a pending order, C (olivia_nguyen_6241) with a delivered one
B = "omar_kim_3528"
B_EMAIL = "omar.kim8981@example.com"
B_PENDING = "#W1080318"
C_DELIVERED = "#W1126085"

# every tool that takes an order id or a user id, called on another customer's record with arguments that an
# operator's call would carry out
FOREIGN = [
    pytest.param("get_order_details", {"order_id": B_PENDING}, id="get_order_details"),
    pytest.param("cancel_pending_order", {"order_id": B_PENDING, "reason": "no longer needed"}, id="cancel"),
    pytest.param("modify_pending_order_address", {"order_id": B_PENDING, **ADDRESS}, id="order-address"),
    pytest.param(
        "modify_pending_order_items",
        {
            "order_id": B_PENDING,
            "item_ids": ["8349118980"],
            "new_item_ids": ["9612497925"],
            "payment_method_id": "credit_card_3577130",
        },
        id="items",
    ),
    pytest.param("modify_pending_order_payment", {"order_id": B_PENDING, "payment_method_id": "gift_card_3749819"},
                 id="payment"),
    pytest.param(
        "return_delivered_order_items",
        {"order_id": C_DELIVERED, "item_ids": ["6843647669"], "payment_method_id": "paypal_7706317"},
        id="return",
    ),
    pytest.param(
        "exchange_delivered_order_items",
        {
            "order_id": C_DELIVERED,
            "item_ids": ["6843647669"],
            "new_item_ids": ["2177997696"],
            "payment_method_id": "paypal_7706317",
        },
        id="exchange",
    ),
    pytest.param("get_user_details", {"user_id": B}, id="get_user_details"),
    pytest.param("modify_user_address", {"user_id": B, **ADDRESS}, id="user-address"),
]  # fmt: skip

ACCOUNT_TOOLS_ON_A = [
    ("get_user_details", {"user_id": A}),
    ("get_order_details", {"order_id": A_PENDING}),
    ("cancel_pending_order", {"order_id": A_PENDING, "reason": "no longer needed"}),
    ("modify_pending_order_address", {"order_id": A_PENDING, **ADDRESS}),
    (
        "modify_pending_order_items",
        {"order_id": A_PENDING, "item_ids": [], "new_item_ids": [], "payment_method_id": "paypal_5297429"},
    ),
    ("modify_pending_order_payment", {"order_id": A_PENDING, "payment_method_id": "credit_card_1034663"}),
    ("modify_user_address", {"user_id": A, **ADDRESS}),
    (
        "return_delivered_order_items",
        {"order_id": A_DELIVERED, "item_ids": ["6906307980"], "payment_method_id": "credit_card_1034663"},
    ),
    (
        "exchange_delivered_order_items",
        {"order_id": A_DELIVERED, "item_ids": [], "new_item_ids": [], "payment_method_id": "credit_card_1034663"},
    ),
]


@pytest.fixture
def store(sqlite_template: Path, tmp_path: Path) -> Iterator[SqlCommerceStore]:
    opened = fresh_sqlite_store(sqlite_template, tmp_path)
    yield opened
    opened.close()


def as_customer(store: SqlCommerceStore, customer_id: str | None) -> ToolContext:
    return ToolContext(store=store, scope="customer", customer_id=customer_id, conversation_id="conv-1")


def call(ctx: ToolContext, name: str, arguments: dict[str, Any]) -> Any:
    outcome = REGISTRY.call(name, arguments, ctx)
    assert outcome.ok, (name, outcome.error)
    return outcome.output


def store_hash(store: SqlCommerceStore) -> str:
    return tau2_hash(export(store))


def test_a_customer_reads_and_changes_their_own_records(store: SqlCommerceStore) -> None:
    ctx = as_customer(store, A)
    assert call(ctx, "find_user_id_by_email", {"email": A_EMAIL.upper()}) == A
    assert call(ctx, "find_user_id_by_name_zip", {"first_name": "sophia", "last_name": "THOMAS", "zip": "75396"}) == A
    user = call(ctx, "get_user_details", {"user_id": A})
    assert user["user_id"] == A
    assert set(user["orders"]) == {A_PENDING, A_DELIVERED}
    assert call(ctx, "get_order_details", {"order_id": A_DELIVERED})["status"] == "delivered"

    assert call(ctx, "modify_pending_order_address", {"order_id": A_PENDING, **ADDRESS})["address"] == ADDRESS
    cancelled = call(ctx, "cancel_pending_order", {"order_id": A_PENDING, "reason": "ordered by mistake"})
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "ordered by mistake")
    returned = call(
        ctx,
        "return_delivered_order_items",
        {"order_id": A_DELIVERED, "item_ids": ["6906307980"], "payment_method_id": "credit_card_1034663"},
    )
    assert returned["status"] == "return requested"
    assert call(ctx, "modify_user_address", {"user_id": A, **ADDRESS})["address"] == ADDRESS

    operator = ToolContext(store=store)
    assert call(operator, "get_order_details", {"order_id": A_PENDING})["status"] == "cancelled"
    assert call(operator, "get_order_details", {"order_id": A_DELIVERED})["return_items"] == ["6906307980"]
    assert call(operator, "get_user_details", {"user_id": A})["address"] == ADDRESS


def test_a_customer_can_modify_items_and_payment_of_their_own_pending_order(store: SqlCommerceStore) -> None:
    ctx = as_customer(store, B)
    paid = call(ctx, "modify_pending_order_payment", {"order_id": B_PENDING, "payment_method_id": "gift_card_3749819"})
    assert paid["payment_history"][-2]["payment_method_id"] == "gift_card_3749819"
    other = as_customer(store, "olivia_nguyen_6241")
    exchanged = call(
        other,
        "exchange_delivered_order_items",
        {
            "order_id": C_DELIVERED,
            "item_ids": ["6843647669"],
            "new_item_ids": ["2177997696"],
            "payment_method_id": "paypal_7706317",
        },
    )
    assert exchanged["status"] == "exchange requested"


@pytest.mark.parametrize(("name", "arguments"), FOREIGN)
def test_another_customers_record_is_not_found(name: str, arguments: dict[str, Any], store: SqlCommerceStore) -> None:
    key = "order_id" if "order_id" in arguments else "user_id"
    unknown_id = "#W0000000" if key == "order_id" else "nobody_0000"
    ctx = as_customer(store, A)

    foreign = REGISTRY.call(name, arguments, ctx)
    unknown = REGISTRY.call(name, {**arguments, key: unknown_id}, ctx)
    expected = "Error: Order not found" if key == "order_id" else "Error: User not found"
    assert (foreign.ok, foreign.output, foreign.error) == (False, None, expected)
    assert foreign.as_record() == unknown.as_record()  # indistinguishable from an id that does not exist
    assert store_hash(store) == INITIAL_HASH

    # the record is there and the call is valid: an operator's identical call goes through
    assert REGISTRY.call(name, arguments, ToolContext(store=store)).ok


def test_another_customers_record_is_told_apart_internally(store: SqlCommerceStore) -> None:
    ctx = as_customer(store, A)
    with pytest.raises(NotOwnedError) as raised:
        get_order_details(ctx, B_PENDING)
    assert (raised.value.kind, raised.value.key, raised.value.message) == ("Order", B_PENDING, "Order not found")
    with pytest.raises(NotOwnedError):
        get_user_details(ctx, B)
    with pytest.raises(NotFoundError) as unknown:
        get_order_details(ctx, "#W0000000")
    assert type(unknown.value) is NotFoundError


@pytest.mark.parametrize(("name", "arguments"), ACCOUNT_TOOLS_ON_A)
def test_account_and_order_tools_require_authentication(
    name: str, arguments: dict[str, Any], store: SqlCommerceStore
) -> None:
    outcome = REGISTRY.call(name, arguments, as_customer(store, None))
    assert (outcome.ok, outcome.output, outcome.error) == (False, None, AUTH_REQUIRED)
    assert store_hash(store) == INITIAL_HASH
    # the same call, once authenticated, is answered
    assert REGISTRY.call(name, arguments, as_customer(store, A)).ok


@pytest.mark.parametrize(
    ("name", "arguments"),
    [("get_order_details", {"order_id": "#W0000000"}), ("get_user_details", {"user_id": "nobody_0000"})],
)
def test_before_authentication_unknown_ids_are_not_told_apart(
    name: str, arguments: dict[str, Any], store: SqlCommerceStore
) -> None:
    assert REGISTRY.call(name, arguments, as_customer(store, None)).error == AUTH_REQUIRED


def test_catalog_and_identification_tools_work_before_authentication(store: SqlCommerceStore) -> None:
    ctx = as_customer(store, None)
    product = call(ctx, "get_product_details", {"product_id": "8310926033"})
    assert product["name"] == "Water Bottle"
    types = call(ctx, "list_all_product_types", {})
    assert len(types) == 50
    assert types["Water Bottle"] == "8310926033"
    assert call(ctx, "get_item_details", {"item_id": "3229676465"})["item_id"] == "3229676465"
    assert call(ctx, "calculate", {"expression": "(2 + 3) * 4"}) == "20.0"
    assert call(ctx, "transfer_to_human_agents", {"summary": "wants a human"}) == "Transfer successful"
    assert call(ctx, "find_user_id_by_email", {"email": A_EMAIL}) == A
    assert call(ctx, "find_user_id_by_name_zip", {"first_name": "Omar", "last_name": "Kim", "zip": "32214"}) == B


def test_identifying_as_another_customer_is_refused_once_authenticated(store: SqlCommerceStore) -> None:
    ctx = as_customer(store, A)
    by_email = REGISTRY.call("find_user_id_by_email", {"email": B_EMAIL}, ctx)
    by_zip = REGISTRY.call("find_user_id_by_name_zip", {"first_name": "Omar", "last_name": "Kim", "zip": "32214"}, ctx)
    for outcome in (by_email, by_zip):
        assert not outcome.ok
        assert outcome.output is None
        assert outcome.error is not None
        assert "already verified as another customer" in outcome.error
        assert B not in outcome.error
    # Unknown details get the very same refusal: nothing is learned about who else has an account.
    assert REGISTRY.call("find_user_id_by_email", {"email": "nobody@example.com"}, ctx).error == by_email.error
    assert call(ctx, "find_user_id_by_email", {"email": A_EMAIL}) == A  # re-identifying as oneself is fine


@pytest.mark.parametrize("customer_id", [None, A])
def test_an_operator_sees_every_customer(customer_id: str | None, store: SqlCommerceStore) -> None:
    ctx = ToolContext(store=store, scope="operator", customer_id=customer_id)
    assert call(ctx, "get_user_details", {"user_id": B})["user_id"] == B
    assert call(ctx, "get_order_details", {"order_id": B_PENDING})["user_id"] == B
    assert call(ctx, "get_order_details", {"order_id": A_PENDING})["user_id"] == A
    assert call(ctx, "find_user_id_by_email", {"email": B_EMAIL}) == B
    assert call(ctx, "cancel_pending_order", {"order_id": B_PENDING, "reason": "no longer needed"})["status"] == (
        "cancelled"
    )
    assert ToolContext(store=store).scope == "operator"  # the default
