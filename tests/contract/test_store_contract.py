"""The ``CommerceStore`` contract: every backend (SQLite, PostgreSQL, Oracle) passes the same tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shopkeep.domain import (
    Address,
    Cart,
    CartLine,
    ConversationEvent,
    CreditCard,
    EscalationTicket,
    GiftCard,
    Order,
    OrderItem,
    OrderStatus,
    PaymentTransaction,
    TicketStatus,
)
from shopkeep.store import SqlCommerceStore
from shopkeep.store.seed import StoreData, export, tau2_hash

INITIAL_HASH = "b25c9cb211f5efcaee5dd646054a73c4a9f43f4f5acc32c10713cd9f9ac20e9c"


def test_seeded_store_exports_the_demo_data_exactly(store: SqlCommerceStore) -> None:
    assert tau2_hash(export(store)) == INITIAL_HASH


def test_catalog_reads(store: SqlCommerceStore, demo_data: StoreData) -> None:
    with store.session() as s:
        products = s.list_products()
        assert [p.product_id for p in products] == [p.product_id for p in demo_data.products]
        assert sum(len(p.variants) for p in products) == 591
        tshirt = s.get_product("9523456873")
        assert tshirt is not None and tshirt.name == "T-Shirt"
        assert s.get_product("nope") is None
        found = s.get_variant("9612497925")
        assert found is not None
        product_id, variant = found
        assert product_id == "9523456873"
        assert variant.price == Decimal("50.88")
        assert variant.options["color"] == "blue"
        assert s.get_variant("0000000000") is None


def test_customer_lookups(store: SqlCommerceStore) -> None:
    with store.session() as s:
        assert s.find_customer_ids_by_email("NOAH.BROWN7922@example.com") == ["noah_brown_6181"]
        assert s.find_customer_ids_by_email("nobody@example.com") == []
        assert s.find_customer_ids_by_name_zip("noah", "BROWN", "80279") == ["noah_brown_6181"]
        assert s.find_customer_ids_by_name_zip("Noah", "Brown", "80278") == []
        customer = s.get_customer("noah_brown_6181")
        assert customer is not None
        assert customer.orders == ["#W7678072"]
        assert list(customer.payment_methods) == ["paypal_5727330", "credit_card_7815826"]
        card = customer.payment_methods["credit_card_7815826"]
        assert isinstance(card, CreditCard) and card.last_four == "9212"
        assert s.get_customer("nobody_1") is None


def test_customer_writes_are_exact(store: SqlCommerceStore) -> None:
    address = Address(address1="1 Main St", address2="", city="Austin", country="USA", state="TX", zip="73301")
    with store.session(write=True) as s:
        s.save_customer_address("noah_brown_6181", address)
        s.save_payment_method("noah_brown_6181", GiftCard(id="gift_card_0000001", balance=Decimal("0.30")))
        s.save_payment_method("noah_brown_6181", CreditCard(id="credit_card_7815826", brand="visa", last_four="1111"))
    with store.session() as s:
        customer = s.get_customer("noah_brown_6181")
    assert customer is not None
    assert customer.address == address  # an empty address2 stays "" (Oracle stores it as NULL)
    assert list(customer.payment_methods) == ["paypal_5727330", "credit_card_7815826", "gift_card_0000001"]
    gift = customer.payment_methods["gift_card_0000001"]
    assert isinstance(gift, GiftCard) and gift.balance == Decimal("0.1") + Decimal("0.2")
    card = customer.payment_methods["credit_card_7815826"]
    assert isinstance(card, CreditCard) and card.brand == "visa"


def test_order_round_trip_and_new_order(store: SqlCommerceStore, demo_data: StoreData) -> None:
    original = next(o for o in demo_data.orders if o.order_id == "#W2611340")
    with store.session() as s:
        assert s.get_order("#W2611340") == original
        assert s.get_order("W2611340") is None
        assert [o.order_id for o in s.list_orders("noah_brown_6181")] == ["#W7678072"]
    line = OrderItem(name="T-Shirt", product_id="9523456873", item_id="9612497925", price="50.88", options={})
    new = Order(
        order_id="#W0000001",
        user_id="noah_brown_6181",
        address=original.address,
        items=[line, line],
        status=OrderStatus.PENDING,
        payment_history=[
            PaymentTransaction(transaction_type="payment", amount="101.76", payment_method_id="paypal_5727330")
        ],
    )
    with store.session(write=True) as s:
        s.save_order(new)
    changed = new.model_copy(update={"status": OrderStatus.CANCELLED, "cancel_reason": "ordered by mistake"})
    with store.session(write=True) as s:
        s.save_order(changed)
    with store.session() as s:
        assert s.get_order("#W0000001") == changed
        customer = s.get_customer("noah_brown_6181")
        assert customer is not None and customer.orders == ["#W7678072", "#W0000001"]
    assert changed.total == Decimal("101.76")


def test_a_failing_transaction_writes_nothing(store: SqlCommerceStore) -> None:
    before = tau2_hash(export(store))
    address = Address(address1="x", address2="y", city="z", country="USA", state="TX", zip="00000")

    def write_then_fail() -> None:
        with store.session(write=True) as s:
            s.save_customer_address("noah_brown_6181", address)
            s.save_payment_method("noah_brown_6181", GiftCard(id="gift_card_0000002", balance=Decimal("5")))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert tau2_hash(export(store)) == before


def test_carts_tickets_and_events(store: SqlCommerceStore) -> None:
    now = datetime.now(UTC)
    cart = Cart(
        cart_id="cart-1",
        lines=[
            CartLine(
                item_id="9612497925",
                product_id="9523456873",
                name="T-Shirt",
                options={"size": "M"},
                unit_price="50.88",
                quantity=2,
            )
        ],
    )
    ticket = EscalationTicket(
        ticket_id="t-1",
        conversation_id="c-1",
        customer_id=None,
        reason="asked for a human",
        summary="Customer wants a refund outside policy.",
        created_at=now,
        updated_at=now,
    )
    with store.session(write=True) as s:
        s.save_cart(cart)
        s.save_ticket(ticket)
        first = s.append_event(ConversationEvent(conversation_id="c-1", kind="turn", payload={"n": 1}, created_at=now))
        second = s.append_event(
            ConversationEvent(conversation_id="c-1", kind="tool", payload={"n": 2}, variant="B", created_at=now)
        )
    assert second > first
    with store.session(write=True) as s:
        s.save_cart(cart.model_copy(update={"customer_id": "noah_brown_6181"}))
        s.save_ticket(ticket.model_copy(update={"status": TicketStatus.CLAIMED, "assignee": "ana"}))
    with store.session() as s:
        saved = s.get_cart("cart-1")
        assert saved is not None and saved.customer_id == "noah_brown_6181"
        assert saved.subtotal == Decimal("101.76") and saved.item_count == 2
        assert s.get_cart("cart-2") is None
        assigned = s.get_ticket("t-1")
        assert assigned is not None and assigned.assignee == "ana"
        assert [t.ticket_id for t in s.list_tickets(status="claimed")] == ["t-1"]
        assert s.list_tickets(status="open") == []
        events = s.list_events("c-1")
        assert [(e.kind, e.payload, e.variant) for e in events] == [
            ("turn", {"n": 1}, None),
            ("tool", {"n": 2}, "B"),
        ]
        assert s.list_events("c-2") == []
        assert s.has_events("c-1") and not s.has_events("c-2")


def test_a_rehearsal_runs_the_real_checks_and_writes_nothing(store: SqlCommerceStore) -> None:
    from shopkeep.tools import ToolContext, retail_registry

    registry = retail_registry()
    before = tau2_hash(export(store))
    rehearsed = registry.call(
        "cancel_pending_order",
        {"order_id": "#W2417020", "reason": "no longer needed"},
        ToolContext(store=store.rehearsal()),
    )
    assert rehearsed.ok and rehearsed.output["status"] == "cancelled"
    assert tau2_hash(export(store)) == before
    arguments = {"order_id": "#W2611340", "reason": "no longer needed"}
    refused = registry.call("cancel_pending_order", arguments, ToolContext(store=store.rehearsal()))
    assert refused.error == "Error: Non-pending order cannot be cancelled"


def test_events_are_selected_by_kind_and_variant(store: SqlCommerceStore) -> None:
    """The analytics' and experiment reports' one query runs on every backend."""
    now = datetime.now(UTC)
    with store.session(write=True) as s:
        for n, (kind, variant) in enumerate([("user", "A"), ("tool", None), ("rating", "B"), ("usage", "A")]):
            s.append_event(
                ConversationEvent(conversation_id="k-1", kind=kind, payload={"n": n}, variant=variant, created_at=now)
            )
    with store.session() as s:
        mine = [e for e in s.events_of_kinds(["user", "tool", "rating"]) if e.conversation_id == "k-1"]
        assert [e.payload["n"] for e in mine] == [0, 1, 2]
        varied = [e for e in s.events_with_variant(["user", "tool", "rating"]) if e.conversation_id == "k-1"]
        assert [(e.kind, e.variant) for e in varied] == [("user", "A"), ("rating", "B")]
