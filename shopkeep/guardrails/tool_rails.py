"""Tool-call rails: checks the tools node runs on every tool call a model proposes, before the tool runs.

Each rail is data: a name, the ``TOOL`` stage, and a ``RailResult`` (``tripped`` and ``blocked`` together; ``text``
is the refusal the model reads, ``reason`` what the conversation's event trail records). ``ToolRails.check`` runs
them in order and stops at the first trip; then nothing runs and the model gets the refusal as a tool error.

- ``rate_limit``: tool calls per conversation and per customer (counted first, so refused calls count too: a
  model looping on refusals is slowed down like any other);
- ``confirmation_required``: a write tool either waits for the customer's yes (``Tool.confirm``) or is one of the
  few reversible cart edits; any other write cannot run (a test over the registry says none exists);
- ``authentication_required``: account, order and payment tools need an authenticated customer;
- ``ownership``: every order, user and payment-method id in the arguments is the customer's own, checked
  against the store; another customer's record is refused with the tools' own "not found" text, so the refusal
  says nothing about whether it exists;
- ``customer_given``: what only the customer can say is what the customer said: the email, or name and zip, a
  login uses, and a new address, a promo code or a guest's email and name a write uses (an address may also be one
  the store returned);
- ``limits``: quantity per cart line, items and amount per order, and the largest refund a tool may make.

The tools check identity and ownership themselves too; these rails are the second, independent wall.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shopkeep.domain import Cart, Order
from shopkeep.domain.money import format_money
from shopkeep.errors import AuthenticationRequiredError, NotFoundError
from shopkeep.guardrails.base import RailResult, Stage
from shopkeep.guardrails.ratelimit import MemoryRateLimiter, RateLimiter, RateRules, rate_limiter
from shopkeep.payments.vault import is_vault_token
from shopkeep.settings import LimitSettings, Settings
from shopkeep.store.base import StoreSession
from shopkeep.store.payments import payment_records
from shopkeep.tools.base import Tool, ToolContext, ToolKind

OWNED_ARGUMENTS = {"order_id": "Order", "user_id": "User", "payment_method_id": "Payment method"}
"""Arguments that name a customer's record, and the kind the tools' "not found" text names."""

ACCOUNT_TOOLS_WITHOUT_IDS = frozenset({"list_payment_methods"})
"""Customer tools that name no record in their arguments (they read the customer from state)."""

REVERSIBLE_WRITES = frozenset({"add_to_cart", "update_cart_quantity", "remove_from_cart"})
"""The only writes that run without the customer's yes: cart edits, which move no money, change no order and are
undone by another edit (checkout itself waits for a yes)."""

CHECKOUT_TOOLS = frozenset({"propose_checkout", "place_order"})
REFUND_TOOLS = frozenset(
    {
        "cancel_pending_order",
        "return_delivered_order_items",
        "modify_pending_order_items",
        "exchange_delivered_order_items",
    }
)


@dataclass(frozen=True)
class ToolCallCheck:
    """One proposed call: the registered tool, the model's arguments and who is calling (from graph state)."""

    tool: Tool
    arguments: dict[str, Any]
    ctx: ToolContext
    said: str | None = None
    """Everything the customer wrote in this conversation (None: not known, as for calls made outside a chat)."""
    stored: str = ""
    """What the store returned of the customer's own records in this conversation (profile and order details)."""


ToolRail = Callable[[ToolCallCheck], RailResult]


def _passed(name: str) -> RailResult:
    return RailResult(name=name, stage=Stage.TOOL, tripped=False, text="")


def _refused(name: str, message: str, reason: str) -> RailResult:
    return RailResult(name=name, stage=Stage.TOOL, tripped=True, blocked=True, text=message, reason=reason)


def needs_customer(tool: Tool) -> bool:
    """Account, order and payment tools: those naming a customer's record, and the account tools naming none."""
    return bool(set(tool.parameters) & OWNED_ARGUMENTS.keys()) or tool.name in ACCOUNT_TOOLS_WITHOUT_IDS


def may_run_without_yes(tool: Tool) -> bool:
    """Whether a tool may run on the model's word alone: reads, generic tools and the reversible cart edits."""
    return tool.kind is not ToolKind.WRITE or tool.confirm or tool.name in REVERSIBLE_WRITES


# the rails ---------------------------------------------------------------------------------------------------------


def confirmation_required(call: ToolCallCheck) -> RailResult:
    """A write that neither waits for a yes nor is a reversible cart edit never runs."""
    if may_run_without_yes(call.tool):
        return _passed("confirmation_required")
    return _refused(
        "confirmation_required",
        "This action needs the customer's explicit confirmation and cannot run as asked; nothing was changed.",
        f"write tool {call.tool.name} without confirmation",
    )


def guest_checkout(call: ToolCallCheck) -> bool:
    """A checkout by someone without an account: their email, and a card typed in this chat (nobody's saved method)."""
    method = call.arguments.get("payment_method_id")
    return (
        call.tool.name in CHECKOUT_TOOLS
        and bool(call.arguments.get("email"))
        and isinstance(method, str)
        and is_vault_token(method)
    )


def authentication_required(call: ToolCallCheck) -> RailResult:
    """Account, order and payment tools need an authenticated customer in the conversation's state (a guest
    checkout excepted: it pays with a card typed in the chat and creates the account)."""
    if not needs_customer(call.tool) or call.ctx.customer_id is not None or guest_checkout(call):
        return _passed("authentication_required")
    return _refused(
        "authentication_required", AuthenticationRequiredError().message, f"{call.tool.name} before authentication"
    )


def ownership(call: ToolCallCheck) -> RailResult:
    """Every order, user and payment method the arguments name is the authenticated customer's (or unknown, which
    the tool reports itself). Another customer's is refused exactly as the tools refuse a missing one."""
    customer_id = call.ctx.customer_id
    named = {
        field: value
        for field, value in call.arguments.items()
        if field in OWNED_ARGUMENTS and isinstance(value, str) and value
    }
    if customer_id is None or not named:
        return _passed("ownership")
    with call.ctx.store.session() as session:
        for field, value in named.items():
            if _belongs_to_another(session, field, value, customer_id):
                kind = OWNED_ARGUMENTS[field]
                return _refused("ownership", NotFoundError(kind, value).message, f"{kind.lower()} of another customer")
    return _passed("ownership")


def _belongs_to_another(session: StoreSession, field: str, value: str, customer_id: str) -> bool:
    if field == "order_id":
        order = session.get_order(value)
        return order is not None and order.user_id != customer_id
    if field == "user_id":
        return value != customer_id and session.get_customer(value) is not None
    if is_vault_token(value):
        return False  # a card typed in this conversation: its allowance, not an owner, limits what it pays
    customer = session.get_customer(customer_id)
    mine = customer is not None and value in customer.payment_methods
    return not mine and payment_records(session).payment_method_exists(value)


LOGIN_DETAILS = {
    "find_user_id_by_email": ("email",),
    "find_user_id_by_name_zip": ("first_name", "last_name", "zip"),
}
"""Arguments of the login tools, which must be the customer's own words: a model cannot log in as anyone."""
ADDRESS_DETAILS = ("address1", "address2", "city", "zip")
GUEST_DETAILS = ("email", "first_name", "last_name")
"""Who a guest checkout is for: only the customer can say."""
STORED_RECORD_TOOLS = frozenset({"get_user_details", "get_order_details"})
"""Tools whose results are the customer's stored records: an address found there may be reused ("same as before")."""


def customer_given(call: ToolCallCheck) -> RailResult:
    """Login details come from the customer's messages; a write's new address and promo code from them too (or, for
    an address, from the customer's records the store returned). Anything else is a model's invention."""
    if call.said is None:
        return _passed("customer_given")
    said = comparable(call.said)
    if call.tool.name in LOGIN_DETAILS:
        wanted = {field: call.arguments.get(field) for field in LOGIN_DETAILS[call.tool.name]}
        missing = [field for field, value in wanted.items() if not _mentioned(value, said)]
    elif call.tool.kind is ToolKind.WRITE:
        stored = comparable(call.stored)
        missing = [
            field
            for field in ADDRESS_DETAILS
            if call.arguments.get(field) and not _mentioned(call.arguments[field], said, stored)
        ]
        missing += [
            field
            for field in GUEST_DETAILS
            if call.arguments.get(field) and not _mentioned(call.arguments[field], said)
        ]
        if call.arguments.get("promo_code") and not _mentioned(call.arguments["promo_code"], said):
            missing.append("promo_code")
    else:
        missing = []
    if not missing:
        return _passed("customer_given")
    return _refused(
        "customer_given",
        "Not done: " + ", ".join(missing) + " must be exactly what the customer said in this conversation. "
        "Ask the customer for it; nothing was changed.",
        f"{call.tool.name} with {', '.join(missing)} the customer never gave",
    )


def comparable(text: str) -> str:
    """Lower-case words and digits only, space-separated and space-padded: "#W123, Elm St." -> " w123 elm st "."""
    return " " + " ".join(re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", text).lower())) + " "


def _mentioned(value: Any, *texts: str) -> bool:
    wanted = comparable(str(value)) if isinstance(value, str) else ""
    return wanted.strip() != "" and any(wanted in text for text in texts)


def limits(settings: LimitSettings) -> ToolRail:
    """Quantity per cart line, items and amount per order, largest refund (``SHOPKEEP_LIMITS__*``)."""

    def check(call: ToolCallCheck) -> RailResult:
        name = call.tool.name
        if name in ("add_to_cart", "update_cart_quantity") or name in CHECKOUT_TOOLS:
            problem = _cart_problem(call, settings)
        elif name in REFUND_TOOLS:
            problem = _refund_problem(call, settings)
        else:
            problem = None
        if problem is None:
            return _passed("limits")
        return _refused("limits", problem[0], problem[1])

    return check


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _cart_problem(call: ToolCallCheck, limits: LimitSettings) -> tuple[str, str] | None:
    if call.ctx.cart_id is None:
        return None  # the tool explains that there is no cart
    item_id = call.arguments.get("item_id")
    quantity = _int(call.arguments.get("quantity", 1))
    with call.ctx.store.session() as session:
        cart = session.get_cart(call.ctx.cart_id) or Cart(cart_id=call.ctx.cart_id)
        prices = {line.item_id: _price(session, line.item_id, line.unit_price) for line in cart.lines}
        quantities = {line.item_id: line.quantity for line in cart.lines}
        if call.tool.name not in CHECKOUT_TOOLS and isinstance(item_id, str) and quantity is not None:
            prices.setdefault(item_id, _price(session, item_id, Decimal("0.00")))
            before = quantities.get(item_id, 0)
            quantities[item_id] = before + quantity if call.tool.name == "add_to_cart" else quantity
            if quantities[item_id] > limits.max_line_quantity:
                return (
                    f"At most {limits.max_line_quantity} of one item can be ordered at once; the cart would hold "
                    f"{quantities[item_id]}. Nothing was changed.",
                    "line quantity limit",
                )
    items = sum(quantities.values())
    if items > limits.max_order_items:
        return (
            f"An order can hold at most {limits.max_order_items} items; this would be {items}. Nothing was changed.",
            "order item limit",
        )
    amount = sum((prices[item] * count for item, count in quantities.items()), Decimal("0.00"))
    if amount > limits.max_order_amount:
        return (
            f"An order's items can cost at most {format_money(limits.max_order_amount, call.ctx.currency)}; this "
            f"would be {format_money(amount, call.ctx.currency)}. "
            "Nothing was changed; a human agent can help with larger orders.",
            "order amount limit",
        )
    return None


def _price(session: StoreSession, item_id: str, fallback: Decimal) -> Decimal:
    found = session.get_variant(item_id)
    return found[1].price if found is not None else fallback


def _refund_problem(call: ToolCallCheck, limits: LimitSettings) -> tuple[str, str] | None:
    order_id = call.arguments.get("order_id")
    if not isinstance(order_id, str):
        return None
    with call.ctx.store.session() as session:
        order = session.get_order(order_id)
        if order is None:
            return None  # the tool reports the unknown order
        refund = _refund_amount(session, call.tool.name, order, call.arguments)
    if refund <= limits.max_refund_amount:
        return None
    return (
        f"Refunds over {format_money(limits.max_refund_amount, call.ctx.currency)} (this one: "
        f"{format_money(refund, call.ctx.currency)}) cannot be made here; a human agent can help. Nothing was changed.",
        "refund amount limit",
    )


def _refund_amount(session: StoreSession, tool: str, order: Order, arguments: dict[str, Any]) -> Decimal:
    """The most the call could refund: all that was paid (cancel), the items' prices (return), or the price
    difference when the new items are cheaper (modify, exchange)."""
    if tool == "cancel_pending_order":
        return sum(order.net_paid_by_method().values(), Decimal("0.00"))
    old_ids = [i for i in arguments.get("item_ids") or [] if isinstance(i, str)]
    prices = {item.item_id: item.price for item in order.items}
    old = sum((prices.get(i, Decimal("0.00")) for i in old_ids), Decimal("0.00"))
    if tool == "return_delivered_order_items":
        return old
    new_ids = [i for i in arguments.get("new_item_ids") or [] if isinstance(i, str)]
    new = sum((_price(session, i, Decimal("0.00")) for i in new_ids), Decimal("0.00"))
    return max(old - new, Decimal("0.00"))


def rate_limit(limiter: RateLimiter, rules: RateRules) -> ToolRail:
    """Tool calls per minute, per conversation and per customer."""

    def check(call: ToolCallCheck) -> RailResult:
        refusal = rules.hit(limiter, call.ctx.conversation_id, call.ctx.customer_id)
        if refusal is None:
            return _passed("rate_limit")
        wait = refusal.decision.retry_after_header
        return _refused(
            "rate_limit",
            f"Too many actions in a short time; nothing was done. Please wait {wait} seconds and try again.",
            f"{refusal.subject} tool-call rate limit",
        )

    return check


# the chain ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolRails:
    """The tool-call rails in the order they run."""

    rails: tuple[ToolRail, ...]

    def check(self, call: ToolCallCheck) -> RailResult | None:
        """The first rail that trips, or None: the call may run."""
        for rail in self.rails:
            result = rail(call)
            if result.tripped:
                return result
        return None

    @classmethod
    def build(cls, settings: LimitSettings, limiter: RateLimiter) -> ToolRails:
        return cls(
            (
                rate_limit(limiter, RateRules.for_tool_calls(settings)),
                confirmation_required,
                authentication_required,
                ownership,
                customer_given,
                limits(settings),
            )
        )

    @classmethod
    def from_settings(cls, settings: Settings, limiter: RateLimiter | None = None) -> ToolRails:
        """The configured rails; rate limits in Redis when ``SHOPKEEP_REDIS_URL`` is set."""
        return cls.build(settings.limits, limiter or rate_limiter(settings))


def default_tool_rails() -> ToolRails:
    """Default limits with in-process rate limits (graphs built without settings, as tests do)."""
    return ToolRails.build(LimitSettings(), MemoryRateLimiter())
