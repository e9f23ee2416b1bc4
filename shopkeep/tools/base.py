"""What a tool is: a typed function with a docstring, a kind (read, write, generic) and a validated argument model.

``ToolContext`` carries what the model must never control: the store, and, inside a conversation, the
authenticated customer. Tool functions take it as their first parameter; it never appears in a tool schema.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, get_type_hints

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from shopkeep.errors import (
    AuthenticationRequiredError,
    NotOwnedError,
    ShopkeepError,
    StoreError,
    ToolArgumentsError,
    UnknownToolError,
)
from shopkeep.store.base import CommerceStore

if TYPE_CHECKING:
    from shopkeep.payments import PaymentServices
    from shopkeep.retrieval.search import CatalogSearch

log = structlog.get_logger(__name__)

STORE_DOWN_MESSAGE = "The store is temporarily unavailable; nothing was changed. Please try again shortly."


class ToolKind(StrEnum):
    READ = "read"
    WRITE = "write"
    GENERIC = "generic"


@dataclass(frozen=True)
class ToolContext:
    """Who is calling. ``scope="operator"`` (CLI, evals) sees every customer; ``"customer"`` only its own."""

    store: CommerceStore
    scope: Literal["operator", "customer"] = "operator"
    customer_id: str | None = None
    conversation_id: str | None = None
    cart_id: str | None = None
    payments: PaymentServices | None = None
    """The gateway and card vault for checkout; ``None`` means the configured ones (``payment_services``)."""
    retrieval: CatalogSearch | None = None
    """Catalog and knowledge search over ``store`` (the catalog tools need it; None where search is not set up)."""
    currency: str = "USD"
    """The shop's currency (its profile's): what checkout charges in and what prices are written in."""

    def require_customer(self) -> str | None:
        """The customer this call is limited to (None for an operator); raises if a conversation has none yet."""
        if self.scope == "operator":
            return None
        if self.customer_id is None:
            raise AuthenticationRequiredError()
        return self.customer_id

    def check_owner(self, owner_id: str, kind: str, key: str) -> None:
        """Refuse a record of another customer exactly as if it did not exist."""
        customer = self.require_customer()
        if customer is not None and owner_id != customer:
            raise NotOwnedError(kind, key)


@dataclass(frozen=True)
class Tool:
    """A registered tool: name, kind, argument model (its JSON schema is what a model sees) and function."""

    name: str
    kind: ToolKind
    description: str
    args_model: type[BaseModel]
    fn: Callable[..., Any]
    parameters: tuple[str, ...] = field(default=())
    confirm: bool = False
    """Consequential: runs only after the customer's explicit yes to its exact proposal."""

    def json_schema(self) -> dict[str, Any]:
        return copy.deepcopy(_json_schema(self.args_model))  # a copy: callers edit theirs (``toolkit.tool_schemas``)


@functools.cache
def _json_schema(args_model: type[BaseModel]) -> dict[str, Any]:
    """pydantic builds a schema anew on every call (tens of ms for the catalog tools); every specialist step asks."""
    return args_model.model_json_schema()


@dataclass(frozen=True)
class ToolOutcome:
    """The result of one call. ``output`` is JSON-ready; ``text`` is what the model reads (τ²'s format)."""

    name: str
    ok: bool
    output: Any
    error: str | None
    value: Any = None

    @property
    def text(self) -> str:
        if not self.ok:
            return self.error or "Error"
        return self.output if isinstance(self.output, str) else json.dumps(self.output)

    def as_record(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "output": self.output, "error": self.error}


def _args_model(name: str, fn: Callable[..., Any]) -> tuple[type[BaseModel], tuple[str, ...]]:
    hints = get_type_hints(fn)
    params = list(inspect.signature(fn).parameters.values())[1:]  # the first one is the ToolContext
    fields: dict[str, Any] = {}
    for p in params:
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (hints[p.name], default)
    model = create_model(f"{name}_args", __config__=ConfigDict(strict=True, extra="forbid"), **fields)
    return model, tuple(p.name for p in params)


def make_tool(kind: ToolKind, fn: Callable[..., Any], *, confirm: bool | None = None) -> Tool:
    """A tool from a typed function; write tools need confirmation unless ``confirm=False`` says otherwise."""
    model, parameters = _args_model(fn.__name__, fn)
    description = inspect.cleandoc(fn.__doc__ or fn.__name__)
    needs_yes = kind is ToolKind.WRITE if confirm is None else confirm
    return Tool(fn.__name__, kind, description, model, fn, parameters, needs_yes)


def _python_names(names: list[str]) -> str:
    """Names quoted and listed as Python's TypeError lists them: 'a', 'a' and 'b', 'a', 'b', and 'c'."""
    quoted = [f"'{n}'" for n in names]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def _arguments_error(tool: Tool, arguments: dict[str, Any], exc: ValidationError) -> ToolArgumentsError:
    """τ²'s texts for unexpected and missing arguments (Python's, in Python's order); a field-naming text for
    wrong types."""
    unexpected = [a for a in arguments if a not in tool.parameters]
    if unexpected:
        return ToolArgumentsError(
            f"RetailTools.{tool.name}() got an unexpected keyword argument '{unexpected[0]}'",
            field=unexpected[0],
        )
    missing = [p for p in tool.parameters if p not in arguments and tool.args_model.model_fields[p].is_required()]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        return ToolArgumentsError(
            f"RetailTools.{tool.name}() missing {len(missing)} required positional argument{plural}: "
            f"{_python_names(missing)}",
            field=missing[0],
        )
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return ToolArgumentsError(f"Invalid argument '{where}' for {tool.name}: {first['msg']}", field=where)


def to_json_ready(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


class ToolRegistry:
    """Tools by name; ``call`` validates arguments, runs the tool and turns typed errors into tool errors."""

    def __init__(self, tools: list[Tool]) -> None:
        self._tools = {t.name: t for t in tools}

    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownToolError(name, self.names()) from None

    def __iter__(self) -> Any:
        return iter(self._tools.values())

    def call(self, name: str, arguments: dict[str, Any], ctx: ToolContext) -> ToolOutcome:
        try:
            tool = self.get(name)
            if not isinstance(arguments, dict):
                raise ToolArgumentsError(f"Arguments for {name} must be a JSON object")
            try:
                parsed = tool.args_model.model_validate(arguments)
            except ValidationError as exc:
                raise _arguments_error(tool, arguments, exc) from None
            value = tool.fn(ctx, **{p: getattr(parsed, p) for p in tool.parameters})
        except StoreError:
            log.exception("tool_store_error", tool=name)
            return ToolOutcome(name, ok=False, output=None, error=f"Error: {STORE_DOWN_MESSAGE}")
        except ShopkeepError as exc:
            return ToolOutcome(name, ok=False, output=None, error=f"Error: {exc.message}")
        return ToolOutcome(name, ok=True, output=to_json_ready(value), error=None, value=value)
