"""The graph for LangGraph Studio / LangGraph Platform (``langgraph.json``): built from settings, no checkpointer
(the platform supplies its own)."""

from __future__ import annotations

from typing import Any

from shopkeep.agents.factory import build_deps
from shopkeep.agents.graph import build_graph
from shopkeep.settings import get_settings
from shopkeep.store import open_store


def make_graph() -> Any:
    """Open the configured store and build the graph on it."""
    settings = get_settings()
    return build_graph(build_deps(settings, open_store(settings.resolved_store_url())))
