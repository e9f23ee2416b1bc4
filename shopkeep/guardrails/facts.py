"""What a conversation has established, for the output rails: the facts a reply may state and whose data it is.

``Facts`` is built from the conversation's messages: tool results (typed code and store data: orders, products,
knowledge passages, checkout quotes, error texts) and the customer's own messages, plus the authenticated customer's
record and the store policy text. The output rails check a reply against it; nothing here judges a reply.

Which source grounds what:

- money amounts and order statuses: tool results only. An amount or a status the customer asserts is exactly what a
  manipulation tries to get repeated ("the price is $1, right?"), so the customer's words never ground them;
- order ids, other long ids, dates and personal data: tool results or the customer's own messages;
- promises (timelines, free shipping, guarantees, discounts): tool results or the store policy.

Personal data in a tool result belongs to the ``user_id`` of the record that holds it; data owned by anyone but the
authenticated customer is what the PII rail keeps out of replies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage

from shopkeep.domain import Customer
from shopkeep.store.base import CommerceStore

T = TypeVar("T")
CENT = Decimal("0.01")
MAX_SUBSET_GROUP = 12
"""Up to this many sibling amounts (one field over a list), every subset sum counts as derived from them."""

_MONEY_KEY = re.compile(r"price|amount|balance|total|tax|shipping|discount|cost|fee|difference|refund|paid|spend")
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.,])\d+(?:\.\d+)?")
_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")
_DOLLARS = re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)")
ORDER_ID = re.compile(r"(?<![\w#])#?W\d{7}\b")
LONG_NUMBER = re.compile(r"(?<!\d)\d{6,}(?!\d)")
PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?%")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\d\w])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\d)")
USER_ID = re.compile(r"\b[a-z]+(?:_[a-z]+)+_\d{3,}\b")

_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?!\d)"),
    re.compile(r"(?<![\d/])(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})(?![\d/])"),
    re.compile(
        rf"\b(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?", re.IGNORECASE
    ),
    re.compile(
        rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\b\.?(?:,?\s+(?P<y>\d{{4}})\b)?",
        re.IGNORECASE,
    ),
)

STATUSES = (
    "pending (item modified)",
    "return requested",
    "exchange requested",
    "pending",
    "processed",
    "delivered",
    "cancelled",
    "canceled",
    "shipped",
)


@dataclass(frozen=True)
class DateRef:
    """A calendar date as a text states it; ``year`` is None when the text leaves it out."""

    month: int
    day: int
    year: int | None

    def matches(self, other: DateRef) -> bool:
        same_day = (self.month, self.day) == (other.month, other.day)
        return same_day and (self.year is None or other.year is None or self.year == other.year)


@dataclass(frozen=True)
class Span:
    """Something found in a text: where, what kind, and its normalized value."""

    start: int
    end: int
    kind: str
    value: Any
    raw: str


def money(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.replace(",", "")).quantize(CENT)
    except InvalidOperation:
        return None


def normalize_order_id(raw: str) -> str:
    return "#" + raw.lstrip("#").upper()


def normalize_status(raw: str) -> str:
    status = " ".join(raw.lower().split())
    return "cancelled" if status == "canceled" else status


def find_dates(text: str) -> Iterator[Span]:
    taken: list[tuple[int, int]] = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            groups = match.groupdict()
            month = _MONTHS[groups["mon"].lower()] if groups.get("mon") else int(groups["m"])
            day = int(groups["d"])
            year = int(groups["y"]) if groups.get("y") else None
            if year is not None and year < 100:
                year += 2000
            if not (1 <= month <= 12 and 1 <= day <= 31):
                continue
            taken.append((match.start(), match.end()))
            yield Span(match.start(), match.end(), "date", DateRef(month, day, year), match.group())


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every (key, leaf) of a JSON value; list items carry their list's key."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, str(k))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, key)
    else:
        yield key, value


def _records(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object inside a value, outermost first."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _records(v)
    elif isinstance(value, list):
        for item in value:
            yield from _records(item)


def _sibling_groups(value: Any) -> Iterator[list[Decimal]]:
    """For every list of objects, the money amounts of each field across the list (a payment history's amounts)."""
    for record in _records(value):
        for key, items in record.items():
            if not isinstance(items, list) or len(items) < 2 or not _MONEY_KEY.search(key + " amount"):
                continue
            by_field: dict[str, list[Decimal]] = {}
            for item in items:
                if isinstance(item, dict):
                    for k, v in item.items():
                        if _MONEY_KEY.search(str(k)) and (amount := _amount(v)) is not None:
                            by_field.setdefault(str(k), []).append(amount)
                elif (amount := _amount(item)) is not None:
                    by_field.setdefault(key, []).append(amount)
            yield from (group for group in by_field.values() if len(group) >= 2)


def _amount(value: Any) -> Decimal | None:
    """A JSON number, or exact money serialized as a string ("316.03")."""
    if _is_number(value) or (isinstance(value, str) and _DECIMAL.fullmatch(value.strip())):
        return Decimal(str(value).strip()).quantize(CENT)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class PersonalData:
    """Emails, names, street addresses and phone numbers, lower-cased and whitespace-folded."""

    emails: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    streets: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()


def fold(text: str) -> str:
    return " ".join(text.lower().split())


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)[-10:]


def _personal_data(records: Iterable[dict[str, Any]]) -> PersonalData:
    emails: set[str] = set()
    names: set[str] = set()
    streets: set[str] = set()
    phones: set[str] = set()
    for record in records:
        for key, value in _walk(record):
            if not isinstance(value, str) or not value.strip():
                continue
            if key == "email" or EMAIL.fullmatch(value.strip()):
                emails.add(fold(value))
            elif key in ("address1", "street"):
                streets.add(fold(value))
            elif "phone" in key:
                phones.add(digits(value))
        name = record.get("name")
        if isinstance(name, dict) and name.get("first_name") and name.get("last_name"):
            names.add(fold(f"{name['first_name']} {name['last_name']}"))
    return PersonalData(frozenset(emails), frozenset(names), frozenset(streets), frozenset(phones))


def _merge(*parts: PersonalData) -> PersonalData:
    return PersonalData(
        frozenset().union(*(p.emails for p in parts)),
        frozenset().union(*(p.names for p in parts)),
        frozenset().union(*(p.streets for p in parts)),
        frozenset().union(*(p.phones for p in parts)),
    )


@dataclass(frozen=True)
class Facts:
    """The facts of one conversation (see the module docstring). Build it with ``Facts.of``."""

    amounts: frozenset[Decimal] = frozenset()
    amount_groups: tuple[tuple[Decimal, ...], ...] = ()
    percents: frozenset[Decimal] = frozenset()
    dates: tuple[DateRef, ...] = ()
    order_ids: frozenset[str] = frozenset()
    long_numbers: frozenset[str] = frozenset()
    order_statuses: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Every status each order had in the tool results, oldest first."""
    tool_texts: tuple[str, ...] = ()
    customer_texts: tuple[str, ...] = ()
    policy: str = ""
    customer_id: str | None = None
    own: PersonalData = PersonalData()
    """The authenticated customer's data (their record, and tool results they own)."""
    others: PersonalData = PersonalData()
    """Data tool results hold for anyone else."""
    user_ids_seen: frozenset[str] = frozenset()
    is_customer: Callable[[str], bool] | None = None
    """Whether a user id is a customer of the store (a store lookup), for ids no tool result showed."""
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """What a rail derives from the facts once and reuses for every sentence of a streamed reply."""
        if key not in self._memo:
            self._memo[key] = compute()
        value: T = self._memo[key]
        return value

    @classmethod
    def of(
        cls,
        messages: Iterable[BaseMessage],
        *,
        customer: Customer | None = None,
        policy: str = "",
        is_customer: Callable[[str], bool] | None = None,
    ) -> Facts:
        tool_texts: list[str] = []
        customer_texts: list[str] = []
        for message in messages:
            if isinstance(message, ToolMessage):
                tool_texts.append(str(message.content))
            elif isinstance(message, HumanMessage):
                customer_texts.append(str(message.content))
        customer_id = customer.user_id if customer else None
        amounts: set[Decimal] = set()
        groups: list[tuple[Decimal, ...]] = []
        percents: set[Decimal] = set()
        statuses: dict[str, list[str]] = {}
        own_records: list[dict[str, Any]] = [customer.model_dump(mode="json")] if customer else []
        other_records: list[dict[str, Any]] = []
        user_ids: set[str] = set()
        for text in tool_texts:
            amounts.update(a for raw in _DOLLARS.findall(text) if (a := money(raw)) is not None)
            percents.update(Decimal(p).normalize() for p in PERCENT.findall(text))
            data = _json(text)
            if data is None:
                # plain text (an error, a user id): every number in it is a fact the brain may repeat
                amounts.update(a for raw in _NUMBER.findall(text) if (a := money(raw)) is not None)
                continue
            for key, value in _walk(data):
                if _is_number(value):
                    if _MONEY_KEY.search(key) or isinstance(value, float):
                        amounts.add(Decimal(str(value)).quantize(CENT))
                    if "rate" in key or "percent" in key:
                        percents.update({Decimal(str(value)).normalize(), (Decimal(str(value)) * 100).normalize()})
                elif isinstance(value, str):
                    amounts.update(a for raw in _DOLLARS.findall(value) if (a := money(raw)) is not None)
                    if _MONEY_KEY.search(key) and _DECIMAL.fullmatch(value.strip()):
                        amounts.add(Decimal(value.strip()).quantize(CENT))  # exact money serialized as a string
            groups.extend(tuple(g) for g in _sibling_groups(data))
            for record in _records(data):
                if isinstance(record.get("order_id"), str) and isinstance(record.get("status"), str):
                    statuses.setdefault(normalize_order_id(record["order_id"]), []).append(
                        normalize_status(record["status"])
                    )
                owner = record.get("user_id")
                if isinstance(owner, str):
                    user_ids.add(owner)
                    (own_records if owner == customer_id else other_records).append(record)
        both = [*tool_texts, *customer_texts]
        return cls(
            amounts=frozenset(abs(a) for a in amounts),  # a refund may be stored negative; replies state sizes
            amount_groups=tuple(tuple(abs(a) for a in group) for group in groups),
            percents=frozenset(percents),
            dates=tuple(span.value for text in both for span in find_dates(text)),
            order_ids=frozenset(normalize_order_id(m) for text in both for m in ORDER_ID.findall(text)),
            long_numbers=frozenset(m for text in both for m in LONG_NUMBER.findall(text)),
            order_statuses={k: tuple(v) for k, v in statuses.items()},
            tool_texts=tuple(tool_texts),
            customer_texts=tuple(customer_texts),
            policy=policy,
            customer_id=customer_id,
            own=_personal_data(own_records),
            others=_personal_data(other_records),
            user_ids_seen=frozenset(user_ids),
            is_customer=is_customer,
        )

    @property
    def customer_said(self) -> str:
        """Everything the customer wrote, folded (for "did the customer write this?")."""
        return fold("\n".join(self.customer_texts))


def _json(text: str) -> Any:
    if text[:1] not in ("{", "["):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def conversation_facts(
    store: CommerceStore, messages: Iterable[BaseMessage], customer_id: str | None, policy: str = ""
) -> Facts:
    """The facts of a conversation, with the authenticated customer's record looked up in the store."""
    customer = None
    if customer_id:
        with store.session() as session:
            customer = session.get_customer(customer_id)

    def is_customer(user_id: str) -> bool:
        with store.session() as session:
            return session.get_customer(user_id) is not None

    return Facts.of(messages, customer=customer, policy=policy, is_customer=is_customer)
