"""Which tools each specialist may call, and their schemas as a model sees them."""

from __future__ import annotations

from typing import Any

from shopkeep.agents.state import AgentName
from shopkeep.tools import Tool, ToolRegistry
from shopkeep.tools.cart import CART_TOOLS
from shopkeep.tools.retail import RETAIL_TOOLS

AUTH_TOOLS = frozenset({"find_user_id_by_email", "find_user_id_by_name_zip"})
HANDOFF_TOOL = "transfer_to_human_agents"

_IDENTIFY = ("find_user_id_by_email", "find_user_id_by_name_zip")
_CATALOG_READS = ("list_all_product_types", "get_product_details", "get_item_details")

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
    "catalog": (*_CATALOG_READS, "add_to_cart", "view_cart"),
    "cart": ("view_cart", "add_to_cart", "update_cart_quantity", "remove_from_cart", *_CATALOG_READS),
    "checkout": (*_IDENTIFY, "get_user_details", "view_cart"),
    "support": (HANDOFF_TOOL,),
    "escalation": (HANDOFF_TOOL,),
}


def all_tools() -> list[Tool]:
    return [*RETAIL_TOOLS, *CART_TOOLS]


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
