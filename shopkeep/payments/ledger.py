"""The payments ledger: every authorization, capture, refund and void, and the rules money obeys.

Invariants (``reconcile`` checks them; the stateful tests run it after every step):

- per order: captured minus refunded equals what the customer owes (the order's payments minus its refunds);
- per checkout that produced no order: captured minus refunded is zero (no payment without an order);
- the gateway agrees: for every gateway payment in the ledger, the ledger's net equals the gateway's net.

Refunds go only to the original payment method or to one of the customer's gift cards (``refund_order``).
``settle_order`` brings the ledger up to date after an order tool changed what is owed (a cancel's refund, a
modification's price difference): card and PayPal differences move through the gateway, gift cards are already
settled by the tool that changed their balance, so only their entry is written.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import structlog

from shopkeep.domain import GiftCard, Order, PaymentTransaction, to_amount, to_minor_units
from shopkeep.domain.payments import LedgerEntry, LedgerKind, PaymentStatus
from shopkeep.errors import NotFoundError, RuleViolationError
from shopkeep.payments.base import PaymentGateway
from shopkeep.payments.idempotency import IdempotencyKeys, Replay
from shopkeep.store.base import CommerceStore, StoreSession
from shopkeep.store.payments import now_utc, payment_records

log = structlog.get_logger(__name__)

GIFT_CARD_LEDGER = "gift_card"
REFUND_SCOPE = "refund"


def entry(
    kind: LedgerKind,
    *,
    status: str,
    method_id: str,
    gateway: str,
    ref: str | None,
    amount: int,
    currency: str,
    idem_key: str,
    order_id: str | None = None,
    checkout_key: str | None = None,
) -> LedgerEntry:
    return LedgerEntry(
        order_id=order_id,
        checkout_key=checkout_key,
        kind=kind,
        status=status,
        payment_method_id=method_id,
        gateway=gateway,
        gateway_ref=ref,
        amount_minor=amount,
        currency=currency,
        idem_key=idem_key,
        created_at=now_utc(),
    )


def record(store: CommerceStore, item: LedgerEntry) -> None:
    """Write one entry in a transaction of its own (exactly once per ``idem_key``)."""
    with store.session(write=True) as session:
        payment_records(session).append_ledger(item)


def net(entries: list[LedgerEntry]) -> int:
    """Captured minus refunded, in minor units (authorizations and voids move no money)."""
    total = 0
    for item in entries:
        if item.kind is LedgerKind.CAPTURE:
            total += item.amount_minor
        elif item.kind is LedgerKind.REFUND:
            total -= item.amount_minor
    return total


def net_by_method(entries: list[LedgerEntry]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for item in entries:
        if item.kind in (LedgerKind.CAPTURE, LedgerKind.REFUND):
            totals[item.payment_method_id] += net([item])
    return dict(totals)


def owed_minor(order: Order) -> int:
    """What the customer owes for an order: its payments minus its refunds."""
    return to_minor_units(sum(order.net_paid_by_method().values(), Decimal("0.00")))


def _owed_by_method(order: Order) -> dict[str, int]:
    return {method: to_minor_units(amount) for method, amount in order.net_paid_by_method().items()}


def _captures_left(entries: list[LedgerEntry], method_id: str) -> list[tuple[str, int]]:
    """Per gateway payment of this method: how much of its capture has not been refunded yet."""
    left: dict[str, int] = defaultdict(int)
    for item in entries:
        if item.payment_method_id != method_id or item.gateway_ref is None:
            continue
        if item.kind is LedgerKind.CAPTURE:
            left[item.gateway_ref] += item.amount_minor
        elif item.kind is LedgerKind.REFUND:
            left[item.gateway_ref] -= item.amount_minor
    return [(ref, amount) for ref, amount in left.items() if amount > 0]


def _gateway_refund(
    store: CommerceStore,
    gateway: PaymentGateway,
    *,
    order_id: str,
    method_id: str,
    amount: int,
    currency: str,
    key: str,
) -> None:
    """Refund ``amount`` of this method's captures on this order through the gateway, newest capture first."""
    with store.session() as session:
        entries = payment_records(session).ledger(order_id=order_id)
    remaining = amount
    for n, (ref, available) in enumerate(reversed(_captures_left(entries, method_id))):
        part = min(available, remaining)
        part_key = f"{key}:{n}"
        refunded = gateway.refund(ref, part, idempotency_key=part_key)
        record(
            store,
            entry(
                LedgerKind.REFUND,
                status=refunded.status.value,
                method_id=method_id,
                gateway=gateway.name,
                ref=ref,
                amount=part,
                currency=currency,
                idem_key=part_key,
                order_id=order_id,
            ),
        )
        remaining -= part
        if remaining == 0:
            return
    raise RuleViolationError("The refund is more than was paid with that payment method")


def _gateway_charge(
    store: CommerceStore,
    gateway: PaymentGateway,
    *,
    order_id: str,
    method_id: str,
    amount: int,
    currency: str,
    key: str,
) -> None:
    token = gateway.tokenize(method_id, idempotency_key=f"{key}:tokenize")
    held = gateway.authorize(token.token, amount, currency, idempotency_key=f"{key}:authorize")
    common = {"method_id": method_id, "gateway": gateway.name, "currency": currency, "order_id": order_id}
    record(
        store,
        entry(
            LedgerKind.AUTHORIZATION,
            status=held.status.value,
            ref=held.payment_id,
            amount=amount,
            idem_key=f"{key}:authorize",
            **common,
        ),
    )
    if held.status is not PaymentStatus.AUTHORIZED:
        raise RuleViolationError(f"The payment method was not charged ({held.decline_code or held.status.value})")
    taken = gateway.capture(held.payment_id, amount, idempotency_key=f"{key}:capture")
    record(
        store,
        entry(
            LedgerKind.CAPTURE,
            status=taken.status.value,
            ref=taken.payment_id,
            amount=amount,
            idem_key=f"{key}:capture",
            **common,
        ),
    )


def settle_order(store: CommerceStore, gateway: PaymentGateway, order_id: str, *, currency: str = "USD") -> int:
    """Make the ledger match what the order says is owed, per payment method; returns the movements made.

    Only orders that went through checkout (that have ledger entries) are settled: the demo's historical orders
    were paid before the ledger existed. Each movement's idempotency key names the order's payment-history line
    count, so settling twice (or concurrently) moves money once.
    """
    with store.session() as session:
        order = session.get_order(order_id)
        entries = payment_records(session).ledger(order_id=order_id)
    if order is None:
        raise NotFoundError("Order", order_id)
    if not entries:
        return 0
    owner_methods = _owner_methods(store, order.user_id)
    have = net_by_method(entries)
    want = _owed_by_method(order)
    moves = 0
    for method_id in sorted(set(have) | set(want)):
        difference = want.get(method_id, 0) - have.get(method_id, 0)
        if difference == 0:
            continue
        key = f"settle:{order_id}:{len(order.payment_history)}:{method_id}"
        if isinstance(owner_methods.get(method_id), GiftCard):
            kind = LedgerKind.CAPTURE if difference > 0 else LedgerKind.REFUND
            record(
                store,
                entry(
                    kind,
                    status="succeeded",
                    method_id=method_id,
                    gateway=GIFT_CARD_LEDGER,
                    ref=None,
                    amount=abs(difference),
                    currency=currency,
                    idem_key=key,
                    order_id=order_id,
                ),
            )
        elif difference < 0:
            _gateway_refund(
                store,
                gateway,
                order_id=order_id,
                method_id=method_id,
                amount=-difference,
                currency=currency,
                key=key,
            )
        else:
            _gateway_charge(
                store, gateway, order_id=order_id, method_id=method_id, amount=difference, currency=currency, key=key
            )
        moves += 1
    return moves


def _owner_methods(store: CommerceStore, user_id: str) -> dict[str, object]:
    with store.session() as session:
        customer = session.get_customer(user_id)
    return dict(customer.payment_methods) if customer is not None else {}


def refund_order(
    store: CommerceStore,
    gateway: PaymentGateway,
    order_id: str,
    amount: Decimal,
    payment_method_id: str,
    *,
    idempotency_key: str,
    currency: str = "USD",
) -> Order:
    """Refund part of a checkout order, to its original payment method or to one of the customer's gift cards.

    Once per ``idempotency_key``: the order's payment history and the ledger both get the refund; a gift card is
    credited in that same transaction; a card refund goes through the gateway first (with a derived key, so a
    retry after a failure refunds once).
    """
    value = to_amount(amount)
    minor = to_minor_units(value)
    keys = IdempotencyKeys(store)
    payload = {"order_id": order_id, "amount": minor, "payment_method_id": payment_method_id}
    claim = keys.claim(REFUND_SCOPE, idempotency_key, payload)
    if isinstance(claim, Replay):
        with store.session() as session:
            replayed = session.get_order(order_id)
        assert replayed is not None
        return replayed
    try:
        return _refund(store, gateway, order_id, value, payment_method_id, idempotency_key, currency)
    except BaseException:
        keys.release(REFUND_SCOPE, idempotency_key)
        raise


def _refund(
    store: CommerceStore,
    gateway: PaymentGateway,
    order_id: str,
    value: Decimal,
    method_id: str,
    idempotency_key: str,
    currency: str,
) -> Order:
    minor = to_minor_units(value)
    if minor <= 0:
        raise RuleViolationError("A refund must be a positive amount")
    with store.session() as session:
        order = session.get_order(order_id)
        entries = payment_records(session).ledger(order_id=order_id)
        customer = session.get_customer(order.user_id) if order is not None else None
    if order is None or customer is None:
        raise NotFoundError("Order", order_id)
    if not entries:
        raise RuleViolationError("Only orders placed through checkout can be refunded here")
    original = {item.payment_method_id for item in entries if item.kind is LedgerKind.CAPTURE}
    target = customer.payment_methods.get(method_id)
    if method_id not in original and not isinstance(target, GiftCard):
        raise RuleViolationError("Refunds go only to the original payment method or to a gift card")
    if minor > net(entries):
        raise RuleViolationError("The refund is more than what was paid for this order")
    ledger_key = f"refund:{idempotency_key}"
    if not isinstance(target, GiftCard):
        _gateway_refund(
            store, gateway, order_id=order_id, method_id=method_id, amount=minor, currency=currency, key=ledger_key
        )
    with store.session(write=True) as session:
        current = session.get_order(order_id, for_update=True)
        assert current is not None
        records = payment_records(session)
        if isinstance(target, GiftCard):
            if minor > net(records.ledger(order_id=order_id)):
                raise RuleViolationError("The refund is more than what was paid for this order")
            _credit_gift_card(session, current.user_id, method_id, value)
            records.append_ledger(
                entry(
                    LedgerKind.REFUND,
                    status="succeeded",
                    method_id=method_id,
                    gateway=GIFT_CARD_LEDGER,
                    ref=None,
                    amount=minor,
                    currency=currency,
                    idem_key=ledger_key,
                    order_id=order_id,
                )
            )
        line = PaymentTransaction(transaction_type="refund", amount=value, payment_method_id=method_id)
        refunded = current.model_copy(update={"payment_history": [*current.payment_history, line]})
        session.save_order(refunded)
        IdempotencyKeys.complete(session, REFUND_SCOPE, idempotency_key, {"order_id": order_id})
    return refunded


def _credit_gift_card(session: StoreSession, user_id: str, method_id: str, amount: Decimal) -> None:
    customer = session.get_customer(user_id, for_update=True)
    assert customer is not None
    card = customer.payment_methods[method_id]
    assert isinstance(card, GiftCard)
    session.save_payment_method(user_id, card.model_copy(update={"balance": card.balance + amount}))


def reconcile(store: CommerceStore, gateway_payments: dict[str, tuple[int, int]] | None = None) -> list[str]:
    """Every broken invariant, as a sentence (empty when the books balance).

    ``gateway_payments`` (payment id -> captured, refunded), when given, is checked against the ledger too.
    """
    problems: list[str] = []
    with store.session() as session:
        records = payment_records(session)
        entries = records.ledger()
        by_order: dict[str, list[LedgerEntry]] = defaultdict(list)
        orphans: dict[str, list[LedgerEntry]] = defaultdict(list)
        for item in entries:
            if item.order_id is not None:
                by_order[item.order_id].append(item)
            elif item.checkout_key is not None:
                orphans[item.checkout_key].append(item)
        for order_id, items in by_order.items():
            order = session.get_order(order_id)
            if order is None:
                problems.append(f"ledger entries for unknown order {order_id}")
                continue
            if net(items) != owed_minor(order):
                problems.append(f"order {order_id}: ledger net {net(items)} != owed {owed_minor(order)}")
        for key, items in orphans.items():
            if net(items) != 0:
                problems.append(f"checkout {key}: {net(items)} captured without an order")
    if gateway_payments is not None:
        ledger_by_ref: dict[str, int] = defaultdict(int)
        for item in entries:
            if item.gateway_ref is not None and item.gateway != GIFT_CARD_LEDGER:
                ledger_by_ref[item.gateway_ref] += net([item])
        for ref, (captured, refunded) in gateway_payments.items():
            if ledger_by_ref.get(ref, 0) != captured - refunded:
                problems.append(f"gateway payment {ref}: gateway net {captured - refunded} != ledger")
    return problems
