"""Checkout tools: shipping options, payment methods, promo codes, ``propose_checkout`` and ``place_order``.

Every number is computed here from the store: the cart is re-priced from the catalog, the discount comes only
from a valid code in the ``promo_codes`` table, shipping from the knowledge base's prices, tax from the rate
table. ``propose_checkout`` is read-only and returns the exact summary with a ``quote_id`` (a hash of everything
that is charged). ``place_order`` (confirm=True) is only carried out for that same quote:

1. its idempotency key is derived from the customer, the cart and the quote, and claimed first: the same checkout
   sent twice, or concurrently, waits for and returns the first one's order; it never charges twice;
2. the cart is re-priced and stock re-checked; anything different from the confirmed quote is a
   ``CheckoutChangedError`` before any money moves (the graph then shows the new proposal);
3. a card or PayPal is paid through the gateway with a delegated token whose allowance is exactly the confirmed
   total (so nothing can take more), authorized and captured with keys derived from the checkout key;
4. one write transaction re-checks the quote under row locks and creates the order (status pending, payment
   history, ``#W`` + 7 digits, on the customer's list), its charges and ledger links, debits a gift card, empties
   the cart and stores the result under the idempotency key. If that fails after the capture, the capture is
   refunded: no order without payment, no payment without an order.

A conversation whose customer is not verified may check out as a **guest**: ``email``, ``first_name`` and
``last_name`` with the two checkout tools, a delivery address and a card typed in the chat (a vault token). The quote,
the confirmation and the payment are the same; placing the order creates the customer record (the address becomes
their default, the card their saved card), and the conversation is the new customer's from then on. An email the store
already knows is refused: that customer verifies by email first, like anyone else.

Gateway calls happen outside the order's transaction on purpose: an external charge cannot be rolled back with the
database, and holding the store's write lock across network calls would stall every other writer (on SQLite, all
of them). The claim plus the in-transaction re-check give the same guarantees.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import structlog
from pydantic import BaseModel

from shopkeep.domain import (
    Address,
    Cart,
    CreditCard,
    Customer,
    GiftCard,
    Order,
    OrderItem,
    OrderStatus,
    PaymentTransaction,
    PersonName,
    describe_payment_method,
    looks_like_email,
    to_minor_units,
)
from shopkeep.domain.money import Amount, format_money
from shopkeep.domain.payments import Allowance, LedgerKind, OrderCharges, Payment, PaymentStatus
from shopkeep.errors import (
    AuthenticationRequiredError,
    CheckoutChangedError,
    GatewayUnavailableError,
    InsufficientFundsError,
    InvalidStateError,
    NotFoundError,
    NotOwnedError,
    PaymentActionRequiredError,
    PaymentDeclinedError,
    RuleViolationError,
)
from shopkeep.payments import PaymentServices, payment_services
from shopkeep.payments.idempotency import IdempotencyKeys, Replay
from shopkeep.payments.ledger import GIFT_CARD_LEDGER, entry, record
from shopkeep.payments.vault import is_vault_token
from shopkeep.settings import get_settings
from shopkeep.store.base import CommerceStore, StoreSession
from shopkeep.store.imports import new_user_id
from shopkeep.store.payments import now_utc, payment_records
from shopkeep.tools._pricing import (
    FREE_STANDARD_OVER,
    SHIPPING,
    SHIPPING_METHODS,
    ShippingMethod,
    StateTax,
    delivery_window,
    load_tax_table,
    next_day_refusal,
    normalize_code,
    promo_discount,
    sales_tax,
    shipping_cost,
    state_tax,
)
from shopkeep.tools.base import Tool, ToolContext, ToolKind, make_tool

log = structlog.get_logger(__name__)

CHECKOUT_SCOPE = "checkout"
ADDRESS_FIELDS = ("address1", "address2", "city", "state", "zip", "country")


# results ------------------------------------------------------------------------------------------------------------


class QuoteLine(BaseModel):
    item_id: str
    product_id: str
    name: str
    options: dict[str, str]
    unit_price: Amount
    quantity: int
    line_total: Amount


class PaymentChoice(BaseModel):
    """How the order is paid, as the customer sees it: brand + last four, PayPal, or a gift card."""

    payment_method_id: str
    source: Literal["credit_card", "paypal", "gift_card", "new_card"]
    description: str


class DeliveryEstimate(BaseModel):
    shipping_method: ShippingMethod
    earliest: date
    latest: date


class CheckoutQuote(BaseModel):
    """The exact checkout summary. ``quote_id`` changes whenever anything that is charged changes."""

    quote_id: str
    currency: str
    lines: list[QuoteLine]
    item_count: int
    subtotal: Amount
    promo_code: str | None
    promo_description: str | None
    discount: Amount
    shipping_method: ShippingMethod
    shipping_label: str
    shipping: Amount
    tax_rate_percent: str
    tax: Amount
    total: Amount
    total_minor: int
    address: Address
    payment: PaymentChoice
    delivery: DeliveryEstimate
    guest_email: str | None = None
    """Set for a guest checkout: the account placing the order creates."""


class PlacedOrder(BaseModel):
    """``awaiting_confirmation`` while it is a proposal; ``placed`` once the order exists and is paid."""

    status: Literal["awaiting_confirmation", "placed"]
    order_id: str | None
    quote: CheckoutQuote
    charged: Amount | None = None
    customer_id: str | None = None
    """Whose order it is (for a guest, the account just created)."""


class ShippingOption(BaseModel):
    shipping_method: ShippingMethod
    label: str
    cost: Amount
    available: bool
    note: str = ""


class ShippingOptions(BaseModel):
    options: list[ShippingOption]


class PaymentMethodView(BaseModel):
    payment_method_id: str
    description: str


class PaymentMethods(BaseModel):
    """Saved methods as the customer sees them; never a card number."""

    payment_methods: list[PaymentMethodView]


class PromoCheck(BaseModel):
    code: str
    description: str
    subtotal: Amount
    discount: Amount
    subtotal_after_discount: Amount


# shared lookups -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guest:
    """Who checks out without an account: what the customer said in the chat."""

    email: str
    first_name: str
    last_name: str

    @property
    def given(self) -> bool:
        return bool(self.email or self.first_name or self.last_name)


@dataclass(frozen=True)
class CheckoutArgs:
    shipping_method: ShippingMethod
    payment_method_id: str
    promo_code: str
    address: dict[str, str]
    guest: Guest = Guest("", "", "")

    def payload(self) -> dict[str, Any]:
        payload = {
            "shipping_method": self.shipping_method,
            "payment_method_id": self.payment_method_id,
            "promo_code": normalize_code(self.promo_code),
            "address": self.address,
        }
        if self.guest.given:
            payload["guest"] = [self.guest.email.strip().lower(), self.guest.first_name, self.guest.last_name]
        return payload


def _services(ctx: ToolContext) -> PaymentServices:
    return ctx.payments or payment_services(ctx.store)


def _tax_table() -> dict[str, StateTax]:
    settings = get_settings()
    configured = settings.payments.tax_rates_file
    path = Path(configured) if configured else settings.data_dir / "catalog" / "tax_rates.yaml"
    return load_tax_table(path)


def _rehearsing(store: CommerceStore) -> bool:
    """A rehearsal is its own rehearsal (``CommerceStore.rehearsal``): the proposal's dry run, which must not pay."""
    return store.rehearsal() is store


def _cart_id(ctx: ToolContext) -> str:
    if ctx.cart_id is None:
        raise InvalidStateError("This conversation has no cart")
    return ctx.cart_id


def _customer_and_cart(
    ctx: ToolContext, session: StoreSession, *, lock: bool = False, guest: Guest | None = None
) -> tuple[Customer, Cart, bool]:
    """The verified customer and their cart, and whether this is a guest checkout: then (no verified customer, guest
    details given) the customer is the record the order will create."""
    cart_id = _cart_id(ctx)
    cart = session.get_cart(cart_id, for_update=lock) or Cart(cart_id=cart_id)
    verified = ctx.customer_id if ctx.scope == "customer" else None
    if verified is None and cart.customer_id is None and guest is not None and guest.given:
        return _guest_customer(session, guest), cart, True
    customer_id = ctx.require_customer() or cart.customer_id
    if customer_id is None:
        raise AuthenticationRequiredError()
    if cart.customer_id not in (None, customer_id):
        raise NotOwnedError("Cart", cart_id)
    customer = session.get_customer(customer_id, for_update=lock)
    if customer is None:
        raise NotFoundError("User", customer_id)
    return customer, cart, False


def _guest_customer(session: StoreSession, guest: Guest) -> Customer:
    """The customer record a guest checkout will create, with the id it will have (no address yet)."""
    email = guest.email.strip()
    if not looks_like_email(email):
        raise RuleViolationError("A guest checkout needs the customer's email address")
    if not (guest.first_name.strip() and guest.last_name.strip()):
        raise RuleViolationError("A guest checkout needs the customer's first and last name")
    if session.find_customer_ids_by_email(email):
        raise RuleViolationError(
            "This email already belongs to a customer account: verify it first (find_user_id_by_email), then "
            "check out as that customer"
        )
    name = PersonName(first_name=guest.first_name.strip(), last_name=guest.last_name.strip())
    user_id = new_user_id(name, email, lambda candidate: session.get_customer(candidate) is not None)
    empty = Address(address1="", address2="", city="", country="", state="", zip="")
    return Customer(user_id=user_id, name=name, address=empty, email=email)


def _shipping_address(customer: Customer, fields: dict[str, str], *, guest: bool) -> Address:
    """The customer's default address, unless the call gives one (a guest must)."""
    if not any(value.strip() for value in fields.values()):
        if guest:
            raise RuleViolationError("A guest checkout needs the delivery address (street, city, state and zip)")
        return customer.address
    given = {name: fields.get(name, "").strip() for name in ADDRESS_FIELDS}
    missing = [name for name in ("address1", "city", "state", "zip") if not given[name]]
    if missing:
        raise RuleViolationError(f"A delivery address needs {', '.join(missing)}")
    return Address(**{**given, "state": given["state"].upper(), "country": given["country"] or "USA"})


def _payment_choice(
    services: PaymentServices, customer: Customer, method_id: str, total: Decimal, *, guest: bool, currency: str
) -> PaymentChoice:
    if guest and not is_vault_token(method_id):
        raise RuleViolationError("A guest pays with a card typed in this chat (its vault token), not a saved method")
    if is_vault_token(method_id):
        card = services.vault.describe(method_id)
        return PaymentChoice(
            payment_method_id=method_id,
            source="new_card",
            description=f"{card.brand.title()} ending in {card.last_four}",
        )
    method = customer.payment_methods.get(method_id)
    if method is None:
        raise NotFoundError("Payment method", method_id, "Payment method not found")
    if isinstance(method, GiftCard) and method.balance < total:
        raise InsufficientFundsError(
            f"The gift card balance ({format_money(method.balance, currency)}) does not cover the total "
            f"({format_money(total, currency)}); an order is paid with a single payment method"
        )
    return PaymentChoice(
        payment_method_id=method_id, source=method.source, description=describe_payment_method(method, currency)
    )


def _quote_id(customer: Customer, cart: Cart, parts: dict[str, Any]) -> str:
    # The customer's order count is part of the quote: after an order is placed, the same cart contents make a new
    # quote (and so a new idempotency key), while a resent request for the old quote still finds the old order.
    payload = {"customer": customer.user_id, "cart": cart.cart_id, "orders": len(customer.orders), **parts}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _quote(
    ctx: ToolContext, session: StoreSession, args: CheckoutArgs, *, lock: bool = False
) -> tuple[CheckoutQuote, Customer, Cart]:
    customer, cart, guest = _customer_and_cart(ctx, session, lock=lock, guest=args.guest)
    if not cart.lines:
        raise RuleViolationError("The cart is empty")
    if args.shipping_method not in SHIPPING_METHODS:
        raise RuleViolationError(f"Unknown shipping method; choose one of {', '.join(SHIPPING_METHODS)}")
    lines: list[QuoteLine] = []
    for line in cart.lines:
        found = session.get_variant(line.item_id)
        if found is None or not found[1].available:
            options = ", ".join(line.options.values())
            raise RuleViolationError(
                f"{line.name} ({options}) is no longer available; remove it from the cart to check out"
            )
        price = found[1].price
        lines.append(
            QuoteLine(
                item_id=line.item_id,
                product_id=line.product_id,
                name=line.name,
                options=line.options,
                unit_price=price,
                quantity=line.quantity,
                line_total=price * line.quantity,
            )
        )
    subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
    now = now_utc()
    code = normalize_code(args.promo_code) or None
    discount = Decimal("0.00")
    description = None
    if code is not None:
        promo = payment_records(session).get_promo(code)
        discount = promo_discount(promo, code, subtotal, now, ctx.currency)
        description = promo.description if promo else None
    discounted = subtotal - discount
    address = _shipping_address(customer, args.address, guest=guest)
    rule = state_tax(_tax_table(), address)
    if args.shipping_method == "next_day" and (refusal := next_day_refusal(address)):
        raise RuleViolationError(refusal)
    shipping = shipping_cost(args.shipping_method, discounted)
    tax = sales_tax(rule, discounted, shipping)
    total = discounted + shipping + tax
    currency = ctx.currency
    payment = _payment_choice(_services(ctx), customer, args.payment_method_id, total, guest=guest, currency=currency)
    charged = {
        "lines": [(line.item_id, line.quantity, str(line.unit_price)) for line in lines],
        "promo": code,
        "discount": str(discount),
        "shipping_method": args.shipping_method,
        "shipping": str(shipping),
        "tax": str(tax),
        "total": str(total),
        "address": address.model_dump(),
        "payment": args.payment_method_id,
        "currency": currency,
        "guest": customer.email.lower() if guest else None,
    }
    earliest, latest = delivery_window(args.shipping_method, now)
    quote = CheckoutQuote(
        quote_id=_quote_id(customer, cart, charged),
        currency=currency,
        lines=lines,
        item_count=sum(line.quantity for line in lines),
        subtotal=subtotal,
        promo_code=code,
        promo_description=description,
        discount=discount,
        shipping_method=args.shipping_method,
        shipping_label=SHIPPING[args.shipping_method].label,
        shipping=shipping,
        tax_rate_percent=f"{rule.rate * 100:.3f}".rstrip("0").rstrip(".") + "%",
        tax=tax,
        total=total,
        total_minor=to_minor_units(total),
        address=address,
        payment=payment,
        delivery=DeliveryEstimate(shipping_method=args.shipping_method, earliest=earliest, latest=latest),
        guest_email=customer.email if guest else None,
    )
    return quote, customer, cart


def describe_quote(quote: CheckoutQuote) -> str:
    """The checkout summary in one paragraph (the proposal the customer confirms), in the quote's currency."""

    def money(amount: Decimal) -> str:
        return format_money(amount, quote.currency)

    items = "; ".join(
        f"{line.quantity} x {line.name} ({', '.join(line.options.values())}) at {money(line.unit_price)}"
        for line in quote.lines
    )
    address = quote.address
    street = ", ".join(part for part in (address.address1, address.address2) if part)
    parts = [f"Items: {items}. Subtotal {money(quote.subtotal)}"]
    if quote.discount:
        parts.append(f"promo {quote.promo_code} -{money(quote.discount)}")
    parts.append(f"{quote.shipping_label} shipping {money(quote.shipping)}")
    parts.append(f"tax ({quote.tax_rate_percent}) {money(quote.tax)}")
    guest = f" Checking out as a guest: this creates an account for {quote.guest_email}." if quote.guest_email else ""
    return (
        f"{', '.join(parts)}. Total {money(quote.total)}, paid with {quote.payment.description}.{guest} "
        f"Ships to {street}, {address.city}, {address.state} {address.zip}; estimated delivery "
        f"{quote.delivery.earliest:%a %b %d}"
        + ("" if quote.delivery.latest == quote.delivery.earliest else f" to {quote.delivery.latest:%a %b %d}")
        + "."
    )


# read tools -----------------------------------------------------------------------------------------------------------


def list_shipping_options(ctx: ToolContext) -> ShippingOptions:
    """List the shipping speeds with their cost for the current cart and the customer's default address."""
    cart_id = _cart_id(ctx)
    with ctx.store.session() as session:
        cart = session.get_cart(cart_id) or Cart(cart_id=cart_id)
        customer_id = ctx.customer_id or cart.customer_id
        customer = session.get_customer(customer_id) if customer_id else None
        subtotal = Decimal("0.00")
        for line in cart.lines:
            found = session.get_variant(line.item_id)
            subtotal += (found[1].price if found else line.unit_price) * line.quantity
    options = []
    for method in SHIPPING_METHODS:
        refusal = next_day_refusal(customer.address) if customer and method == "next_day" else None
        cost = shipping_cost(method, subtotal)
        note = (
            f"free over {format_money(FREE_STANDARD_OVER, ctx.currency)} of items (after promo discounts)"
            if method == "standard"
            else ""
        )
        options.append(
            ShippingOption(
                shipping_method=method,
                label=SHIPPING[method].label,
                cost=cost,
                available=refusal is None,
                note=refusal or note,
            )
        )
    return ShippingOptions(options=options)


def list_payment_methods(ctx: ToolContext) -> PaymentMethods:
    """List the customer's saved payment methods (cards as brand + last four, PayPal, gift cards with balance)."""
    customer_id = ctx.require_customer()
    if customer_id is None:
        raise AuthenticationRequiredError()
    with ctx.store.session() as session:
        customer = session.get_customer(customer_id)
    if customer is None:
        raise NotFoundError("User", customer_id)
    return PaymentMethods(
        payment_methods=[
            PaymentMethodView(payment_method_id=method_id, description=describe_payment_method(method, ctx.currency))
            for method_id, method in customer.payment_methods.items()
        ]
    )


def check_promo_code(ctx: ToolContext, promo_code: str) -> PromoCheck:
    """Check a promo code against the current cart: the discount it gives, or why it cannot be used."""
    cart_id = _cart_id(ctx)
    with ctx.store.session() as session:
        cart = session.get_cart(cart_id) or Cart(cart_id=cart_id)
        subtotal = Decimal("0.00")
        for line in cart.lines:
            found = session.get_variant(line.item_id)
            subtotal += (found[1].price if found else line.unit_price) * line.quantity
        code = normalize_code(promo_code)
        promo = payment_records(session).get_promo(code)
    discount = promo_discount(promo, code, subtotal, now_utc(), ctx.currency)
    assert promo is not None
    return PromoCheck(
        code=promo.code,
        description=promo.description,
        subtotal=subtotal,
        discount=discount,
        subtotal_after_discount=subtotal - discount,
    )


def propose_checkout(
    ctx: ToolContext,
    shipping_method: ShippingMethod,
    payment_method_id: str,
    promo_code: str = "",
    address1: str = "",
    address2: str = "",
    city: str = "",
    state: str = "",
    zip: str = "",
    country: str = "",
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> CheckoutQuote:
    """Price the cart for checkout: lines, subtotal, promo discount, shipping, tax, total, delivery address (the
    customer's default unless one is given), payment method and delivery estimate. Changes nothing. payment_method_id
    is a saved method id or a card token from the chat. Pass the returned quote_id to place_order. A customer who is
    not verified checks out as a guest: give their email, first_name and last_name, the delivery address and a card
    token."""
    address = _address_args(address1, address2, city, state, zip, country)
    args = CheckoutArgs(shipping_method, payment_method_id, promo_code, address, Guest(email, first_name, last_name))
    with ctx.store.session() as session:
        quote, _, _ = _quote(ctx, session, args)
    return quote


def _address_args(*values: str) -> dict[str, str]:
    return dict(zip(ADDRESS_FIELDS, values, strict=True))


# place_order --------------------------------------------------------------------------------------------------------


def place_order(
    ctx: ToolContext,
    quote_id: str,
    shipping_method: ShippingMethod,
    payment_method_id: str,
    promo_code: str = "",
    address1: str = "",
    address2: str = "",
    city: str = "",
    state: str = "",
    zip: str = "",
    country: str = "",
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> PlacedOrder:
    """Place the order for the quote the customer confirmed (quote_id from propose_checkout, with the same
    arguments): charges the total and empties the cart. Fails without charging if anything changed since. For a
    guest, creates their customer account."""
    address = _address_args(address1, address2, city, state, zip, country)
    args = CheckoutArgs(shipping_method, payment_method_id, promo_code, address, Guest(email, first_name, last_name))
    if _rehearsing(ctx.store):
        with ctx.store.session() as session:
            quote, _, _ = _confirmed_quote(ctx, session, args, quote_id)
        return PlacedOrder(status="awaiting_confirmation", order_id=None, quote=quote)
    with ctx.store.session() as session:
        customer, cart, _ = _customer_and_cart(ctx, session, guest=args.guest)
    key = checkout_key(customer.user_id, cart.cart_id, quote_id)
    keys = IdempotencyKeys(ctx.store)
    claim = keys.claim(CHECKOUT_SCOPE, key, {"quote_id": quote_id, **args.payload()})
    if isinstance(claim, Replay):
        return PlacedOrder.model_validate(claim.response)
    try:
        return _checkout(ctx, _services(ctx), args, quote_id, key, claim.since)
    except GatewayUnavailableError:
        # The gateway may have acted without our hearing back: the next try must reuse the same gateway keys.
        keys.suspend(CHECKOUT_SCOPE, key)
        raise
    except BaseException:
        keys.release(CHECKOUT_SCOPE, key)
        raise


def checkout_key(customer_id: str, cart_id: str, quote_id: str) -> str:
    """The checkout's idempotency key: one per customer, cart and confirmed quote."""
    digest = hashlib.sha256(f"{customer_id}|{cart_id}|{quote_id}".encode()).hexdigest()
    return f"co_{digest[:40]}"


def _confirmed_quote(
    ctx: ToolContext, session: StoreSession, args: CheckoutArgs, quote_id: str, *, lock: bool = False
) -> tuple[CheckoutQuote, Customer, Cart]:
    """The quote as it is now, which must be the one the customer confirmed."""
    try:
        quote, customer, cart = _quote(ctx, session, args, lock=lock)
    except (RuleViolationError, InsufficientFundsError) as exc:
        raise CheckoutChangedError(f"{exc.message}. Nothing was charged; please review the checkout again") from exc
    if quote.quote_id != quote_id:
        raise CheckoutChangedError(
            "The checkout changed since it was confirmed (prices, stock, promo or totals): the total is now "
            f"{format_money(quote.total, quote.currency)} (quote {quote.quote_id}). Nothing was charged; please "
            "confirm the new summary",
            quote_id=quote.quote_id,
        )
    return quote, customer, cart


def _checkout(
    ctx: ToolContext, services: PaymentServices, args: CheckoutArgs, quote_id: str, key: str, since: datetime
) -> PlacedOrder:
    with ctx.store.session() as session:
        quote, _, _ = _confirmed_quote(ctx, session, args, quote_id)
    if quote.payment.source == "gift_card":
        return _commit_order(ctx, services, args, quote_id, key, None)
    gateway = services.gateway
    # One attempt per claim: a takeover of a suspended claim keeps ``since`` and so replays the gateway's answers,
    # while a new claim after a terminal failure (a decline, a change) starts a fresh attempt with a new allowance.
    attempt = f"{key}:{since.astimezone(UTC):%Y%m%d%H%M%S%f}"
    common = {
        "method_id": args.payment_method_id,
        "gateway": gateway.name,
        "currency": quote.currency,
        "checkout_key": key,
    }
    allowance = Allowance(
        max_amount=quote.total_minor,
        currency=quote.currency,
        expires_at=since + timedelta(seconds=services.allowance_ttl_s),
        merchant_id=services.merchant_id,
        checkout_session_id=key,
    )
    token = gateway.tokenize(args.payment_method_id, idempotency_key=f"{attempt}:tokenize", allowance=allowance)
    held = gateway.authorize(token.token, quote.total_minor, quote.currency, idempotency_key=f"{attempt}:authorize")
    record(
        ctx.store,
        entry(
            LedgerKind.AUTHORIZATION,
            status=held.status.value,
            ref=held.payment_id,
            amount=quote.total_minor,
            idem_key=f"{attempt}:authorize",
            **common,
        ),
    )
    if held.status is PaymentStatus.DECLINED:
        raise PaymentDeclinedError(
            "The card was declined, so nothing was charged and no order was placed. Please use another payment "
            "method; only the bank can say why it declined.",
            decline_code=held.decline_code or "card_declined",
        )
    if held.status is PaymentStatus.REQUIRES_ACTION:
        _void(ctx.store, services, held, quote.total_minor, attempt, common)
        raise PaymentActionRequiredError(
            "The bank wants to verify this payment (3-D Secure), which cannot be done in this chat. Nothing was "
            "charged; please use a saved payment method or another card."
        )
    try:
        taken = gateway.capture(held.payment_id, quote.total_minor, idempotency_key=f"{attempt}:capture")
    except GatewayUnavailableError:
        raise  # keep the authorization: the next try (same attempt, same keys) captures it or learns it was
    except BaseException:
        _void(ctx.store, services, held, quote.total_minor, attempt, common)
        raise
    record(
        ctx.store,
        entry(
            LedgerKind.CAPTURE,
            status=taken.status.value,
            ref=taken.payment_id,
            amount=quote.total_minor,
            idem_key=f"{attempt}:capture",
            **common,
        ),
    )
    try:
        placed = _commit_order(ctx, services, args, quote_id, key, (token.token, token.brand, token.last_four))
    except BaseException:
        _refund_orphan(ctx.store, services, taken, key, attempt, common)
        raise
    if is_vault_token(args.payment_method_id):
        services.vault.forget(args.payment_method_id)
    return placed


def _void(
    store: CommerceStore, services: PaymentServices, held: Payment, amount: int, attempt: str, common: dict[str, Any]
) -> None:
    """Release an authorization that will not be captured (best effort: an unreleased hold expires on its own)."""
    try:
        voided = services.gateway.void(held.payment_id, idempotency_key=f"{attempt}:void")
    except Exception:
        log.exception("checkout_void_failed", attempt=attempt, payment_id=held.payment_id)
        return
    record(
        store,
        entry(
            LedgerKind.VOID,
            status=voided.status.value,
            ref=held.payment_id,
            amount=amount,
            idem_key=f"{attempt}:void",
            **common,
        ),
    )


def _refund_orphan(
    store: CommerceStore, services: PaymentServices, taken: Payment, key: str, attempt: str, common: dict[str, Any]
) -> None:
    """The order could not be created after the capture: give the money back, unless an order owns the payment."""
    with store.session() as session:
        if payment_records(session).charges_by_checkout_key(key) is not None:
            return
    try:
        refunded = services.gateway.refund(taken.payment_id, taken.captured, idempotency_key=f"{attempt}:compensate")
    except Exception:
        # The ledger shows a capture without an order for this key; ``ledger.reconcile`` reports it.
        log.exception("payment_without_order", checkout_key=key, payment_id=taken.payment_id)
        raise
    record(
        store,
        entry(
            LedgerKind.REFUND,
            status=refunded.status.value,
            ref=taken.payment_id,
            amount=taken.captured,
            idem_key=f"{attempt}:compensate",
            **common,
        ),
    )


def _new_order_id(session: StoreSession) -> str:
    while True:
        order_id = f"#W{secrets.randbelow(10**7):07d}"
        if session.get_order(order_id) is None:
            return order_id


def _new_card_method_id(session: StoreSession, token: str) -> str:
    """A saved-card id (``credit_card_`` + 7 digits) derived from the gateway token, unique in the store."""
    number = int(hashlib.sha256(token.encode()).hexdigest(), 16) % 10**7
    records = payment_records(session)
    while records.payment_method_exists(f"credit_card_{number:07d}"):
        number = (number + 1) % 10**7
    return f"credit_card_{number:07d}"


def _commit_order(
    ctx: ToolContext,
    services: PaymentServices,
    args: CheckoutArgs,
    quote_id: str,
    key: str,
    card: tuple[str, str, str] | None,
) -> PlacedOrder:
    """The one write transaction: re-check the quote under row locks, then order, charges, ledger, cart, result."""
    with ctx.store.session(write=True) as session:
        replayed = IdempotencyKeys.completed(session, CHECKOUT_SCOPE, key)
        if replayed is not None:
            return PlacedOrder.model_validate(replayed)
        quote, customer, cart = _confirmed_quote(ctx, session, args, quote_id, lock=True)
        if quote.guest_email is not None:
            customer = customer.model_copy(update={"address": quote.address})
            session.add_customer(customer)
        records = payment_records(session)
        order_id = _new_order_id(session)
        method_id = args.payment_method_id
        if card is not None and is_vault_token(method_id):
            method_id = _new_card_method_id(session, card[0])
            session.save_payment_method(
                customer.user_id, CreditCard(id=method_id, brand=card[1] or "card", last_four=card[2])
            )
        method = customer.payment_methods.get(method_id)
        if isinstance(method, GiftCard):
            if method.balance < quote.total:
                raise InsufficientFundsError("The gift card balance does not cover the total; nothing was charged")
            session.save_payment_method(
                customer.user_id, method.model_copy(update={"balance": method.balance - quote.total})
            )
            for kind in (LedgerKind.AUTHORIZATION, LedgerKind.CAPTURE):
                records.append_ledger(
                    entry(
                        kind,
                        status="succeeded",
                        method_id=method_id,
                        gateway=GIFT_CARD_LEDGER,
                        ref=None,
                        amount=quote.total_minor,
                        currency=quote.currency,
                        idem_key=f"{key}:gift_card:{kind.value}",
                        checkout_key=key,
                    )
                )
        order = Order(
            order_id=order_id,
            user_id=customer.user_id,
            address=quote.address,
            items=[
                OrderItem(
                    name=line.name,
                    product_id=line.product_id,
                    item_id=line.item_id,
                    price=line.unit_price,
                    options=line.options,
                )
                for line in quote.lines
                for _ in range(line.quantity)
            ],
            status=OrderStatus.PENDING,
            payment_history=[
                PaymentTransaction(transaction_type="payment", amount=quote.total, payment_method_id=method_id)
            ],
        )
        session.save_order(order)
        records.save_order_charges(
            OrderCharges(
                order_id=order_id,
                user_id=customer.user_id,
                checkout_key=key,
                currency=quote.currency,
                subtotal_minor=to_minor_units(quote.subtotal),
                discount_minor=to_minor_units(quote.discount),
                shipping_minor=to_minor_units(quote.shipping),
                tax_minor=to_minor_units(quote.tax),
                total_minor=quote.total_minor,
                promo_code=quote.promo_code,
                shipping_method=quote.shipping_method,
                payment_method_id=method_id,
                created_at=now_utc(),
            )
        )
        records.assign_ledger_order(key, order_id)
        session.save_cart(cart.model_copy(update={"lines": []}))
        if card is not None and is_vault_token(args.payment_method_id):
            shown = f"{card[1].title() or 'Card'} ending in {card[2]}"
            quote = quote.model_copy(
                update={"payment": PaymentChoice(payment_method_id=method_id, source="credit_card", description=shown)}
            )
        placed = PlacedOrder(
            status="placed", order_id=order_id, quote=quote, charged=quote.total, customer_id=customer.user_id
        )
        IdempotencyKeys.complete(session, CHECKOUT_SCOPE, key, placed.model_dump(mode="json"))
    log.info("order_placed", order_id=order_id, checkout_key=key, total_minor=quote.total_minor)
    return placed


CHECKOUT_TOOLS: list[Tool] = [
    make_tool(ToolKind.READ, list_shipping_options),
    make_tool(ToolKind.READ, list_payment_methods),
    make_tool(ToolKind.READ, check_promo_code),
    make_tool(ToolKind.READ, propose_checkout),
    make_tool(ToolKind.WRITE, place_order, confirm=True),
]

__all__ = [
    "CHECKOUT_TOOLS",
    "CheckoutQuote",
    "PlacedOrder",
    "checkout_key",
    "describe_quote",
]
