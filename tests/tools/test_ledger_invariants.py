"""Stateful property test: random sequences of order operations keep the money consistent.

Invariants after every step, for the customers exercised:
- no gift card balance is ever negative;
- no order has refunded more than was paid into it;
- a pending order's net payment equals the sum of its lines; a cancelled order's net payment is zero;
- money is conserved: per gift card, balance + net paid with it into the customer's orders never changes.
"""

from __future__ import annotations

import shutil
import tempfile
from decimal import Decimal
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from shopkeep.domain import GiftCard, Order, OrderStatus
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.seed import demo_db_path, read_tau2_db, seed
from shopkeep.tools import ToolContext, retail_registry
from tests.conftest import DATA_DIR

CUSTOMERS = ("emma_smith_8564", "olivia_ito_3591", "yara_silva_7567", "evelyn_ahmed_3960")
REGISTRY = retail_registry()
ZERO = Decimal("0")


@cache
def template() -> Path:
    path = Path(tempfile.mkdtemp(prefix="shopkeep-ledger-")) / "template.db"
    store = open_store(f"sqlite:///{path}")
    seed(store, read_tau2_db(demo_db_path(DATA_DIR)))
    store.close()
    return path


class OrderLedger(RuleBasedStateMachine):
    store: SqlCommerceStore

    @initialize()
    def open_fresh_store(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="shopkeep-ledger-run-"))
        shutil.copy(template(), self.workdir / "store.db")
        self.store = open_store(f"sqlite:///{self.workdir / 'store.db'}")
        self.ctx = ToolContext(store=self.store)
        self.conserved = self._gift_card_positions()

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # what the machine reads ------------------------------------------------------------------------------------

    def _orders(self) -> list[Order]:
        with self.store.session() as s:
            return [o for user in CUSTOMERS for o in s.list_orders(user)]

    def _methods(self, user_id: str) -> list[str]:
        with self.store.session() as s:
            customer = s.get_customer(user_id)
        assert customer is not None
        return list(customer.payment_methods)

    def _gift_card_positions(self) -> dict[str, Decimal]:
        """Per gift card: balance + net amount paid with it into its owner's orders."""
        positions: dict[str, Decimal] = {}
        with self.store.session() as s:
            for user in CUSTOMERS:
                customer = s.get_customer(user)
                assert customer is not None
                orders = s.list_orders(user)
                for method in customer.payment_methods.values():
                    if isinstance(method, GiftCard):
                        paid = sum((o.net_paid_by_method().get(method.id, ZERO) for o in orders), ZERO)
                        positions[method.id] = method.balance + paid
        return positions

    # rules -------------------------------------------------------------------------------------------------------

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self._orders()))
        reason = data.draw(st.sampled_from(["no longer needed", "ordered by mistake", "changed my mind"]))
        REGISTRY.call("cancel_pending_order", {"order_id": order.order_id, "reason": reason}, self.ctx)

    @rule(data=st.data())
    def change_payment(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self._orders()))
        method = data.draw(st.sampled_from(self._methods(order.user_id)))
        REGISTRY.call(
            "modify_pending_order_payment",
            {"order_id": order.order_id, "payment_method_id": method},
            self.ctx,
        )

    @rule(data=st.data())
    def modify_items(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self._orders()))
        line = data.draw(st.sampled_from(order.items))
        with self.store.session() as s:
            product = s.get_product(line.product_id)
        assert product is not None
        new_item = data.draw(st.sampled_from(list(product.variants)))
        method = data.draw(st.sampled_from(self._methods(order.user_id)))
        REGISTRY.call(
            "modify_pending_order_items",
            {
                "order_id": order.order_id,
                "item_ids": [line.item_id],
                "new_item_ids": [new_item],
                "payment_method_id": method,
            },
            self.ctx,
        )

    @rule(data=st.data())
    def exchange_or_return(self, data: st.DataObject) -> None:
        order = data.draw(st.sampled_from(self._orders()))
        line = data.draw(st.sampled_from(order.items))
        method = data.draw(st.sampled_from(self._methods(order.user_id)))
        if data.draw(st.booleans()):
            args = {"order_id": order.order_id, "item_ids": [line.item_id], "payment_method_id": method}
            REGISTRY.call("return_delivered_order_items", args, self.ctx)
        else:
            args = {
                "order_id": order.order_id,
                "item_ids": [line.item_id],
                "new_item_ids": [line.item_id],
                "payment_method_id": method,
            }
            REGISTRY.call("exchange_delivered_order_items", args, self.ctx)

    # invariants --------------------------------------------------------------------------------------------------

    @invariant()
    def money_is_consistent(self) -> None:
        for order in self._orders():
            paid = sum((p.amount for p in order.payment_history if p.transaction_type == "payment"), ZERO)
            refunded = sum((p.amount for p in order.payment_history if p.transaction_type == "refund"), ZERO)
            net = paid - refunded
            assert refunded <= paid, order.order_id
            if order.status in (OrderStatus.PENDING, OrderStatus.PENDING_ITEM_MODIFIED):
                assert net == order.total, order.order_id
            if order.status == OrderStatus.CANCELLED and order.cancel_reason is not None:
                assert net == ZERO, order.order_id
        positions = self._gift_card_positions()
        assert positions == self.conserved
        with self.store.session() as s:
            for user in CUSTOMERS:
                customer = s.get_customer(user)
                assert customer is not None
                for method in customer.payment_methods.values():
                    if isinstance(method, GiftCard):
                        assert method.balance >= ZERO


OrderLedger.TestCase.settings = settings(
    max_examples=30, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_order_ledger = OrderLedger.TestCase
