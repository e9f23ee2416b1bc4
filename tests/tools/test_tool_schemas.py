"""The tool schemas a model sees: τ²'s 16 retail tools with τ²'s argument names, and nothing the model must not
control (who the customer is, which cart or conversation, the store)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shopkeep.tools import Tool, ToolContext, ToolKind, retail_registry

REGISTRY = retail_registry()
FORBIDDEN = {"customer_id", "cart_id", "conversation_id", "session", "ctx", "store"}
ADDRESS = ["address1", "address2", "city", "state", "country", "zip"]

TAU2_TOOLS = [
    ("find_user_id_by_email", "read", ["email"]),
    ("find_user_id_by_name_zip", "read", ["first_name", "last_name", "zip"]),
    ("get_user_details", "read", ["user_id"]),
    ("get_order_details", "read", ["order_id"]),
    ("get_product_details", "read", ["product_id"]),
    ("get_item_details", "read", ["item_id"]),
    ("list_all_product_types", "read", []),
    ("calculate", "generic", ["expression"]),
    ("cancel_pending_order", "write", ["order_id", "reason"]),
    ("modify_pending_order_address", "write", ["order_id", *ADDRESS]),
    ("modify_pending_order_items", "write", ["order_id", "item_ids", "new_item_ids", "payment_method_id"]),
    ("modify_pending_order_payment", "write", ["order_id", "payment_method_id"]),
    ("modify_user_address", "write", ["user_id", *ADDRESS]),
    ("return_delivered_order_items", "write", ["order_id", "item_ids", "payment_method_id"]),
    ("exchange_delivered_order_items", "write", ["order_id", "item_ids", "new_item_ids", "payment_method_id"]),
    ("transfer_to_human_agents", "generic", ["summary"]),
]
LIST_ARGUMENTS = {"item_ids", "new_item_ids"}


def property_names(schema: Any) -> Iterator[str]:
    """Every property name anywhere in a JSON schema (nested objects and $defs included)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from property_names(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from property_names(value)


def test_the_tools_are_taus_16_with_taus_argument_names() -> None:
    snapshot = [(t.name, t.kind.value, list(t.json_schema().get("properties", {}))) for t in REGISTRY]
    assert snapshot == TAU2_TOOLS
    assert REGISTRY.names() == [name for name, _, _ in TAU2_TOOLS]
    assert [t.parameters for t in REGISTRY] == [tuple(args) for _, _, args in TAU2_TOOLS]


def test_kinds_count_7_read_2_generic_7_write() -> None:
    kinds = [t.kind for t in REGISTRY]
    assert (kinds.count(ToolKind.READ), kinds.count(ToolKind.GENERIC), kinds.count(ToolKind.WRITE)) == (7, 2, 7)


@pytest.mark.parametrize("tool", list(REGISTRY), ids=lambda t: t.name)
def test_no_schema_exposes_who_is_calling(tool: Tool) -> None:
    schema = tool.json_schema()
    assert not FORBIDDEN & set(property_names(schema))
    assert not FORBIDDEN & set(tool.parameters)


@pytest.mark.parametrize("tool", list(REGISTRY), ids=lambda t: t.name)
def test_schema_shape(tool: Tool) -> None:
    """Every argument is required, nothing else is accepted, ids are strings and item lists are string lists."""
    schema = tool.json_schema()
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema.get("required", []) == list(tool.parameters)
    for name, spec in schema.get("properties", {}).items():
        if name in LIST_ARGUMENTS:
            assert (spec["type"], spec["items"]) == ("array", {"type": "string"}), name
        else:
            assert spec["type"] == "string", name
    assert tool.description.strip()
    assert tool.description != tool.name


@pytest.mark.parametrize("tool", list(REGISTRY), ids=lambda t: t.name)
def test_the_context_is_the_functions_first_parameter_and_never_an_argument(tool: Tool) -> None:
    hints = tool.fn.__annotations__
    first = tool.fn.__code__.co_varnames[0]
    assert first == "ctx"
    assert hints[first] in (ToolContext, "ToolContext")
    assert first not in tool.args_model.model_fields
