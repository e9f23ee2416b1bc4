"""Dialog flows as data: the tasks the local brain carries out for a customer, one file each in ``data/flows/``.

A flow file says which classified intents start the task, what it requires, the slots it collects (each found by
a Python resolver called by name, each with the reply that asks for it), the tool it ends with and where that
tool's arguments come from, and what the assistant says when the tool ran, was declined, failed or was refused.
The file's stem is the flow's name::

    agent: orders                      # the specialist that runs it
    description: Cancel a pending order (its payment is refunded).
    intents: [cancel_order]            # classified intents that start it
    weak: false                        # true: an explicit verb ("return", "cancel") in the message outranks it
    requires:
      identity: true                   # the customer is verified first
      order_status: [pending]          # the ``order`` slot must hold an order in one of these statuses
    becomes: {delivered: exchange}     # on an order in this status, go on as that flow (slots filled so far kept)
    slots:                             # filled in order; a resolver may read the slots before it
      - name: order
        resolver: order                # registered in ``policies/resolvers.py``
        ask: orders.which_order        # the reply asking for it (``data/replies``); the resolver fills its fields
      - name: reason
        resolver: cancel_reason
        ask: orders.ask_cancel_reason
    corrected_by: [cancel_reason]      # entity types that, said after a declined proposal, correct it
    tool:
      name: cancel_pending_order
      args:                            # argument: SLOT, SLOT.FIELD (a field the resolver provides) or customer_id
        order_id: order.order_id
        reason: reason
    replies:
      done: orders.cancel_done         # after the tool ran; fields: the tool's arguments and its result's
      declined: orders.declined        # the customer did not confirm the proposal
      failed: orders.failed            # the tool refused; field: reason
      refused: orders.cancel_refused   # the order's status does not allow it; fields: order_id, status, needed

A flow that only reads (order status, refunds, invoices) names no tool but an ``answer``: a Python function, also
called by name, that writes the reply from the slots filled.

``load_flows`` checks every file against what exists: the tools and their argument names, the NLU's intents and
entity types, the resolvers and answers registered, the replies and the fields each needs. A mistake is a
``FlowError`` naming the file and the field, raised when the flows load, never in a conversation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shopkeep.replies import Replies, ReplyError
from shopkeep.settings import PROJECT_ROOT

FLOWS_DIR = PROJECT_ROOT / "data" / "flows"
ORDER_SLOT = "order"
"""The slot ``requires.order_status`` and ``becomes`` read the order's status from."""
CUSTOMER_ID = "customer_id"
"""The one argument source besides slots: the verified customer (from the conversation, never from the model)."""
SHOP_FIELDS = frozenset({"shop_name", "support_hours"})
"""Fields every reply gets from the shop served (``Dialog.reply``)."""
DONE_FIELDS = frozenset({"status"})
"""Fields of a write tool's result a ``done`` reply may use, besides the tool's arguments."""
FAILED_FIELDS = frozenset({"reason"})
REFUSED_FIELDS = frozenset({"order_id", "status", "needed"})


class FlowError(ValueError):
    """A flow file is malformed or names something that does not exist."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requires(_Spec):
    identity: bool = True
    order_status: tuple[str, ...] = ()


class Slot(_Spec):
    name: str
    resolver: str
    ask: str | None = None


class ToolSpec(_Spec):
    name: str
    args: dict[str, str]


class FlowReplies(_Spec):
    done: str | None = None
    declined: str | None = None
    failed: str | None = None
    refused: str | None = None


class Flow(_Spec):
    """One flow file, as written (its ``name`` is the file's stem)."""

    name: str
    agent: str
    description: str
    intents: tuple[str, ...] = ()
    weak: bool = False
    requires: Requires = Requires()
    becomes: dict[str, str] = Field(default_factory=dict)
    slots: tuple[Slot, ...] = ()
    corrected_by: tuple[str, ...] = ()
    tool: ToolSpec | None = None
    answer: str | None = None
    replies: FlowReplies = FlowReplies()

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)


@dataclass(frozen=True)
class ToolSignature:
    """What a flow may know of a tool: its argument names and which of them are required."""

    arguments: frozenset[str]
    required: frozenset[str]


@dataclass(frozen=True)
class ResolverSignature:
    """What a flow may know of a resolver: the fields of the value it fills (``SLOT.FIELD`` arguments read them)
    and the fields it gives the reply asking for its slot."""

    fields: frozenset[str] = frozenset()
    asks: frozenset[str] = frozenset()
    question: bool = True
    """Whether it asks the flow's question for its slot (``ask``); False when it words its own replies."""
    needs: frozenset[str] = frozenset()
    """The slots it reads, which the flow must fill before it (the order whose items it chooses, ...)."""


@dataclass(frozen=True)
class FlowCatalog:
    """Everything flow files are checked against."""

    tools: Mapping[str, ToolSignature]
    agents: frozenset[str]
    intents: frozenset[str]
    entity_types: frozenset[str]
    resolvers: Mapping[str, ResolverSignature]
    answers: frozenset[str]
    replies: Replies


@dataclass(frozen=True)
class Flows:
    """The flows of one directory, by name, in file order."""

    by_name: Mapping[str, Flow]

    def __iter__(self) -> Iterator[Flow]:
        return iter(self.by_name.values())

    def __getitem__(self, name: str) -> Flow:
        return self.by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def for_intent(self, intent: str, agent: str | None = None) -> Flow | None:
        """The flow ``intent`` starts (among ``agent``'s flows when given)."""
        return next((f for f in self if intent in f.intents and agent in (None, f.agent)), None)

    def for_tool(self, tool: str) -> Flow | None:
        return next((flow for flow in self if flow.tool is not None and flow.tool.name == tool), None)

    @property
    def write_tools(self) -> frozenset[str]:
        return frozenset(flow.tool.name for flow in self if flow.tool is not None)


def load_flows(catalog: FlowCatalog, directory: Path = FLOWS_DIR) -> Flows:
    """Every ``*.yaml`` flow of ``directory``, each checked against ``catalog`` and the others; a ``FlowError``
    lists every mistake found, one a line."""
    flows: dict[str, Flow] = {}
    paths: dict[str, Path] = {}
    errors: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            flows[path.stem] = _read(path)
            paths[path.stem] = path
        except FlowError as error:
            errors.append(str(error))
    starts: dict[str, str] = {}
    for name, flow in flows.items():
        try:
            _check(flow, catalog, flows, _Where(paths[name]))
        except FlowError as error:
            errors.append(str(error))
        for intent in flow.intents:
            if intent in starts:
                errors.append(f"{paths[name]}: intents: {intent!r} already starts flow {starts[intent]!r}")
            starts.setdefault(intent, name)
    if errors:
        raise FlowError("\n".join(errors))
    return Flows(flows)


def _read(path: Path) -> Flow:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise FlowError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(content, dict):
        raise FlowError(f"{path}: expected a mapping of flow fields")
    if "name" in content:
        raise FlowError(f"{path}: name: a flow is named by its file ({path.stem!r}); remove the field")
    try:
        return Flow.model_validate({"name": path.stem, **content})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        raise FlowError(f"{path}: {problems}") from error


@dataclass(frozen=True)
class _Where:
    path: Path

    def fail(self, field: str, message: str) -> FlowError:
        return FlowError(f"{self.path}: {field}: {message}")


def _check(flow: Flow, catalog: FlowCatalog, flows: Mapping[str, Flow], where: _Where) -> None:
    if flow.agent not in catalog.agents:
        raise where.fail("agent", f"unknown agent {flow.agent!r} (known: {', '.join(sorted(catalog.agents))})")
    for n, intent in enumerate(flow.intents):
        if intent not in catalog.intents:
            raise where.fail(f"intents[{n}]", f"unknown intent {intent!r} (see data/nlu/intents.yaml)")
    for n, kind in enumerate(flow.corrected_by):
        if kind not in catalog.entity_types:
            raise where.fail(f"corrected_by[{n}]", f"unknown entity type {kind!r}")
    for status, successor in flow.becomes.items():
        if successor not in flows or successor == flow.name:
            raise where.fail(f"becomes.{status}", f"unknown flow {successor!r}")
    if (flow.requires.order_status or flow.becomes) and flow.slot(ORDER_SLOT) is None:
        raise where.fail("requires.order_status", f"needs a slot named {ORDER_SLOT!r} to read the status from")
    names: set[str] = set()
    for n, slot in enumerate(flow.slots):
        _check_slot(slot, catalog, where, f"slots[{n}]", names)
        names.add(slot.name)
    if (flow.tool is None) == (flow.answer is None):
        raise where.fail("tool", "a flow either calls a tool or names an answer, exactly one of them")
    if flow.answer is not None and flow.answer not in catalog.answers:
        raise where.fail("answer", f"unknown answer {flow.answer!r} (known: {', '.join(sorted(catalog.answers))})")
    if flow.tool is not None:
        _check_tool(flow, flow.tool, catalog, where)
    _check_replies(flow, catalog, where)


def _check_slot(slot: Slot, catalog: FlowCatalog, where: _Where, field: str, earlier: set[str]) -> None:
    if slot.name in earlier or slot.name == CUSTOMER_ID:
        raise where.fail(f"{field}.name", f"slot name {slot.name!r} is already taken")
    resolver = catalog.resolvers.get(slot.resolver)
    if resolver is None:
        known = ", ".join(sorted(catalog.resolvers))
        raise where.fail(f"{field}.resolver", f"unknown resolver {slot.resolver!r} (known: {known})")
    if resolver.question and slot.ask is None:
        raise where.fail(f"{field}.ask", f"resolver {slot.resolver!r} asks for its slot: name the reply that asks")
    if not resolver.question and slot.ask is not None:
        raise where.fail(f"{field}.ask", f"resolver {slot.resolver!r} words its own questions: remove 'ask'")
    if slot.ask is not None:
        _check_reply(slot.ask, resolver.asks, catalog, where, f"{field}.ask")
    if missing := resolver.needs - earlier:
        raise where.fail(
            f"{field}.resolver", f"resolver {slot.resolver!r} reads the slots {sorted(missing)}: fill them before it"
        )


def _check_tool(flow: Flow, tool: ToolSpec, catalog: FlowCatalog, where: _Where) -> None:
    signature = catalog.tools.get(tool.name)
    if signature is None:
        raise where.fail("tool.name", f"unknown tool {tool.name!r}")
    for argument, source in tool.args.items():
        if argument not in signature.arguments:
            known = ", ".join(sorted(signature.arguments))
            raise where.fail(f"tool.args.{argument}", f"{tool.name} has no argument {argument!r} (it has: {known})")
        _check_source(flow, source, catalog, where, f"tool.args.{argument}")
    if missing := signature.required - tool.args.keys():
        raise where.fail("tool.args", f"{tool.name} needs {', '.join(sorted(missing))}")


def _check_source(flow: Flow, source: str, catalog: FlowCatalog, where: _Where, field: str) -> None:
    name, _, attribute = source.partition(".")
    if name == CUSTOMER_ID and not attribute:
        return
    slot = flow.slot(name)
    if slot is None:
        raise where.fail(field, f"{source!r} names no slot of the flow (nor {CUSTOMER_ID!r})")
    provided = catalog.resolvers[slot.resolver].fields
    if attribute and attribute not in provided:
        raise where.fail(
            field, f"resolver {slot.resolver!r} gives no field {attribute!r} (it gives: {sorted(provided)})"
        )


def _check_replies(flow: Flow, catalog: FlowCatalog, where: _Where) -> None:
    arguments = frozenset(flow.tool.args) if flow.tool is not None else frozenset()
    given = {
        "done": arguments | DONE_FIELDS,
        "declined": frozenset[str](),
        "failed": FAILED_FIELDS,
        "refused": REFUSED_FIELDS,
    }
    for kind, fields in given.items():
        key = getattr(flow.replies, kind)
        if key is not None:
            _check_reply(key, fields, catalog, where, f"replies.{kind}")
    if flow.tool is not None and (flow.replies.done is None or flow.replies.declined is None):
        raise where.fail("replies", "a flow that calls a tool says what happened: give 'done' and 'declined'")
    if flow.tool is not None and flow.replies.failed is None:
        raise where.fail("replies.failed", "a flow that calls a tool says when it failed")
    if flow.requires.order_status and flow.replies.refused is None:
        raise where.fail("replies.refused", "a flow requiring an order status says when the order's status refuses it")


def _check_reply(key: str, given: frozenset[str], catalog: FlowCatalog, where: _Where, field: str) -> None:
    try:
        needed = catalog.replies.fields_of(key)
    except ReplyError as error:
        raise where.fail(field, str(error)) from error
    if missing := needed - given - SHOP_FIELDS:
        raise where.fail(field, f"reply {key!r} needs {', '.join(sorted(missing))}, which the flow does not give it")
