"""The other-customers'-data rail: a reply shows only the authenticated customer's personal data.

Emails, phone numbers, user ids, names and street addresses in a reply must be the authenticated customer's (their
record in the store, or tool results they own) or appear in the customer's own messages. Anything else is redacted
in place: the rest of the sentence still reads ("I sent it to [email removed]"), so this rail fixes rather than
blocks. Found by pattern: emails, phone numbers, user ids (checked against the store), street addresses; names and
streets of other customers are also found verbatim, from the tool results that hold them.
"""

from __future__ import annotations

import re

from shopkeep.guardrails.base import RailResult, Stage
from shopkeep.guardrails.facts import EMAIL, PHONE, USER_ID, Facts, digits, fold

NAME = "other_customers_pii"

_STREET = re.compile(
    r"\b\d{1,6}\s+(?:(?:[A-Z][a-zA-Z]+\s+){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Lane|Ln|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|Circle|Parkway"
    r"|Highway|Hwy|Square|Trail|Loop)|(?:[A-Z][a-zA-Z]+\s+){0,2}(?:Broadway|Plaza|Alley|Crescent|Row|Walk))\b\.?"
)
"""A street line: a house number, then a name and a street suffix, or one of the streets that need no suffix
("571 Broadway")."""


def _mentioned(value: str, facts: Facts, *, folded: str) -> bool:
    """The customer wrote it, or a tool result that is not someone else's record shows it."""
    if folded in facts.customer_said:
        return True
    return any(folded in fold(text) for text in facts.tool_texts)


def _findings(text: str, facts: Facts) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every piece of personal data in the text that is not the customer's to see."""
    found: list[tuple[int, int, str]] = []
    for match in EMAIL.finditer(text):
        email = fold(match.group())
        if email in facts.own.emails or email in facts.customer_said:
            continue
        if email in facts.others.emails or not _mentioned(email, facts, folded=email):
            found.append((match.start(), match.end(), "email"))
    for match in PHONE.finditer(text):
        number = digits(match.group())
        if number in facts.own.phones or number in digits_said(facts):
            continue
        if number in facts.others.phones or not any(number in digits(t) for t in facts.tool_texts):
            found.append((match.start(), match.end(), "phone"))
    for match in USER_ID.finditer(text):
        user_id = match.group()
        if user_id == facts.customer_id or user_id in facts.customer_said:
            continue
        known = user_id in facts.user_ids_seen or (facts.is_customer is not None and facts.is_customer(user_id))
        if known:
            found.append((match.start(), match.end(), "user id"))
    for name in facts.others.names - facts.own.names:
        if name in facts.customer_said:
            continue
        pattern = r"\b" + r"\s+".join(re.escape(part) for part in name.split()) + r"\b"
        found.extend((m.start(), m.end(), "name") for m in re.finditer(pattern, text, re.IGNORECASE))
    for street in facts.others.streets - facts.own.streets:
        if street in facts.customer_said:
            continue
        found.extend((m.start(), m.end(), "address") for m in re.finditer(re.escape(street), text, re.IGNORECASE))
    for match in _STREET.finditer(text):
        street = fold(match.group().rstrip("."))
        if any(street in own or own in street for own in facts.own.streets):
            continue
        if street in facts.customer_said or (
            _mentioned(street, facts, folded=street) and not any(street in o for o in facts.others.streets)
        ):
            continue
        found.append((match.start(), match.end(), "address"))
    return found


def digits_said(facts: Facts) -> str:
    return re.sub(r"\D", "", " ".join(facts.customer_texts))


def redact(text: str, findings: list[tuple[int, int, str]]) -> str:
    """Each finding replaced by ``[<kind> removed]`` (overlapping findings merged)."""
    pieces: list[str] = []
    last = 0
    for start, end, kind in sorted(findings):
        if start < last:
            continue
        pieces += [text[last:start], f"[{kind} removed]"]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def other_customers_pii(text: str, facts: Facts) -> RailResult:
    """Another customer's email, phone, user id, name or address never reaches the reply (it is redacted)."""
    findings = _findings(text, facts)
    if not findings:
        return RailResult(name=NAME, stage=Stage.OUTPUT, tripped=False, text=text)
    kinds = sorted({kind for _, _, kind in findings})
    # the reason names only the kinds: an event must never hold what was removed
    return RailResult(
        name=NAME, stage=Stage.OUTPUT, tripped=True, text=redact(text, findings), reason="redacted " + ", ".join(kinds)
    )
