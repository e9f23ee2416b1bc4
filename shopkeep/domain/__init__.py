"""Frozen domain models and exact money. Pure data: no I/O, no framework imports."""

from shopkeep.domain.carts import Cart, CartLine
from shopkeep.domain.catalog import Product, Variant
from shopkeep.domain.customers import (
    Address,
    CreditCard,
    Customer,
    GiftCard,
    PaymentMethod,
    PayPal,
    PersonName,
    describe_payment_method,
    looks_like_email,
)
from shopkeep.domain.money import Amount, to_amount, to_minor_units
from shopkeep.domain.orders import (
    CANCEL_REASONS,
    Fulfillment,
    Order,
    OrderItem,
    OrderStatus,
    PaymentTransaction,
)
from shopkeep.domain.support import (
    AgentRole,
    ConversationEvent,
    EscalationTicket,
    HumanAgent,
    TicketNote,
    TicketStatus,
)

__all__ = [
    "CANCEL_REASONS",
    "Address",
    "AgentRole",
    "Amount",
    "Cart",
    "CartLine",
    "ConversationEvent",
    "CreditCard",
    "Customer",
    "EscalationTicket",
    "Fulfillment",
    "GiftCard",
    "HumanAgent",
    "Order",
    "OrderItem",
    "OrderStatus",
    "PayPal",
    "PaymentMethod",
    "PaymentTransaction",
    "PersonName",
    "Product",
    "TicketNote",
    "TicketStatus",
    "Variant",
    "describe_payment_method",
    "looks_like_email",
    "to_amount",
    "to_minor_units",
]
