"""The flow interpreter: it owns starting, leaving, correcting and resuming the flows of ``data/flows/`` (their
format: ``shopkeep.llm.local.flows``), running one (its requirements, its slots filled by resolvers, its tool
call or answer) and saying what came of its tool.

- **start**: a message starts the flow its classified intent names (``intents:``) when the classifier is sure;
  an explicit verb ("exchange", "return", "cancel", "change X to Y") outranks a ``weak`` flow or a hesitant
  classification; a short answer to the assistant's question starts nothing.
- **leave**: "no, that's all", "thanks, bye" (without any slot value in it) ends the flow.
- **correct**: after a declined proposal, a new value of one of the flow's ``corrected_by`` entity types keeps
  the flow going ("actually, make it 79 Pine Road"); anything else ends it.
- **resume**: the newest flow the customer started that no write finished since is the one running: a question
  in the middle of a task does not lose it.

The interpreter is stateless like the rest of the local brain: it reads all of this from the conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, get_args

from shopkeep.llm.local.acts import without_lead
from shopkeep.llm.local.dialog import Dialog, ToolEvent, Turn
from shopkeep.llm.local.entities import EntityType
from shopkeep.llm.local.flows import (
    CUSTOMER_ID,
    FLOWS_DIR,
    ORDER_SLOT,
    Flow,
    FlowCatalog,
    FlowError,
    Flows,
    ToolSignature,
    load_flows,
)
from shopkeep.llm.local.intents import IntentTaxonomy
from shopkeep.llm.local.policies import _slots as slots
from shopkeep.llm.local.policies import account_answers, order_answers
from shopkeep.llm.local.policies.base import Call, Say, Step
from shopkeep.llm.local.policies.identity import identify
from shopkeep.llm.local.policies.resolvers import RESOLVERS, Ask, Need
from shopkeep.replies import Replies, default_replies
from shopkeep.settings import PROJECT_ROOT
from shopkeep.tools import retail_registry

NEW_TASK_CONFIDENCE = 0.6
NEW_TASK_WHILE_ANSWERING = 0.85
KEYWORD_FLOWS = (
    (re.compile(r"\b(exchange|swap)\b", re.IGNORECASE), "exchange"),
    (re.compile(r"\breturn(ing)?\b|\bsend (?:\w+ ){0,3}back\b", re.IGNORECASE), "return"),
    (re.compile(r"\b(cancel|cancle|cansel)", re.IGNORECASE), "cancel"),
    (re.compile(r"\b(change|modify|switch|adjust|replace)\b.*\b(to|for|into|with)\b", re.IGNORECASE), "modify_items"),
    # "the t-shirt in red rather than black": a swap of an item's options (an exchange if the order was delivered)
    (re.compile(r"\b(rather than|instead of)\b", re.IGNORECASE), "modify_items"),
)
"""Explicit verbs, most specific first, and the flow each names."""
SWAP_FLOW = "modify_items"
"""The keyword flow that needs a product named ("change it to blue" alone names no item)."""
TRACK_FLOW = "track"
PAYMENT_FLOW = "payment"
PAID_WITH_FLOW = "paid_with"
TRACK_WORDS = re.compile(r"\b(status|where(?:'s| is)|track(?:ing)?|shipped|arriv\w*)\b", re.IGNORECASE)
LEAVE_INTENTS = frozenset({"deny", "goodbye", "thanks"})
SLOT_ENTITIES = frozenset(
    {"cancel_reason", "payment_method", "address", "order_id", "product", "option", "email", "zip"}
)
PAID_WITH = re.compile(
    r"\b(?:which|what)\s+(?:card|payment(?: method)?|method)\b|\b(?:paid|pay|charged?|used)\b.*\b(?:with|on|using)\b",
    re.IGNORECASE,
)
"""How one of the customer's orders was paid ("which card did I pay my last order with?")."""
_RECORD_QUESTION = re.compile(
    r"^(?:which|what|when|how much|is|are|was|were|did|has|have)\b.*\b(?:i|my)\b.*\b(?:orders?|ordered|purchases?|"
    r"bought|refunds?|refunded|paid|pay|charged)\b",
    re.IGNORECASE,
)
_NOT_A_RECORD = re.compile(
    r"\b(?:change|switch|update|modify|cancel|return|exchange|swap|move|want|need|like|please|polic(?:y|ies)|"
    r"rules?|allowed|how long)\b",
    re.IGNORECASE,
)
PROFILE_FLOW = "profile"
"""The account flow a question about the customer's own account runs when no account flow's intent names it."""
ORDERS_AGENT = "orders"
"""The agent whose flows a message starts by itself (the account's requests are found by its own policy)."""
ANSWERS = {**order_answers.ANSWERS, **account_answers.ANSWERS}
INTENTS_PATH = PROJECT_ROOT / "data" / "nlu" / "intents.yaml"


@dataclass(frozen=True)
class Task:
    """A flow the customer started with the message ``turn``."""

    kind: str
    turn: Turn


# loading -------------------------------------------------------------------------------------------------------


def flow_catalog(replies: Replies | None = None) -> FlowCatalog:
    """What flow files are checked against: the retail tools, the NLU's taxonomy and entity types, the resolvers
    and answers registered here, and the replies."""
    taxonomy = IntentTaxonomy.load(INTENTS_PATH)
    return FlowCatalog(
        tools={
            tool.name: ToolSignature(
                arguments=frozenset(tool.args_model.model_fields),
                required=frozenset(n for n, f in tool.args_model.model_fields.items() if f.is_required()),
            )
            for tool in retail_registry()
        },
        agents=frozenset(intent.agent for intent in taxonomy),
        intents=frozenset(taxonomy.names),
        entity_types=frozenset(get_args(EntityType)),
        resolvers={name: resolver.signature for name, resolver in RESOLVERS.items()},
        answers=frozenset(ANSWERS),
        replies=replies or default_replies(),
    )


def check_flows(directory: Path = FLOWS_DIR, replies: Replies | None = None) -> Flows:
    """The flows of ``directory``, checked against everything they name (a ``FlowError`` lists the mistakes),
    including the flows the interpreter's keywords name."""
    loaded = load_flows(flow_catalog(replies), directory)
    named = {name for _, name in KEYWORD_FLOWS} | {SWAP_FLOW, TRACK_FLOW, PAYMENT_FLOW, PAID_WITH_FLOW, PROFILE_FLOW}
    missing = sorted(named - set(loaded.by_name))
    if missing:
        raise FlowError(f"{directory}: the interpreter names flows that have no file: {', '.join(missing)}")
    return loaded


@cache
def flows() -> Flows:
    return check_flows()


# start, leave, correct, resume ---------------------------------------------------------------------------------


def asks_own_record(text: str) -> bool:
    """A question about what the customer's orders hold ("what did I order in March?", "is my refund through?",
    "which card did I pay my last order with?"), not a request to change them: answered from their orders."""
    body = without_lead(text)
    return _RECORD_QUESTION.match(body) is not None and _NOT_A_RECORD.search(body) is None


def task_of(turn: Turn) -> str | None:
    """The flow a message starts. A hesitant classification starts none, and neither does a short answer to the
    assistant's question ("use my credit card" after "which payment method?"). An explicit verb ("exchange",
    "return", "cancel") outranks a side remark the classifier latched on to ("..., paying the difference by PayPal")."""
    if (turn.answering_task and turn.short) or turn.nlu.general_question:
        return None  # an answer to the assistant's question, or a question about how things work
    if asks_own_record(turn.text) and PAID_WITH.search(turn.text):
        return PAID_WITH_FLOW  # the customer's own record, read from the order (never a change of payment)
    classified: Flow | None = None
    sure = turn.nlu.confidence >= (NEW_TASK_WHILE_ANSWERING if turn.answering_task else NEW_TASK_CONFIDENCE)
    if sure:
        classified = flows().for_intent(turn.nlu.intent, agent=ORDERS_AGENT)
    if classified is None or classified.weak:
        named = next((name for pattern, name in KEYWORD_FLOWS if pattern.search(turn.text)), None)
        if named == SWAP_FLOW and not slots.product_entities(turn):
            named = None
        if (
            named == SWAP_FLOW
            and classified is not None
            and classified.name == PAYMENT_FLOW
            and turn.nlu.entities_of("payment_method")
        ):
            named = None  # "use my gift card for the t-shirt order instead of the card": the product names the order
        if named is not None and (
            classified is not None or turn.nlu.entities_of("order_id") or turn.nlu.entities_of("product")
        ):
            return named
    if classified is None and turn.nlu.entities_of("order_id") and TRACK_WORDS.search(turn.text):
        return TRACK_FLOW  # "status of #W...?": a terse question the classifier is unsure about
    if classified is not None and classified.tool is not None and turn.nlu.act == "own_question":
        return None  # "what's my default address?" looks it up; it does not ask to change it
    return None if classified is None else classified.name


def _leaves(turn: Turn) -> bool:
    """ "No, that's all" leaves the flow; "no longer needed" (a deny-sounding answer carrying a slot) does not."""
    if turn.nlu.intent not in LEAVE_INTENTS or turn.nlu.confidence < NEW_TASK_CONFIDENCE:
        return False
    return not any(e.type in SLOT_ENTITIES for e in turn.nlu.entities)


def active_task(dialog: Dialog) -> Task | None:
    """The newest flow the customer started that no write has finished (done or declined) since, and that the
    customer has not walked away from ("no, that's all", "thanks, bye")."""
    for turn in reversed(dialog.turns):
        if _leaves(turn):
            return None
        kind = task_of(turn)
        if kind is None:
            continue
        tools = _tools_of(flows()[kind])
        finished = any(
            e.name in tools
            and e.index > turn.index
            and (e.ok or (e.declined and not e.redirected and not _corrected(dialog, tools[e.name], e)))
            for e in dialog.events
        )
        return None if finished else Task(kind, turn)
    return None


def _tools_of(flow: Flow) -> dict[str, Flow]:
    """The write tools that end ``flow``: its own, and those of the flows it becomes (a change of items on a
    delivered order ends with the exchange), each with the flow that calls it."""
    ending = [flow, *(flows()[successor] for successor in flow.becomes.values())]
    return {f.tool.name: f for f in ending if f.tool is not None}


def _corrected(dialog: Dialog, flow: Flow, declined: ToolEvent) -> bool:
    """The customer answered the declined proposal with a new value for what it was about (a correction)."""
    return any(e.type in flow.corrected_by for t in dialog.turns if t.index > declined.index for e in t.nlu.entities)


# running -------------------------------------------------------------------------------------------------------


def run(dialog: Dialog, task: Task) -> Step:
    """The next step of ``task``'s flow: verify the customer, fill the slots in order (a resolver's question, or
    the tool call it needs first, is the step), check the order's status, then call the flow's tool or answer."""
    flow = flows()[task.kind]
    if flow.requires.identity:
        step = identify(dialog)
        if step is not None:
            return step
    filled: dict[str, Any] = {}
    switched = False
    pending = list(flow.slots)
    while pending:
        slot = pending.pop(0)
        if slot.name in filled:
            continue
        outcome = RESOLVERS[slot.resolver].fn(Need(dialog, flow, task.turn, filled))
        if isinstance(outcome, Ask):
            assert slot.ask is not None  # the flow check requires one for every resolver that asks
            return Say(dialog.reply(slot.ask, **outcome.fields), expects=outcome.expects)
        if isinstance(outcome, Call | Say):
            return outcome
        filled[slot.name] = outcome
        if slot.name != ORDER_SLOT or not isinstance(outcome, dict):
            continue
        status = str(outcome["status"])
        successor = flow.becomes.get(status)
        if successor is not None and not switched:
            # swapping items is a modification on a pending order and an exchange on a delivered one
            flow, switched = flows()[successor], True
            pending = list(flow.slots)
            continue
        needed = flow.requires.order_status
        if needed and status not in needed:
            assert flow.replies.refused is not None  # the flow check requires it with order_status
            return Say(
                dialog.reply(
                    flow.replies.refused, order_id=outcome["order_id"], status=status, needed=" or ".join(needed)
                )
            )
    if flow.answer is not None:
        return ANSWERS[flow.answer](Need(dialog, flow, task.turn, filled))
    assert flow.tool is not None  # the flow check requires a tool or an answer
    return Call(
        flow.tool.name, {argument: _value(dialog, source, filled) for argument, source in flow.tool.args.items()}
    )


def _value(dialog: Dialog, source: str, filled: dict[str, Any]) -> Any:
    """``SLOT``, ``SLOT.FIELD`` (a key of a mapping or an attribute) or ``customer_id``."""
    name, _, field = source.partition(".")
    value = dialog.customer_id if name == CUSTOMER_ID else filled[name]
    if not field:
        return value
    return value[field] if isinstance(value, dict) else getattr(value, field)


def after_write(dialog: Dialog, event: ToolEvent) -> Say:
    """What the flow says once its tool ran, was declined, or failed."""
    flow = flows().for_tool(event.name)
    assert flow is not None and flow.tool is not None  # callers check ``writes``
    replies = flow.replies
    assert replies.done is not None and replies.declined is not None and replies.failed is not None
    if event.declined:
        return Say(dialog.reply(replies.declined))
    if not event.ok:
        return Say(dialog.reply(replies.failed, reason=event.text.removeprefix("Error: ")))
    data = event.data if isinstance(event.data, dict) else {}
    return Say(dialog.reply(replies.done, **{**event.args, **data}))


def writes(event: ToolEvent | None) -> bool:
    """The event is the result of a flow's tool."""
    return event is not None and event.name in flows().write_tools
