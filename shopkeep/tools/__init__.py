"""The typed tools the agents call; each enforces its own business rules."""

from shopkeep.tools.base import Tool, ToolContext, ToolKind, ToolOutcome, ToolRegistry
from shopkeep.tools.catalog import CATALOG_TOOLS
from shopkeep.tools.retail import RETAIL_TOOLS


def retail_registry() -> ToolRegistry:
    """The 16 τ²-compatible retail tools."""
    return ToolRegistry(RETAIL_TOOLS)


__all__ = [
    "CATALOG_TOOLS",
    "RETAIL_TOOLS",
    "Tool",
    "ToolContext",
    "ToolKind",
    "ToolOutcome",
    "ToolRegistry",
    "retail_registry",
]
