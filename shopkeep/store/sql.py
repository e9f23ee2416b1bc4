"""The SQLAlchemy implementation of ``CommerceStore``: one code path for SQLite, PostgreSQL and Oracle.

Dialect differences (connection set-up, locking) live in the sibling modules ``sqlite.py``, ``postgres.py`` and
``oracle.py``; this module only speaks portable SQLAlchemy Core.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, delete, func, insert, select, true, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from shopkeep.domain import (
    Address,
    Cart,
    CartLine,
    ConversationEvent,
    CreditCard,
    Customer,
    EscalationTicket,
    Fulfillment,
    GiftCard,
    Order,
    OrderItem,
    OrderStatus,
    PaymentMethod,
    PaymentTransaction,
    PayPal,
    PersonName,
    Product,
    Variant,
)
from shopkeep.errors import StoreIntegrityError, StoreUnavailableError
from shopkeep.metrics import STORE_ERRORS
from shopkeep.store import schema as t

ADDRESS_FIELDS = ("address1", "address2", "city", "country", "state", "zip")


def _address(row: Any) -> Address:
    return Address(**{name: getattr(row, name) for name in ADDRESS_FIELDS})


def _address_values(address: Address) -> dict[str, str]:
    return {name: getattr(address, name) for name in ADDRESS_FIELDS}


def _payment_method(row: Any) -> PaymentMethod:
    if row.source == "credit_card":
        return CreditCard(id=row.method_id, brand=row.brand or "", last_four=row.last_four or "")
    if row.source == "gift_card":
        return GiftCard(id=row.method_id, balance=row.balance)
    return PayPal(id=row.method_id)


def _payment_method_values(user_id: str, method: PaymentMethod) -> dict[str, Any]:
    return {
        "method_id": method.id,
        "user_id": user_id,
        "source": method.source,
        "brand": method.brand if isinstance(method, CreditCard) else None,
        "last_four": method.last_four if isinstance(method, CreditCard) else None,
        "balance": method.balance if isinstance(method, GiftCard) else None,
    }


def variant_of(row: Any) -> Variant:
    return Variant(
        item_id=row.item_id,
        options=row.options_json,
        available=row.available,
        price=row.price,
        sku=row.sku,
        compare_at_price=row.compare_at_price,
    )


def product_of(row: Any, variants: dict[str, Variant]) -> Product:
    return Product(
        name=row.name,
        product_id=row.product_id,
        variants=variants,
        product_type=row.product_type,
        brand=row.brand,
        tags=row.tags_json or [],
        description=row.description,
        image_url=row.image_url,
        source_id=row.source_id,
    )


class SqlSession:
    """One transaction on one connection; implements ``StoreSession``."""

    def __init__(self, conn: Connection, *, row_locks: bool) -> None:
        self._conn = conn
        self._row_locks = row_locks

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for store-internal bulk work (seeding, indexing)."""
        return self._conn

    def _locked(self, query: Select[Any], for_update: bool) -> Select[Any]:
        return query.with_for_update() if for_update and self._row_locks else query

    # catalog --------------------------------------------------------------------------------------------------

    def _products_where(self, clause: ColumnElement[bool]) -> list[Product]:
        product_rows = self._conn.execute(select(t.products).where(clause).order_by(t.products.c.seq)).all()
        if not product_rows:
            return []
        product_ids = select(t.products.c.product_id).where(clause)
        variants_by_product: dict[str, dict[str, Variant]] = defaultdict(dict)
        for row in self._conn.execute(
            select(t.variants).where(t.variants.c.product_id.in_(product_ids)).order_by(t.variants.c.seq)
        ):
            variants_by_product[row.product_id][row.item_id] = variant_of(row)
        return [product_of(row, variants_by_product[row.product_id]) for row in product_rows]

    def list_products(self) -> list[Product]:
        return self._products_where(true())

    def product_names(self) -> dict[str, str]:
        query = select(t.products.c.product_id, t.products.c.name).order_by(t.products.c.seq)
        return {row.product_id: row.name for row in self._conn.execute(query)}

    def get_product(self, product_id: str) -> Product | None:
        found = self._products_where(t.products.c.product_id == product_id)
        return found[0] if found else None

    def get_variant(self, item_id: str) -> tuple[str, Variant] | None:
        row = self._conn.execute(select(t.variants).where(t.variants.c.item_id == item_id)).first()
        if row is None:
            return None
        return row.product_id, variant_of(row)

    # customers ------------------------------------------------------------------------------------------------

    def _customers_where(self, clause: ColumnElement[bool], *, for_update: bool = False) -> list[Customer]:
        query = self._locked(select(t.customers).where(clause).order_by(t.customers.c.seq), for_update)
        rows = self._conn.execute(query).all()
        if not rows:
            return []
        user_ids = select(t.customers.c.user_id).where(clause)
        methods: dict[str, dict[str, PaymentMethod]] = defaultdict(dict)
        method_query = self._locked(
            select(t.payment_methods)
            .where(t.payment_methods.c.user_id.in_(user_ids))
            .order_by(t.payment_methods.c.user_id, t.payment_methods.c.seq),
            for_update,
        )
        for row in self._conn.execute(method_query):
            methods[row.user_id][row.method_id] = _payment_method(row)
        order_ids: dict[str, list[str]] = defaultdict(list)
        for row in self._conn.execute(
            select(t.customer_orders)
            .where(t.customer_orders.c.user_id.in_(user_ids))
            .order_by(t.customer_orders.c.user_id, t.customer_orders.c.seq)
        ):
            order_ids[row.user_id].append(row.order_id)
        return [
            Customer(
                user_id=row.user_id,
                name=PersonName(first_name=row.first_name, last_name=row.last_name),
                address=_address(row),
                email=row.email,
                payment_methods=methods[row.user_id],
                orders=order_ids[row.user_id],
            )
            for row in rows
        ]

    def get_customer(self, user_id: str, *, for_update: bool = False) -> Customer | None:
        found = self._customers_where(t.customers.c.user_id == user_id, for_update=for_update)
        return found[0] if found else None

    def list_customers(self) -> list[Customer]:
        return self._customers_where(true())

    def find_customer_ids_by_email(self, email: str) -> list[str]:
        query = (
            select(t.customers.c.user_id).where(t.customers.c.email_lower == email.lower()).order_by(t.customers.c.seq)
        )
        return list(self._conn.scalars(query))

    def find_customer_ids_by_name_zip(self, first_name: str, last_name: str, zip_code: str) -> list[str]:
        # Names are compared case-blind in Python: SQLite's lower() folds only ASCII ("Ó Briain" stays "Ó briain").
        c = t.customers
        query = select(c.c.user_id, c.c.first_name, c.c.last_name).where(c.c.zip == zip_code).order_by(c.c.seq)
        wanted = (first_name.casefold(), last_name.casefold())
        return [
            row.user_id
            for row in self._conn.execute(query)
            if ((row.first_name or "").casefold(), (row.last_name or "").casefold()) == wanted
        ]

    def add_customer(self, customer: Customer) -> None:
        values = {
            "user_id": customer.user_id,
            "first_name": customer.name.first_name,
            "last_name": customer.name.last_name,
            "email": customer.email,
            "email_lower": customer.email.lower(),
            **_address_values(customer.address),
        }
        self._conn.execute(insert(t.customers).values(**values, seq=self._next_seq(t.customers.c.seq)))

    def save_customer_address(self, user_id: str, address: Address) -> None:
        self._conn.execute(
            update(t.customers).where(t.customers.c.user_id == user_id).values(**_address_values(address))
        )

    def save_payment_method(self, user_id: str, method: PaymentMethod) -> None:
        values = _payment_method_values(user_id, method)
        changed = self._conn.execute(
            update(t.payment_methods).where(t.payment_methods.c.method_id == method.id).values(**values)
        ).rowcount
        if not changed:
            seq = self._next_seq(t.payment_methods.c.seq, t.payment_methods.c.user_id == user_id)
            self._conn.execute(insert(t.payment_methods).values(**values, seq=seq))

    # orders ---------------------------------------------------------------------------------------------------

    def _orders_where(self, clause: ColumnElement[bool], *, for_update: bool = False) -> list[Order]:
        rows = self._conn.execute(
            self._locked(select(t.orders).where(clause).order_by(t.orders.c.seq), for_update)
        ).all()
        if not rows:
            return []
        order_ids = select(t.orders.c.order_id).where(clause)

        def children(table: Any) -> dict[str, list[Any]]:
            grouped: dict[str, list[Any]] = defaultdict(list)
            query = select(table).where(table.c.order_id.in_(order_ids)).order_by(table.c.order_id, table.c.line_no)
            for row in self._conn.execute(query):
                grouped[row.order_id].append(row)
            return grouped

        items, shipments, payments = (
            children(t.order_items),
            children(t.fulfillments),
            children(t.order_payments),
        )
        return [
            Order(
                order_id=row.order_id,
                user_id=row.user_id,
                address=_address(row),
                items=[
                    OrderItem(
                        name=i.name,
                        product_id=i.product_id,
                        item_id=i.item_id,
                        price=i.price,
                        options=i.options_json,
                    )
                    for i in items[row.order_id]
                ],
                status=OrderStatus(row.status),
                fulfillments=[
                    Fulfillment(tracking_id=f.tracking_ids, item_ids=f.item_ids) for f in shipments[row.order_id]
                ],
                payment_history=[
                    PaymentTransaction(
                        transaction_type=p.transaction_type,
                        amount=p.amount,
                        payment_method_id=p.payment_method_id,
                    )
                    for p in payments[row.order_id]
                ],
                cancel_reason=row.cancel_reason,
                exchange_items=row.exchange_items,
                exchange_new_items=row.exchange_new_items,
                exchange_payment_method_id=row.exchange_payment_method_id,
                exchange_price_difference=row.exchange_price_difference,
                return_items=row.return_items,
                return_payment_method_id=row.return_payment_method_id,
            )
            for row in rows
        ]

    def get_order(self, order_id: str, *, for_update: bool = False) -> Order | None:
        found = self._orders_where(t.orders.c.order_id == order_id, for_update=for_update)
        return found[0] if found else None

    def list_orders(self, user_id: str | None = None) -> list[Order]:
        return self._orders_where(true() if user_id is None else t.orders.c.user_id == user_id)

    def save_order(self, order: Order) -> None:
        values = {
            "user_id": order.user_id,
            **_address_values(order.address),
            "status": order.status.value,
            "cancel_reason": order.cancel_reason,
            "exchange_items": order.exchange_items,
            "exchange_new_items": order.exchange_new_items,
            "exchange_payment_method_id": order.exchange_payment_method_id,
            "exchange_price_difference": order.exchange_price_difference,
            "return_items": order.return_items,
            "return_payment_method_id": order.return_payment_method_id,
        }
        key = order.order_id
        if not self._conn.execute(update(t.orders).where(t.orders.c.order_id == key).values(**values)).rowcount:
            self._conn.execute(insert(t.orders).values(order_id=key, seq=self._next_seq(t.orders.c.seq), **values))
            self._conn.execute(
                insert(t.customer_orders).values(
                    user_id=order.user_id,
                    order_id=key,
                    seq=self._next_seq(t.customer_orders.c.seq, t.customer_orders.c.user_id == order.user_id),
                )
            )
        for table in (t.order_items, t.fulfillments, t.order_payments):
            self._conn.execute(delete(table).where(table.c.order_id == key))
        self._insert_many(t.order_items, order_item_rows(order))
        self._insert_many(t.fulfillments, fulfillment_rows(order))
        self._insert_many(t.order_payments, payment_rows(order))

    # carts, tickets, events -----------------------------------------------------------------------------------

    def get_cart(self, cart_id: str, *, for_update: bool = False) -> Cart | None:
        row = self._conn.execute(self._locked(select(t.carts).where(t.carts.c.cart_id == cart_id), for_update)).first()
        if row is None:
            return None
        lines = [CartLine.model_validate(line) for line in row.lines_json]
        return Cart(cart_id=row.cart_id, customer_id=row.customer_id, lines=lines)

    def save_cart(self, cart: Cart) -> None:
        values = {
            "customer_id": cart.customer_id,
            "lines_json": [line.model_dump(mode="json") for line in cart.lines],
            "updated_at": func.current_timestamp(),
        }
        if not self._conn.execute(update(t.carts).where(t.carts.c.cart_id == cart.cart_id).values(**values)).rowcount:
            self._conn.execute(insert(t.carts).values(cart_id=cart.cart_id, **values))

    def get_ticket(self, ticket_id: str, *, for_update: bool = False) -> EscalationTicket | None:
        row = self._conn.execute(
            self._locked(select(t.escalations).where(t.escalations.c.ticket_id == ticket_id), for_update)
        ).first()
        return None if row is None else EscalationTicket.model_validate(row._asdict())

    def list_tickets(self, *, status: str | None = None) -> list[EscalationTicket]:
        query = select(t.escalations).order_by(t.escalations.c.created_at)
        if status is not None:
            query = query.where(t.escalations.c.status == status)
        return [EscalationTicket.model_validate(row._asdict()) for row in self._conn.execute(query)]

    def save_ticket(self, ticket: EscalationTicket) -> None:
        values = ticket.model_dump(exclude={"ticket_id"})
        values["status"] = ticket.status.value
        query = update(t.escalations).where(t.escalations.c.ticket_id == ticket.ticket_id).values(**values)
        if not self._conn.execute(query).rowcount:
            self._conn.execute(insert(t.escalations).values(ticket_id=ticket.ticket_id, **values))

    def append_event(self, event: ConversationEvent) -> int:
        values = event.model_dump(exclude={"event_id"})
        result = self._conn.execute(insert(t.conversation_events).values(**values))
        primary_key = result.inserted_primary_key
        return int(primary_key[0]) if primary_key else 0

    def list_events(self, conversation_id: str) -> list[ConversationEvent]:
        query = (
            select(t.conversation_events)
            .where(t.conversation_events.c.conversation_id == conversation_id)
            .order_by(t.conversation_events.c.event_id)
        )
        return [ConversationEvent.model_validate(row._asdict()) for row in self._conn.execute(query)]

    def has_events(self, conversation_id: str) -> bool:
        """Whether the conversation was ever started (one indexed row, not its whole history)."""
        events = t.conversation_events
        query = select(events.c.event_id).where(events.c.conversation_id == conversation_id).limit(1)
        return self._conn.execute(query).first() is not None

    def events_of_kinds(self, kinds: Sequence[str]) -> list[ConversationEvent]:
        """Every event of these kinds, in order (one plain SELECT: SQLite, PostgreSQL and Oracle alike)."""
        events = t.conversation_events
        query = select(events).where(events.c.kind.in_(list(kinds))).order_by(events.c.event_id)
        return [ConversationEvent.model_validate(row._asdict()) for row in self._conn.execute(query)]

    def events_with_variant(self, kinds: Sequence[str]) -> list[ConversationEvent]:
        """Every event of these kinds that carries an experiment variant, in order (one plain SELECT: SQLite,
        PostgreSQL and Oracle alike)."""
        events = t.conversation_events
        query = (
            select(events)
            .where(events.c.kind.in_(list(kinds)), events.c.variant.is_not(None))
            .order_by(events.c.event_id)
        )
        return [ConversationEvent.model_validate(row._asdict()) for row in self._conn.execute(query)]

    # helpers --------------------------------------------------------------------------------------------------

    def _next_seq(self, column: Any, clause: ColumnElement[bool] | None = None) -> int:
        query = select(func.coalesce(func.max(column), -1) + 1)
        if clause is not None:
            query = query.where(clause)
        return int(self._conn.scalar(query) or 0)

    def _insert_many(self, table: Any, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self._conn.execute(insert(table), list(rows))


def order_item_rows(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "order_id": order.order_id,
            "line_no": n,
            "item_id": i.item_id,
            "product_id": i.product_id,
            "name": i.name,
            "price": i.price,
            "options_json": i.options,
        }
        for n, i in enumerate(order.items)
    ]


def fulfillment_rows(order: Order) -> list[dict[str, Any]]:
    return [
        {"order_id": order.order_id, "line_no": n, "tracking_ids": f.tracking_id, "item_ids": f.item_ids}
        for n, f in enumerate(order.fulfillments)
    ]


def payment_rows(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "order_id": order.order_id,
            "line_no": n,
            "transaction_type": p.transaction_type,
            "amount": p.amount,
            "payment_method_id": p.payment_method_id,
        }
        for n, p in enumerate(order.payment_history)
    ]


class SqlCommerceStore:
    """A ``CommerceStore`` over a SQLAlchemy engine. Build it with ``shopkeep.store.open_store(url)``."""

    def __init__(self, engine: Engine, *, row_locks: bool = True) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        self._row_locks = row_locks

    @contextmanager
    def session(self, *, write: bool = False, commit: bool = True) -> Iterator[SqlSession]:
        try:
            with self.engine.connect() as conn:
                conn.execution_options(shopkeep_write=write)
                with conn.begin() as transaction:
                    yield SqlSession(conn, row_locks=self._row_locks)
                    if not commit:
                        transaction.rollback()
        except IntegrityError as exc:
            STORE_ERRORS.labels(backend=self.engine.dialect.name, error="integrity").inc()
            raise StoreIntegrityError(f"the store refused the write: {exc.orig}") from exc
        except DBAPIError as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                STORE_ERRORS.labels(backend=self.engine.dialect.name, error="unavailable").inc()
                raise StoreUnavailableError(f"the store is unavailable ({self.url}): {exc.orig}") from exc
            raise

    def rehearsal(self) -> RehearsalStore:
        """A view of this store whose write sessions always roll back: tools run on it to preview an action."""
        return RehearsalStore(self)

    def is_empty(self) -> bool:
        with self.session() as s:
            return s.connection.scalar(select(t.products.c.product_id).limit(1)) is None

    def close(self) -> None:
        self.engine.dispose()


class RehearsalStore:
    """Runs tools for real against the database, then rolls every write back (the proposal's dry run)."""

    def __init__(self, store: SqlCommerceStore) -> None:
        self._store = store
        self.url = store.url

    def session(self, *, write: bool = False) -> AbstractContextManager[SqlSession]:
        return self._store.session(write=write, commit=False)

    def rehearsal(self) -> RehearsalStore:
        return self

    def is_empty(self) -> bool:
        return self._store.is_empty()

    def close(self) -> None:
        """Nothing to close: the rehearsal borrows its store's engine."""
