"""Which tools each specialist may call, and their schemas as a model sees them."""

from __future__ import annotations

from typing import Any

from shopkeep.agents.state import AgentName
from shopkeep.tools import Tool, ToolRegistry
from shopkeep.tools.cart import CART_TOOLS
from shopkeep.tools.catalog import CATALOG_TOOLS
from shopkeep.tools.checkout import CHECKOUT_TOOLS
from shopkeep.tools.retail import RETAIL_TOOLS

AUTH_TOOLS = frozenset({"find_user_id_by_email", "find_user_id_by_name_zip"})
HANDOFF_TOOL = "transfer_to_human_agents"

_IDENTIFY = ("find_user_id_by_email", "find_user_id_by_name_zip")
_CATALOG_READS = ("list_all_product_types", "get_product_details", "get_item_details")
_CART = ("view_cart", "add_to_cart", "update_cart_quantity", "remove_from_cart")
_KNOWLEDGE = "search_knowledge"
# Catalog and cart share one shopping dialog (a customer moves from browsing to the cart and back mid-sentence, and
# the router keeps the specialist that asked the last question), so they share its tools; support's knowledge
# answers, the offer of a human and identifying a customer who introduces themselves are their fallback.
_SHOPPING = (
    *_IDENTIFY,
    "search_products",
    *_CATALOG_READS,
    "find_variant",
    "recommend_similar",
    *_CART,
    _KNOWLEDGE,
    HANDOFF_TOOL,
)

AGENT_TOOLS: dict[AgentName, tuple[str, ...]] = {
    "account": (*_IDENTIFY, "get_user_details", "modify_user_address", HANDOFF_TOOL),
    "orders": (
        *_IDENTIFY,
        "get_user_details",
        "get_order_details",
        *_CATALOG_READS,
        "calculate",
        "cancel_pending_order",
        "modify_pending_order_address",
        "modify_pending_order_items",
        "modify_pending_order_payment",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
        HANDOFF_TOOL,
    ),
    "catalog": _SHOPPING,
    "cart": _SHOPPING,
    "checkout": (
        *_IDENTIFY,
        "get_user_details",
        "view_cart",
        "list_shipping_options",
        "list_payment_methods",
        "check_promo_code",
        "propose_checkout",
        "place_order",
        # "I want to buy the water bottle" puts it in the cart first
        "list_all_product_types",
        "get_product_details",
        "find_variant",
        "add_to_cart",
        _KNOWLEDGE,
        HANDOFF_TOOL,
    ),
    "support": (*_IDENTIFY, _KNOWLEDGE, HANDOFF_TOOL),
    "escalation": (HANDOFF_TOOL,),
}


def all_tools() -> list[Tool]:
    retail = {tool.name for tool in RETAIL_TOOLS}
    # CATALOG_TOOLS lists get_product_details too (the same retail tool), for catalog-only registries
    return [*RETAIL_TOOLS, *CART_TOOLS, *CHECKOUT_TOOLS, *(t for t in CATALOG_TOOLS if t.name not in retail)]


def agent_registry() -> ToolRegistry:
    """Every tool any specialist may call (the tools node checks the specialist's own list)."""
    return ToolRegistry(all_tools())


def tool_schemas(registry: ToolRegistry, agent: AgentName) -> list[dict[str, Any]]:
    """OpenAI-style function schemas for one specialist's tools (what ``bind_tools`` takes)."""
    schemas = []
    for name in AGENT_TOOLS[agent]:
        tool = registry.get(name)
        parameters = tool.json_schema()
        parameters.pop("title", None)
        schemas.append(
            {"type": "function", "function": {"name": name, "description": tool.description, "parameters": parameters}}
        )
    return schemas
