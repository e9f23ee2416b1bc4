"""The 16 τ²-bench retail tools over the commerce store: same names, arguments, check order and error texts.

Where Shopkeep differs from τ² on purpose (see ``data/tau2_retail/SEMANTICS.md``): each modified line takes its
own new variant's price and options; money is exact to the cent; cancelling refunds the net amount paid per
payment method. Inside a conversation every order and user is also checked against the authenticated customer.

Orders placed through checkout (those with payments-ledger entries) are also settled after every order change
(``payments.ledger.settle_order``, once the change commits): a cancel's refund or a modification's price difference
goes through the gateway, so for every such order captured minus refunded equals what is owed (a return or exchange
request owes nothing until it is processed, so settling it moves nothing yet). Their refunds go only to the
original payment method or to a gift card.
"""

from __future__ import annotations

import ast
import operator
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import structlog

from shopkeep.domain import (
    CANCEL_REASONS,
    Address,
    Customer,
    GiftCard,
    Order,
    OrderStatus,
    PaymentMethod,
    PaymentTransaction,
    Product,
    Variant,
)
from shopkeep.domain.payments import LedgerKind
from shopkeep.errors import (
    InsufficientFundsError,
    InvalidStateError,
    NotFoundError,
    RuleViolationError,
    ShopkeepError,
)
from shopkeep.payments import payment_services
from shopkeep.payments.ledger import settle_order
from shopkeep.store.base import StoreSession
from shopkeep.store.payments import payment_records
from shopkeep.tools.base import Tool, ToolContext, ToolKind, make_tool

log = structlog.get_logger(__name__)

ZERO = Decimal("0.00")


# lookups shared by the tools ----------------------------------------------------------------------------------


def _order(ctx: ToolContext, session: StoreSession, order_id: str, *, for_update: bool = False) -> Order:
    ctx.require_customer()  # before the lookup: an unauthenticated caller must not learn which ids exist
    order = session.get_order(order_id, for_update=for_update)
    if order is None:
        raise NotFoundError("Order", order_id)
    ctx.check_owner(order.user_id, "Order", order_id)
    return order


def _customer(ctx: ToolContext, session: StoreSession, user_id: str, *, for_update: bool = False) -> Customer:
    ctx.require_customer()  # before the lookup: an unauthenticated caller must not learn which ids exist
    customer = session.get_customer(user_id, for_update=for_update)
    if customer is None:
        raise NotFoundError("User", user_id)
    ctx.check_owner(customer.user_id, "User", user_id)
    return customer


def _owner_method(session: StoreSession, order: Order, method_id: str) -> tuple[Customer, PaymentMethod]:
    """The order owner's payment method (locks the owner's row, and so its gift cards)."""
    owner = session.get_customer(order.user_id, for_update=True)
    if owner is None or method_id not in owner.payment_methods:
        raise NotFoundError("Payment method", method_id)
    return owner, owner.payment_methods[method_id]


def _count_check(order: Order, item_ids: list[str], message: Callable[[str], str]) -> None:
    """Each listed id may appear at most as often as the order has lines carrying it."""
    in_order = Counter(item.item_id for item in order.items)
    for item_id, wanted in Counter(item_ids).items():
        if wanted > in_order[item_id]:
            raise RuleViolationError(message(item_id))


def _new_variants(
    session: StoreSession, order: Order, item_ids: list[str], new_item_ids: list[str], *, allow_same: bool
) -> tuple[list[Variant], Decimal]:
    """Check each (old, new) pair in order; return the new variants and the total price difference."""
    difference = ZERO
    chosen: list[Variant] = []
    for old_id, new_id in zip(item_ids, new_item_ids, strict=True):
        if not allow_same and old_id == new_id:
            raise RuleViolationError("The new item id should be different from the old item id")
        line = next((item for item in order.items if item.item_id == old_id), None)
        if line is None:
            raise NotFoundError("Item", old_id, f"Item {old_id} not found")
        product = session.get_product(line.product_id)
        if product is None or new_id not in product.variants:
            raise NotFoundError("Variant", new_id)
        variant = product.variants[new_id]
        if not variant.available:
            raise RuleViolationError(f"New item {new_id} not found or available")
        chosen.append(variant)
        difference += variant.price - line.price
    return chosen, difference


def _check_refund_target(session: StoreSession, order: Order, method: PaymentMethod) -> None:
    """A checkout order's refund goes only to a method it was paid with, or to a gift card (ledger policy)."""
    captured = {
        e.payment_method_id
        for e in payment_records(session).ledger(order_id=order.order_id)
        if e.kind is LedgerKind.CAPTURE
    }
    if captured and not isinstance(method, GiftCard) and method.id not in captured:
        raise RuleViolationError("A refund goes only to the original payment method or to a gift card")


def _settle(ctx: ToolContext, order_id: str) -> None:
    """After a committed change: move the money a checkout order now owes or is owed (no-op for other orders).

    The change already happened, so a settlement failure is logged, not raised: ``settle_order`` is idempotent
    (its keys name the payment-history line), so running it again later completes it, and ``ledger.reconcile``
    lists any order whose books do not balance meanwhile.
    """
    if ctx.store.rehearsal() is ctx.store:
        return  # a proposal's dry run moves no money
    with ctx.store.session() as session:
        if not payment_records(session).ledger(order_id=order_id):
            return  # paid before the ledger existed (the demo's orders): nothing to settle
    services = ctx.payments or payment_services(ctx.store)
    try:
        settle_order(ctx.store, services.gateway, order_id, currency=ctx.currency)
    except ShopkeepError:
        log.exception("settlement_pending", order_id=order_id)


def _charge_gift_card(session: StoreSession, owner: Customer, method: PaymentMethod, amount: Decimal) -> None:
    """Debit (positive amount) or credit (negative amount) a gift card; other methods are settled elsewhere."""
    if isinstance(method, GiftCard):
        session.save_payment_method(owner.user_id, method.model_copy(update={"balance": method.balance - amount}))


# read tools ---------------------------------------------------------------------------------------------------


def find_user_id_by_email(ctx: ToolContext, email: str) -> str:
    """Find a customer's user id by email (case-insensitive). Authenticates the customer in a conversation."""
    with ctx.store.session() as session:
        found = session.find_customer_ids_by_email(email)
    return _authenticated(ctx, found)


def find_user_id_by_name_zip(ctx: ToolContext, first_name: str, last_name: str, zip: str) -> str:
    """Find a customer's user id by first name, last name (case-insensitive) and zip code (exact)."""
    with ctx.store.session() as session:
        found = session.find_customer_ids_by_name_zip(first_name, last_name, zip)
    return _authenticated(ctx, found)


def _authenticated(ctx: ToolContext, found: list[str]) -> str:
    already = ctx.customer_id if ctx.scope == "customer" else None
    if already is not None and (not found or found[0] != already):
        # The same answer whether the details match nobody or somebody else: nothing is learned about others.
        raise RuleViolationError(
            "This conversation is already verified as another customer; one customer per conversation"
        )
    if not found:
        raise NotFoundError("User", "", "User not found")
    return found[0]


def get_user_details(ctx: ToolContext, user_id: str) -> Customer:
    """Get a customer's profile: name, default address, email, payment methods and order ids."""
    with ctx.store.session() as session:
        return _customer(ctx, session, user_id)


def get_order_details(ctx: ToolContext, order_id: str) -> Order:
    """Get an order's status and details, e.g. order_id '#W0000000' (the '#' is part of the id)."""
    with ctx.store.session() as session:
        return _order(ctx, session, order_id)


def get_product_details(ctx: ToolContext, product_id: str) -> Product:
    """Get a product and all its variants (item ids, options, availability, prices). Not an item id."""
    with ctx.store.session() as session:
        product = session.get_product(product_id)
    if product is None:
        raise NotFoundError("Product", product_id)
    return product


def get_item_details(ctx: ToolContext, item_id: str) -> Variant:
    """Get one variant (item) by its item id: options, availability and price."""
    with ctx.store.session() as session:
        found = session.get_variant(item_id)
    if found is None:
        raise NotFoundError("Item", item_id)
    return found[1]


def list_all_product_types(ctx: ToolContext) -> dict[str, str]:
    """List every product type: a map from product name to product id, names sorted."""
    with ctx.store.session() as session:
        names = session.product_names()
    return dict(sorted((name, product_id) for product_id, name in names.items()))


_OPERATORS: dict[type[ast.AST], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_MAX_EXPONENT = 64


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise RuleViolationError("Exponent too large")
        return _OPERATORS[type(node.op)](left, right)  # type: ignore[no-any-return]
    raise RuleViolationError("Invalid expression")


def calculate(ctx: ToolContext, expression: str) -> str:
    """Evaluate an arithmetic expression (digits, + - * / ( ) . and spaces); the result is rounded to 2 decimals."""
    if not all(ch in "0123456789+-*/(). " for ch in expression):
        raise RuleViolationError("Invalid characters in expression")
    try:
        value = _evaluate(ast.parse(expression, mode="eval"))
    except ZeroDivisionError:
        raise RuleViolationError("division by zero") from None
    except (SyntaxError, OverflowError, RecursionError) as exc:
        raise RuleViolationError(f"Invalid expression: {type(exc).__name__}") from None
    return str(round(float(value), 2))


def transfer_to_human_agents(ctx: ToolContext, summary: str) -> str:
    """Hand the conversation to a human agent, with a summary of the customer's issue."""
    return "Transfer successful"


# write tools --------------------------------------------------------------------------------------------------


def cancel_pending_order(ctx: ToolContext, order_id: str, reason: str) -> Order:
    """Cancel a pending order. reason is 'no longer needed' or 'ordered by mistake'. Refunds what was paid:
    gift cards at once, other methods within 5-7 business days."""
    with ctx.store.session(write=True) as session:
        order = _order(ctx, session, order_id, for_update=True)
        if order.status != OrderStatus.PENDING:
            raise InvalidStateError("Non-pending order cannot be cancelled", key=order_id, status=order.status)
        if reason not in CANCEL_REASONS:
            raise RuleViolationError("Invalid reason")
        owner = session.get_customer(order.user_id, for_update=True)
        refunds: list[PaymentTransaction] = []
        owed = sum(order.net_paid_by_method().values(), ZERO)
        for method_id, net in order.net_paid_by_method().items():
            amount = min(net, owed)
            if amount <= ZERO:
                continue
            owed -= amount
            refunds.append(PaymentTransaction(transaction_type="refund", amount=amount, payment_method_id=method_id))
            if owner is not None and method_id in owner.payment_methods:
                _charge_gift_card(session, owner, owner.payment_methods[method_id], -amount)
                owner = session.get_customer(order.user_id) or owner
        cancelled = order.model_copy(
            update={
                "status": OrderStatus.CANCELLED,
                "cancel_reason": reason,
                "payment_history": [*order.payment_history, *refunds],
            }
        )
        session.save_order(cancelled)
    _settle(ctx, order_id)
    return cancelled


def modify_pending_order_address(
    ctx: ToolContext,
    order_id: str,
    address1: str,
    address2: str,
    city: str,
    state: str,
    country: str,
    zip: str,
) -> Order:
    """Change the shipping address of a pending order (also after an item modification)."""
    with ctx.store.session(write=True) as session:
        order = _order(ctx, session, order_id, for_update=True)
        if "pending" not in order.status:
            raise InvalidStateError("Non-pending order cannot be modified", key=order_id, status=order.status)
        address = Address(address1=address1, address2=address2, city=city, country=country, state=state, zip=zip)
        changed = order.model_copy(update={"address": address})
        session.save_order(changed)
    return changed


def modify_pending_order_items(
    ctx: ToolContext, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
) -> Order:
    """Swap items of a pending order for other available variants of the same products; possible once per
    order. The price difference is paid or refunded with payment_method_id (a gift card must cover it)."""
    with ctx.store.session(write=True) as session:
        order = _order(ctx, session, order_id, for_update=True)
        if order.status != OrderStatus.PENDING:
            raise InvalidStateError("Non-pending order cannot be modified", key=order_id, status=order.status)
        _count_check(order, item_ids, lambda item_id: f"{item_id} not found")
        if len(item_ids) != len(new_item_ids):
            raise RuleViolationError("The number of items to be exchanged should match")
        variants, difference = _new_variants(session, order, item_ids, new_item_ids, allow_same=False)
        owner, method = _owner_method(session, order, payment_method_id)
        if isinstance(method, GiftCard) and method.balance < difference:
            raise InsufficientFundsError("Insufficient gift card balance to pay for the new item")
        if difference < ZERO:
            _check_refund_target(session, order, method)
        entry = PaymentTransaction(
            transaction_type="payment" if difference > ZERO else "refund",
            amount=abs(difference),
            payment_method_id=payment_method_id,
        )
        _charge_gift_card(session, owner, method, difference)
        items = list(order.items)
        for old_id, variant in zip(item_ids, variants, strict=True):
            index = next(n for n, item in enumerate(items) if item.item_id == old_id)
            items[index] = items[index].model_copy(
                update={"item_id": variant.item_id, "price": variant.price, "options": variant.options}
            )
        changed = order.model_copy(
            update={
                "items": items,
                "status": OrderStatus.PENDING_ITEM_MODIFIED,
                "payment_history": [*order.payment_history, entry],
            }
        )
        session.save_order(changed)
    _settle(ctx, order_id)
    return changed


def modify_pending_order_payment(ctx: ToolContext, order_id: str, payment_method_id: str) -> Order:
    """Pay a pending order with another of the customer's payment methods (a gift card must cover the total)."""
    with ctx.store.session(write=True) as session:
        order = _order(ctx, session, order_id, for_update=True)
        if "pending" not in order.status:
            raise InvalidStateError("Non-pending order cannot be modified", key=order_id, status=order.status)
        owner, method = _owner_method(session, order, payment_method_id)
        history = order.payment_history
        if len(history) != 1 or history[0].transaction_type != "payment":
            raise RuleViolationError("There should be exactly one payment for a pending order")
        paid = history[0]
        if paid.payment_method_id == payment_method_id:
            raise RuleViolationError("The new payment method should be different from the current one")
        if isinstance(method, GiftCard) and method.balance < paid.amount:
            raise InsufficientFundsError("Insufficient gift card balance to pay for the order")
        _charge_gift_card(session, owner, method, paid.amount)
        old_method = owner.payment_methods.get(paid.payment_method_id)
        if old_method is not None:
            _charge_gift_card(session, owner, old_method, -paid.amount)
        changed = order.model_copy(
            update={
                "payment_history": [
                    *history,
                    PaymentTransaction(transaction_type="payment", amount=paid.amount, payment_method_id=method.id),
                    PaymentTransaction(
                        transaction_type="refund",
                        amount=paid.amount,
                        payment_method_id=paid.payment_method_id,
                    ),
                ]
            }
        )
        session.save_order(changed)
    _settle(ctx, order_id)
    return changed


def modify_user_address(
    ctx: ToolContext,
    user_id: str,
    address1: str,
    address2: str,
    city: str,
    state: str,
    country: str,
    zip: str,
) -> Customer:
    """Change a customer's default address (existing orders keep theirs)."""
    with ctx.store.session(write=True) as session:
        customer = _customer(ctx, session, user_id, for_update=True)
        address = Address(address1=address1, address2=address2, city=city, country=country, state=state, zip=zip)
        session.save_customer_address(user_id, address)
        changed = customer.model_copy(update={"address": address})
    return changed


def return_delivered_order_items(ctx: ToolContext, order_id: str, item_ids: list[str], payment_method_id: str) -> Order:
    """Request a return of items of a delivered order; possible once per order. The refund goes to the
    original payment method or to one of the customer's gift cards."""
    with ctx.store.session(write=True) as session:
        order = _order(ctx, session, order_id, for_update=True)
        if order.status != OrderStatus.DELIVERED:
            raise InvalidStateError("Non-delivered order cannot be returned", key=order_id, status=order.status)
        _, method = _owner_method(session, order, payment_method_id)
        original = order.payment_history[0].payment_method_id if order.payment_history else None
        if not isinstance(method, GiftCard) and payment_method_id != original:
            raise RuleViolationError("Payment method should be the original payment method")
        _count_check(order, item_ids, lambda _: "Some item not found")
        changed = order.model_copy(
            update={
                "status": OrderStatus.RETURN_REQUESTED,
                "return_items": sorted(item_ids),
                "return_payment_method_id": payment_method_id,
            }
        )
        session.save_order(changed)
    _settle(ctx, order_id)
    return changed


def exchange_delivered_order_items(
    ctx: ToolContext, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
) -> Order:
    """Request an exchange of items of a delivered order for other available variants of the same products;
    possible once per order. The price difference is settled with payment_method_id."""
    with ctx.store.session(write=True) as session:
        order = _order(ctx, session, order_id, for_update=True)
        if order.status != OrderStatus.DELIVERED:
            raise InvalidStateError("Non-delivered order cannot be exchanged", key=order_id, status=order.status)
        _count_check(order, item_ids, lambda item_id: f"Number of {item_id} not found.")
        if len(item_ids) != len(new_item_ids):
            raise RuleViolationError("The number of items to be exchanged should match.")
        _, difference = _new_variants(session, order, item_ids, new_item_ids, allow_same=True)
        _, method = _owner_method(session, order, payment_method_id)
        if isinstance(method, GiftCard) and method.balance < difference:
            raise InsufficientFundsError("Insufficient gift card balance to pay for the price difference")
        changed = order.model_copy(
            update={
                "status": OrderStatus.EXCHANGE_REQUESTED,
                "exchange_items": sorted(item_ids),
                "exchange_new_items": sorted(new_item_ids),
                "exchange_payment_method_id": payment_method_id,
                "exchange_price_difference": difference,
            }
        )
        session.save_order(changed)
    _settle(ctx, order_id)
    return changed


RETAIL_TOOLS: list[Tool] = [
    make_tool(ToolKind.READ, find_user_id_by_email),
    make_tool(ToolKind.READ, find_user_id_by_name_zip),
    make_tool(ToolKind.READ, get_user_details),
    make_tool(ToolKind.READ, get_order_details),
    make_tool(ToolKind.READ, get_product_details),
    make_tool(ToolKind.READ, get_item_details),
    make_tool(ToolKind.READ, list_all_product_types),
    make_tool(ToolKind.GENERIC, calculate),
    make_tool(ToolKind.WRITE, cancel_pending_order),
    make_tool(ToolKind.WRITE, modify_pending_order_address),
    make_tool(ToolKind.WRITE, modify_pending_order_items),
    make_tool(ToolKind.WRITE, modify_pending_order_payment),
    make_tool(ToolKind.WRITE, modify_user_address),
    make_tool(ToolKind.WRITE, return_delivered_order_items),
    make_tool(ToolKind.WRITE, exchange_delivered_order_items),
    make_tool(ToolKind.GENERIC, transfer_to_human_agents),
]
