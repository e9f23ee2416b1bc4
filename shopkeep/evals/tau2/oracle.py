"""The oracle user: a deterministic simulated customer that knows only its τ² task (no model involved).

It opens with the task's reason for calling in the first person, then answers the agent from two sources only:
the task's ``known_info`` (name, zip code, emails, user id) and the arguments of the expected write actions
(order ids, items described by their options, the payment method as its owner calls it, the cancel reason,
addresses). It never says an item id or a payment method id. A proposal is confirmed with "yes" exactly when its
tool and arguments match an expected write not done yet; anything else gets "no".

That second source is an answer key: the customer of a τ² task often does not know the order id, the variant or
the payment method the expected actions use, and this oracle says them anyway. Its pass^1 measures whether a brain
can follow a customer who already knows the answer; it is not comparable with τ² results from a simulated
customer. ``answer_key=False`` (``--user instructions``) keeps the answer key out of what the customer *says*: a
detail is given only when the task's instructions contain it (the order id, the product names, the options' values,
the payment method's kind, the cancel reason, the street and zip), anything else gets "I don't know", and requests
name only what the instructions name. The yes to a proposal still comes from the expected write in both modes
(judging a proposal from the instructions alone would take a model), so the gap between the two modes measures
what the spoken answer key is worth, not all of it.

The agent's message is classified by keywords (what it asks for), never by a brain's exact phrasing, so the same
oracle serves the local brain and any LLM.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shopkeep.agents.service import TurnResult
from shopkeep.evals.tau2.phrasing import (
    CANCEL_REASON_WORDS,
    describe_address,
    describe_item,
    describe_items,
    describe_payment_method,
    first_person,
    join_words,
)
from shopkeep.evals.tau2.tasks import Action, Tau2Task

GOODBYE = "No, that's all. Thanks!"
DONT_KNOW = "I don't know that."
YES = "Yes, please."
NO = "No."
HANDOFF_TOOL = "transfer_to_human_agents"

ADDRESS_FIELDS = ("address1", "address2", "city", "state", "country", "zip")
ITEM_PAIR_TOOLS = frozenset({"modify_pending_order_items", "exchange_delivered_order_items"})
ADDRESS_TOOLS = frozenset({"modify_pending_order_address", "modify_user_address"})
PAYMENT_TOOLS = frozenset(
    {
        "modify_pending_order_items",
        "exchange_delivered_order_items",
        "return_delivered_order_items",
        "modify_pending_order_payment",
    }
)

# What an agent's question asks for, by keywords. Order matters only for the order of the answers.
_ASKS: dict[str, re.Pattern[str]] = {
    "user_id": re.compile(r"\buser ?(?:id|name)\b|\baccount (?:id|number)\b|\busername\b"),
    "email": re.compile(r"\be-?mail"),
    "name": re.compile(r"\b(?:full |first |last )?names?\b"),
    "zip": re.compile(r"\bzip|\bpostal code|\bpost ?code"),
    "identity": re.compile(
        r"\bverify|\bauthenticat|\bidentif|\bidentity|\blook up your account|\blocate your account|\bwho you are"
    ),
    "order": re.compile(r"\border (?:id|number)s?\b|\bwhich (?:of your )?orders?\b|\bwhat orders?\b"),
    "items": re.compile(
        r"\b(?:which|what) (?:specific |exact )?(?:items?|products?|ones?)\b|\bwhich of (?:the|these|those|your)\b"
        r"|\bitems? (?:would|do) you (?:like|want)\b"
        r"|\bwhat would you like to (?:return|exchange|modify|change)\b(?!\s+(?:it|them|that|this|those|these)\b)"
    ),
    "options": re.compile(
        r"\boptions?\b|\bvariants?\b|\bsize\b|\bcolou?r\b|\bmaterial\b|\bstyle\b|\bcapacity\b"
        r"|\b(?:like|want|prefer) instead\b"
        r"|\breplace|\bnew (?:item|one|version|variant)s?\b|\b(?:exchange|swap|switch|change|modify)\w* (?:it|them|"
        r"that|this|those|these)? ?(?:for|to|into)\b|\bwhat (?:kind|type|version)\b"
    ),
    "payment": re.compile(
        r"\bpayment method|\bpay\b|\brefund\w*\b|\bwhich (?:card|method)\b|\bgift ?card|\bpaypal"
        r"|\bcredit card|\bprice difference|\bcharge"
    ),
    "reason": re.compile(r"\breason\b|\bwhy\b"),
    "address": re.compile(r"(?<!mail )\baddress"),
}
_ANYTHING_ELSE = re.compile(
    r"\banything else\b|\bsomething else\b|\banything more\b|\bany other\b|\bwhat else\b"
    r"|\bhow (?:can|may|could) i (?:help|assist)|\bwhat can i (?:do|help)|\belse (?:can|could|may) i\b"
    r"|\bhelp you with (?:anything|something)|\bwhat would you like (?:me )?to do\b|\bwhat do you need\b"
)
# The agent did not understand: the customer says what they want again.
_REPHRASE = re.compile(
    r"\brephrase\b|\bsay that again\b|\bdidn'?t (?:understand|catch|get)\b|\bnot sure what you mean\b"
    r"|\bwhat do you mean\b|\bcould you clarify\b|\bcan you clarify\b|\bmore details?\b"
)
_REQUEST = re.compile(
    r"\?|^\s*(?:please|kindly)\b|\b(?:could|can|would|will) you\b|\blet me know\b|\btell me\b|\bprovide\b"
    r"|\bgive me\b|\bshare\b|\bspecify\b|\bconfirm\b"
)
_YES_NO = re.compile(r"^\s*(?:do|does|did|would|will|shall|should|can|could|may|is|are|was|were|want)\b")
_HUMAN = re.compile(r"\bhuman\b|\btransfer\b|\brepresentative\b|\bsupervisor\b")
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_ORDER_ID = re.compile(r"#?W\d{7}\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ZIP = re.compile(r"\b\d{5}\b")
_USER_ID = re.compile(r"\b([a-z]+)_([a-z]+)_\d{4}\b")
_NAME = re.compile(
    r"(?i:\byour name is|\byou name is|\bname is|\byou are|\byou're|\bcalled|\bi am)\s+"
    r"(?P<first>[A-Z][a-z]+)(?:\s+(?P<last>[A-Z][a-z]+))?"
)

_TOOL_WORDS: dict[str, re.Pattern[str]] = {
    "cancel_pending_order": re.compile(r"\bcancel"),
    "return_delivered_order_items": re.compile(r"\breturn"),
    "exchange_delivered_order_items": re.compile(r"\bexchang"),
    "modify_pending_order_items": re.compile(r"\b(?:modif|chang|swap|switch|updat)"),
    "modify_pending_order_payment": re.compile(r"\bpayment method\b|\bpay\b"),
    "modify_pending_order_address": re.compile(r"\b(?:shipping )?address"),
    "modify_user_address": re.compile(r"\b(?:default|account|profile|user) address"),
}


@dataclass
class Identity:
    """Who the customer says they are, from τ²'s ``known_info`` (falling back to the expected lookups)."""

    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = None
    emails: list[str] = field(default_factory=list)
    user_id: str | None = None

    @classmethod
    def parse(cls, known_info: str, actions: tuple[Action, ...] = ()) -> Identity:
        identity = cls(emails=_EMAIL.findall(known_info))
        without_emails = _EMAIL.sub(" ", known_info)
        if zips := _ZIP.findall(without_emails):
            identity.zip = zips[-1]
        if user := _USER_ID.search(without_emails):
            identity.user_id = user.group(0)
        if name := _NAME.search(without_emails):
            identity.first_name, identity.last_name = name.group("first"), name.group("last")
        if user and identity.first_name in (None, user.group(1).title()):
            identity.first_name = user.group(1).title()
            identity.last_name = identity.last_name or user.group(2).title()
        for action in actions:  # a name the customer knows but known_info writes only in part
            args = action.arguments
            if (
                action.name == "find_user_id_by_name_zip"
                and identity.first_name
                and str(args.get("first_name", "")).lower() == identity.first_name.lower()
            ):
                identity.last_name = identity.last_name or str(args.get("last_name", "")) or None
        return identity

    @property
    def full_name(self) -> str | None:
        parts = [p for p in (self.first_name, self.last_name) if p]
        return " ".join(parts) or None


def _multiset(values: Any) -> Counter[str] | None:
    return Counter(str(v) for v in values) if isinstance(values, list) else None


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


def same_action(expected: Action, tool: str, arguments: Mapping[str, Any]) -> bool:
    """Whether a proposed call does what an expected action does (item lists as multisets, addresses by field)."""
    if tool != expected.name:
        return False
    want = expected.arguments
    if tool in ADDRESS_TOOLS:
        keys = ("order_id",) if tool == "modify_pending_order_address" else ("user_id",)
        return all(arguments.get(k) == want.get(k) for k in keys) and all(
            _norm(arguments.get(f, "")) == _norm(want.get(f, "")) for f in ADDRESS_FIELDS
        )
    if tool == "modify_pending_order_items":
        # Each old line takes its own new variant, so the pairing matters: compare the pairs as a multiset.
        def pairs(args: Mapping[str, Any]) -> Counter[tuple[str, str]] | None:
            old, new = args.get("item_ids"), args.get("new_item_ids")
            if not isinstance(old, list) or not isinstance(new, list) or len(old) != len(new):
                return None
            return Counter(zip(map(str, old), map(str, new), strict=True))

        return (
            arguments.get("order_id") == want.get("order_id")
            and arguments.get("payment_method_id") == want.get("payment_method_id")
            and pairs(arguments) is not None
            and pairs(arguments) == pairs(want)
        )
    if set(arguments) != set(want):
        return False
    for key, value in want.items():
        if isinstance(value, list):
            if _multiset(arguments.get(key)) != _multiset(value):
                return False
        elif arguments.get(key) != value:
            return False
    return True


class World:
    """What the customer can see of the shop: its records at the start, in τ²'s layout (read-only)."""

    def __init__(self, db: Mapping[str, Any]) -> None:
        self._orders: Mapping[str, Any] = db.get("orders", {})
        self._users: Mapping[str, Any] = db.get("users", {})
        self._variants: dict[str, tuple[str, Mapping[str, Any]]] = {
            item_id: (str(product["name"]), variant.get("options", {}))
            for product in db.get("products", {}).values()
            for item_id, variant in product.get("variants", {}).items()
        }

    def old_item(self, order_id: str, item_id: str) -> str:
        for line in self._orders.get(order_id, {}).get("items", []):
            if line.get("item_id") == item_id:
                return describe_item(str(line["name"]), line.get("options", {}))
        return self.new_item(item_id)

    def new_item(self, item_id: str) -> str:
        name, options = self._variants.get(item_id, ("item", {}))
        return describe_item(name, options)

    def option_names(self, action: Action) -> set[str]:
        """The option names ("color", "backlight") of the new items an action asks for."""
        return {key for i in action.arguments.get("new_item_ids", []) for key in self._variants.get(i, ("", {}))[1]}

    def product_name(self, item_id: str) -> str:
        return self._variants.get(item_id, ("item", {}))[0]

    def product_names(self, action: Action) -> list[str]:
        ids = [*action.arguments.get("item_ids", []), *action.arguments.get("new_item_ids", [])]
        return [self._variants[i][0] for i in ids if i in self._variants]

    def option_values(self, action: Action) -> list[str]:
        """The option values ("clicky", "Google Home") of the new items an action asks for."""
        return [
            str(value)
            for i in action.arguments.get("new_item_ids", [])
            for value in self._variants.get(i, ("", {}))[1].values()
        ]

    def payment_source(self, action: Action) -> str | None:
        """The kind of the action's payment method (credit_card, gift_card, paypal), None without one."""
        method_id = action.arguments.get("payment_method_id")
        if method_id is None:
            return None
        owner = self._orders.get(action.arguments.get("order_id", ""), {}).get("user_id", "")
        method = self._users.get(owner, {}).get("payment_methods", {}).get(method_id) or {}
        return str(method.get("source", "")) or None

    def payment_method(self, action: Action) -> str | None:
        method_id = action.arguments.get("payment_method_id")
        if method_id is None:
            return None
        owner = self._orders.get(action.arguments.get("order_id", ""), {}).get("user_id", "")
        method = self._users.get(owner, {}).get("payment_methods", {}).get(method_id)
        return describe_payment_method(method) if method else "my usual payment method"


@dataclass
class _Write:
    action: Action
    done: bool = False
    stated: int = 0


class OracleUser:
    """One simulated customer for one task; ``respond`` returns the next message, or None once it has hung up."""

    def __init__(
        self, task: Tau2Task, db: Mapping[str, Any], *, writes: list[Action] | None = None, answer_key: bool = True
    ) -> None:
        """``writes``: the expected writes that take effect (default: all of them); failing ones are left out.
        ``answer_key``: False says only what the task's instructions say (see the module docstring)."""
        self.task = task
        self.world = World(db)
        self.answer_key = answer_key
        told = task.instructions
        self._instructions = " ".join(
            (told.reason_for_call, told.known_info, told.unknown_info, told.task_instructions)
        ).casefold()
        self.identity = Identity.parse(task.instructions.known_info, task.actions if answer_key else ())
        self.writes = [_Write(a) for a in (task.expected_writes if writes is None else writes)]
        self.finished = False
        self.handed_off = False
        self._focus: _Write | None = None
        self._asked: Counter[str] = Counter()

    # The conversation ------------------------------------------------------------------------------------------

    def opening(self) -> str:
        text = first_person(self.task.instructions.reason_for_call)
        return text or self._next_request() or "Hi, I need some help with my orders."

    def respond(self, turn: TurnResult) -> str | None:
        if self.finished:
            return None
        if turn.mode == "human" or any(c.name == HANDOFF_TOOL and c.ok for c in turn.tool_calls):
            self.finished = self.handed_off = True
            return None
        if turn.awaiting_confirmation and turn.proposal is not None:
            return YES if self.accept(turn.proposal) else NO
        return self._answer(turn)

    def accept(self, proposal: Mapping[str, Any]) -> bool:
        """Yes exactly when the proposal is the first not-done expected write on its record."""
        tool, arguments = str(proposal.get("tool", "")), dict(proposal.get("arguments") or {})
        for write in self._open_writes():
            if same_action(write.action, tool, arguments):
                if any(_conflict(w.action, write.action) for w in self._before(write)):
                    return False  # an earlier change of the same kind to the same record has to happen first
                write.done = True
                self._focus = write
                return True
        return False

    @property
    def pending(self) -> list[Action]:
        return [w.action for w in self._open_writes()]

    # Answers ---------------------------------------------------------------------------------------------------

    def _answer(self, turn: TurnResult) -> str:
        text = turn.reply or ""
        questions = [s for s in _SENTENCES.split(text) if _REQUEST.search(s)]
        asked = " ".join(questions).lower()
        context = f"{text} {' '.join(str(c.arguments.get('order_id', '')) for c in turn.tool_calls)}"
        focus = self._focus_on(context.lower(), context)
        kinds = [kind for kind, pattern in _ASKS.items() if pattern.search(asked)]
        if "options" not in kinds and self._names_an_option(asked):  # "Which backlight: none or white?"
            kinds.append("options")
        if kinds:  # a question about something the task does not say gets "I don't know", not a guess
            return " ".join(self._answers(kinds, focus, asked)) or DONT_KNOW
        if _ANYTHING_ELSE.search(text.lower()) or _REPHRASE.search(asked) or not questions:
            return self._next_request() or self._goodbye()
        if any(_YES_NO.search(q.lower()) for q in questions):
            return self._yes_no(text.lower(), focus)
        return DONT_KNOW

    def _names_an_option(self, asked: str) -> bool:
        """Whether the question names an option (backlight, pressure, ...) of an item the customer wants."""
        keys = {key.lower() for w in self._open_writes() for key in self.world.option_names(w.action)}
        return any(re.search(rf"\b{re.escape(key)}\b", asked) for key in keys)

    def _answers(self, kinds: list[str], focus: _Write | None, asked: str) -> list[str]:
        identity = [k for k in kinds if k in ("user_id", "email", "name", "zip", "identity")]
        answers = [self._identity(identity)] if identity else []
        named = {_full_order_id(m) for m in _ORDER_ID.findall(asked.upper())}
        for kind in kinds:
            if kind in ("order", "items", "options", "payment", "reason", "address"):
                found = self._about(kind, focus)
                if found is None:
                    continue
                answer, order_id = found
                if named and order_id and order_id not in named and kind != "order":
                    answer = f"For order {order_id}: {answer[0].lower()}{answer[1:]}"  # not the order they named
                answers.append(answer)
        return answers

    def _identity(self, kinds: list[str]) -> str:
        me = self.identity
        parts: list[str] = []
        if "user_id" in kinds and me.user_id:
            parts.append(f"My user id is {me.user_id}.")
        wants_email = "email" in kinds or ("identity" in kinds and bool(me.emails))
        wants_name, wants_zip = "name" in kinds, "zip" in kinds
        if wants_email and self._asked["email"] < len(me.emails):
            # "your email, or your name and zip": one way is enough; asked again, the next email, then the name
            parts.append(f"My email is {me.emails[self._asked['email']]}.")
            self._asked["email"] += 1
            return " ".join(parts)
        if wants_email and not me.emails:
            parts.append("I don't remember my email address.")
        if wants_email or ("identity" in kinds and not (wants_name or wants_zip)):
            wants_name = wants_zip = True
        said = []
        if wants_name:
            said.append(f"my name is {me.full_name}" if me.full_name else "I'd rather not give my name")
        if wants_zip:
            said.append(f"my zip code is {me.zip}" if me.zip else "I don't know my zip code")
        if said:
            sentence = " and ".join(said) + "."
            parts.append(sentence[0].upper() + sentence[1:])
        if ((wants_zip and not me.zip) or (wants_name and not me.full_name)) and me.emails:
            parts.append(f"My email is {me.emails[0]}.")
        return " ".join(parts) or DONT_KNOW

    def _about(self, kind: str, focus: _Write | None) -> tuple[str, str | None] | None:
        """The answer about ``kind`` (and the order it is about) from the focused write, or else from the first
        open write that has one."""
        candidates = [focus] if focus is not None else []
        candidates += [w for w in self._open_writes() if w is not focus]
        candidates += [w for w in self.writes if w.done and w is not focus]
        for write in candidates:
            answer = self._field(kind, write.action)
            if answer:
                self._focus = write
                return answer, write.action.arguments.get("order_id")
        return None

    def _told(self, *values: Any) -> bool:
        """Whether the customer may say these: always with the answer key, else when the instructions say each."""
        if self.answer_key:
            return True
        return all(str(v).casefold().lstrip("#") in self._instructions for v in values if v)

    def _field(self, kind: str, action: Action) -> str | None:
        answer = self._answer_key_field(kind, action)
        if answer is None or self.answer_key:
            return answer
        args = action.arguments
        if kind == "order":
            allowed = self._told(args.get("order_id"))
        elif kind == "items":
            allowed = action.name == "cancel_pending_order" or self._told(
                *(self.world.product_name(i) for i in args.get("item_ids", []))
            )
            if action.name == "cancel_pending_order" and not self._told(args.get("order_id")):
                return "The whole order."
        elif kind == "options":
            allowed = self._told(*self.world.option_values(action))
        elif kind == "payment":
            source = self.world.payment_source(action)
            allowed = action.name == "cancel_pending_order" or self._told(source.replace("_", " ") if source else "?")
        elif kind == "reason":
            allowed = self._told(args.get("reason"))
        else:
            allowed = self._told(args.get("address1"), args.get("zip"))
        return answer if allowed else None

    def _answer_key_field(self, kind: str, action: Action) -> str | None:
        args = action.arguments
        order_id = args.get("order_id")
        if kind == "order":
            return f"It's order {order_id}." if order_id else None
        if kind == "items":
            if action.name == "cancel_pending_order":
                return f"The whole order {order_id}."
            old = self._old_items(action)
            return f"{describe_items(old)[:1].upper()}{describe_items(old)[1:]}." if old else None
        if kind == "options" and action.name in ITEM_PAIR_TOOLS:
            return f"I'd like {self._wanted(action)}."
        if kind == "payment":
            if action.name in PAYMENT_TOOLS:
                return f"Please use {self.world.payment_method(action)}."
            if action.name == "cancel_pending_order":
                return "The original payment method, please."
            return None
        if kind == "reason" and action.name == "cancel_pending_order":
            return f"{CANCEL_REASON_WORDS.get(str(args.get('reason')), str(args.get('reason')))}."
        if kind == "address" and action.name in ADDRESS_TOOLS:
            return f"The address is {describe_address(args)}."
        return None

    def _old_items(self, action: Action) -> list[str]:
        order_id = str(action.arguments.get("order_id", ""))
        return [self.world.old_item(order_id, i) for i in action.arguments.get("item_ids", [])]

    def _wanted(self, action: Action) -> str:
        """The new items; paired with the old ones only when one product is changed more than once."""
        new = [self.world.new_item(i) for i in action.arguments.get("new_item_ids", [])]
        names = [self.world.product_name(i) for i in action.arguments.get("item_ids", [])]
        if len(set(names)) < len(names):
            return self._pairs(action, "exchanged for")
        return describe_items(new)

    def _pairs(self, action: Action, joiner: str) -> str:
        """Each old item with its new one ("the A (...) for A (...)")."""
        old = self._old_items(action)
        new = [self.world.new_item(i) for i in action.arguments.get("new_item_ids", [])]
        return join_words([f"the {a} {joiner} {b}" for a, b in zip(old, new, strict=False)])

    def _yes_no(self, said: str, focus: _Write | None) -> str:
        """A yes/no question outside a proposal: yes when it is about the write under discussion."""
        if focus is None or _HUMAN.search(said):
            return NO
        mentioned = [name for name, pattern in _TOOL_WORDS.items() if pattern.search(said)]
        order_ids = {_full_order_id(m) for m in _ORDER_ID.findall(said.upper())}
        if order_ids and focus.action.arguments.get("order_id") not in order_ids:
            return NO
        return YES if not mentioned or focus.action.name in mentioned else NO

    def _next_request(self) -> str | None:
        """The open write stated least often so far, in the customer's words."""
        open_writes = self._open_writes()
        if not open_writes:
            return None
        write = min(open_writes, key=lambda w: w.stated)
        also = any(w.done or w.stated for w in self.writes)
        write.stated += 1
        self._focus = write
        statement = self._statement(write.action) if self.answer_key else self._told_statement(write.action)
        return f"I'd {'also ' if also else ''}like to {statement}."

    def _told_statement(self, action: Action) -> str:
        """The request without the answer key: what is to be done, and the order only when the task names it."""
        order_id = action.arguments.get("order_id")
        what = _REQUESTS.get(action.name, "get some help with my orders")
        return f"{what} ({order_id})" if order_id and self._told(order_id) else what

    def _statement(self, action: Action) -> str:
        args = action.arguments
        order_id = args.get("order_id")
        method = self.world.payment_method(action)
        if action.name == "cancel_pending_order":
            reason = CANCEL_REASON_WORDS.get(str(args.get("reason")), str(args.get("reason")))
            return f"cancel order {order_id} because {reason}"
        if action.name == "modify_pending_order_address":
            return f"change the shipping address of order {order_id} to {describe_address(args)}"
        if action.name == "modify_user_address":
            return f"change my default address to {describe_address(args)}"
        if action.name == "modify_pending_order_payment":
            return f"pay for order {order_id} with {method} instead"
        if action.name == "return_delivered_order_items":
            return f"return {describe_items(self._old_items(action))} from order {order_id}, refunded to {method}"
        if action.name == "exchange_delivered_order_items":
            pairs = self._pairs(action, "for")
            return f"exchange {pairs} from order {order_id}, paying any difference with {method}"
        if action.name == "modify_pending_order_items":
            pairs = self._pairs(action, "to")
            return f"change {pairs} in my pending order {order_id}, paying any difference with {method}"
        return f"do one more thing: {action.name}"

    def _goodbye(self) -> str:
        self.finished = True
        return GOODBYE

    # Focus: which expected write the agent is talking about -----------------------------------------------------

    def _open_writes(self) -> list[_Write]:
        return [w for w in self.writes if not w.done]

    def _before(self, write: _Write) -> list[_Write]:
        return [w for w in self.writes[: self.writes.index(write)] if not w.done]

    def _focus_on(self, lowered: str, raw: str) -> _Write | None:
        open_writes = self._open_writes()
        if not open_writes:
            return None
        mentioned = {_full_order_id(m) for m in _ORDER_ID.findall(raw)}

        def score(write: _Write) -> int:
            args = write.action.arguments
            points = 4 if args.get("order_id") in mentioned else 0
            points += 2 if _TOOL_WORDS[write.action.name].search(lowered) else 0
            points += sum(1 for name in set(self.world.product_names(write.action)) if name.lower() in lowered)
            return points + (1 if write is self._focus else 0)

        best = max(open_writes, key=score)  # max keeps the first of equal scores: the expected order
        self._focus = best
        return best


_REQUESTS = {
    "cancel_pending_order": "cancel an order",
    "modify_pending_order_address": "change the shipping address of an order",
    "modify_user_address": "change my default address",
    "modify_pending_order_payment": "change how I pay for an order",
    "return_delivered_order_items": "return some items",
    "exchange_delivered_order_items": "exchange some items",
    "modify_pending_order_items": "change the items of a pending order",
}
"""What the customer asks for without the answer key: the kind of change, none of its details."""


def _full_order_id(text: str) -> str:
    return text if text.startswith("#") else f"#{text}"


def _target(action: Action) -> str:
    """The record an action changes: its order, or its user."""
    return str(action.arguments.get("order_id") or action.arguments.get("user_id") or "")


def _conflict(earlier: Action, later: Action) -> bool:
    """Whether ``later`` must wait for ``earlier``: the same change to the same record (two default-address
    changes, say). Different changes to one order (its address and its items) commute."""
    return earlier.name == later.name and _target(earlier) == _target(later)
