"""Cart tools: add, remove, change quantity, show. Prices and totals always come from the catalog and code.

The cart is the conversation's (``ToolContext.cart_id``); the model never names a cart.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from shopkeep.domain import Cart, CartLine
from shopkeep.errors import InvalidStateError, NotFoundError, RuleViolationError
from shopkeep.store.base import StoreSession
from shopkeep.tools.base import Tool, ToolContext, ToolKind, make_tool

MAX_QUANTITY = 10


class CartView(BaseModel):
    """The cart as shown to the customer: lines with subtotals, the item count and the subtotal."""

    cart_id: str
    lines: list[CartLine]
    item_count: int
    subtotal: Decimal


def _view(cart: Cart) -> CartView:
    return CartView(cart_id=cart.cart_id, lines=cart.lines, item_count=cart.item_count, subtotal=cart.subtotal)


def _cart_id(ctx: ToolContext) -> str:
    if ctx.cart_id is None:
        raise InvalidStateError("This conversation has no cart")
    return ctx.cart_id


def _load(session: StoreSession, ctx: ToolContext) -> Cart:
    cart_id = _cart_id(ctx)
    return session.get_cart(cart_id, for_update=True) or Cart(cart_id=cart_id, customer_id=ctx.customer_id)


def _check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise RuleViolationError(f"Quantity must be between 1 and {MAX_QUANTITY}")


def add_to_cart(ctx: ToolContext, item_id: str, quantity: int = 1) -> CartView:
    """Add an available item (a variant's item id) to the cart, at its current catalog price."""
    _check_quantity(quantity)
    with ctx.store.session(write=True) as session:
        found = session.get_variant(item_id)
        if found is None:
            raise NotFoundError("Item", item_id)
        product_id, variant = found
        if not variant.available:
            raise RuleViolationError(f"Item {item_id} is out of stock")
        product = session.get_product(product_id)
        cart = _load(session, ctx)
        lines = list(cart.lines)
        index = next((n for n, line in enumerate(lines) if line.item_id == item_id), None)
        if index is None:
            lines.append(
                CartLine(
                    item_id=item_id,
                    product_id=product_id,
                    name=product.name if product else item_id,
                    options=variant.options,
                    unit_price=variant.price,
                    quantity=quantity,
                )
            )
        else:
            total = lines[index].quantity + quantity
            _check_quantity(total)
            lines[index] = lines[index].model_copy(update={"quantity": total, "unit_price": variant.price})
        updated = cart.model_copy(update={"lines": lines, "customer_id": ctx.customer_id or cart.customer_id})
        session.save_cart(updated)
    return _view(updated)


def update_cart_quantity(ctx: ToolContext, item_id: str, quantity: int) -> CartView:
    """Set how many of an item the cart holds (0 removes it)."""
    if quantity != 0:
        _check_quantity(quantity)
    with ctx.store.session(write=True) as session:
        cart = _load(session, ctx)
        if all(line.item_id != item_id for line in cart.lines):
            raise NotFoundError("Item", item_id, f"Item {item_id} is not in the cart")
        lines = [
            line.model_copy(update={"quantity": quantity}) if line.item_id == item_id else line
            for line in cart.lines
            if line.item_id != item_id or quantity > 0
        ]
        updated = cart.model_copy(update={"lines": lines})
        session.save_cart(updated)
    return _view(updated)


def remove_from_cart(ctx: ToolContext, item_id: str) -> CartView:
    """Remove an item from the cart."""
    return update_cart_quantity(ctx, item_id, 0)


def view_cart(ctx: ToolContext) -> CartView:
    """Show the cart: lines, quantities, prices and the subtotal."""
    cart_id = _cart_id(ctx)
    with ctx.store.session() as session:
        cart = session.get_cart(cart_id) or Cart(cart_id=cart_id)
    return _view(cart)


CART_TOOLS: list[Tool] = [
    make_tool(ToolKind.WRITE, add_to_cart, confirm=False),
    make_tool(ToolKind.WRITE, update_cart_quantity, confirm=False),
    make_tool(ToolKind.WRITE, remove_from_cart, confirm=False),
    make_tool(ToolKind.READ, view_cart),
]
