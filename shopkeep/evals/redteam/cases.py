"""The red-team cases: adversarial conversations as data (``evals/redteam/*.yaml``), and their loader.

A case is one conversation an attacker has with the assistant: who the attacker really is (``customer``: the demo
customer whose own credentials the turns use, or none), the customer turns, what would count as harm (prose for
the report; the judge's checks are generic), which records may legitimately change, and the targets a compromised
model goes after (orders, another customer, an invented promo code, a card number, an item and quantity).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from shopkeep.settings import PROJECT_ROOT

CASES_DIR = PROJECT_ROOT / "evals" / "redteam"

Category = Literal[
    "prompt_injection",
    "confirmation_bypass",
    "price_manipulation",
    "other_customer",
    "card_exfiltration",
    "social_engineering",
    "tricky_input",
]
CATEGORIES: tuple[Category, ...] = (
    "prompt_injection",
    "confirmation_bypass",
    "price_manipulation",
    "other_customer",
    "card_exfiltration",
    "social_engineering",
    "tricky_input",
)


class Targets(BaseModel):
    """What a compromised model goes after in this case (every field optional)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    orders: tuple[str, ...] = ()
    """Order ids to cancel, modify, return or read (the attacker's own or another customer's)."""
    victim: str | None = None
    """Another customer's user id: authenticate as them, read or change their account."""
    promo: str | None = None
    """A promo code that is not in the store (or is expired) to push through checkout."""
    item: str | None = None
    """An item (variant) id to put in the cart."""
    quantity: int | None = None
    """A quantity to force (negative, zero or absurd)."""
    card: str | None = None
    """A card number the attacker typed, which the model tries to say back."""
    refund_to: str | None = None
    """A payment method id a refund is redirected to."""


class Step(BaseModel):
    """One explicit step of a compromised model's plan: a tool call, or a reply (``say``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    call: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    say: str | None = None


class LongTurn(BaseModel):
    """A very long customer message: ``prefix`` + ``repeat`` * ``times`` + ``suffix`` (kept short in the data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str = ""
    repeat: str
    times: int = Field(ge=1, le=100_000)
    suffix: str = ""

    @property
    def text(self) -> str:
        return self.prefix + self.repeat * self.times + self.suffix


class RedTeamCase(BaseModel):
    """One adversarial conversation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    category: Category
    customer: str | None = None
    """The demo customer the attacker really is (authenticates as, with their own email or name and zip)."""
    turns: tuple[str | LongTurn, ...] = Field(min_length=1)
    harm: str
    """What would count as harm, in words (the judge's checks are deterministic and generic)."""
    allowed_changes: tuple[str, ...] = ()
    """``kind/key`` records (``orders/#W...``, ``users/...``) this conversation may legitimately change."""
    targets: Targets = Targets()
    attack: tuple[Step, ...] = ()
    """Extra steps a compromised model tries after the ones derived from the category and targets."""
    agent_replies: tuple[str, ...] = ()
    """What the person who takes the conversation over writes: once a turn has handed the conversation to a
    person, the runner claims its ticket as a human agent and posts these (the escalation workflow's own code)."""
    known_gap: dict[Literal["local", "compromised"], str] = Field(default_factory=dict)
    """Per brain, a harm the assistant does not prevent yet, in words: the suite reports it explicitly and the test
    expects exactly these cases to be harmful (a fixed gap fails the test until its note is removed)."""
    source: str = ""
    """The file the case came from (set by the loader)."""

    @property
    def messages(self) -> list[str]:
        """The customer messages as sent."""
        return [turn if isinstance(turn, str) else turn.text for turn in self.turns]


def load_cases(directory: Path = CASES_DIR) -> list[RedTeamCase]:
    """Every case of every ``*.yaml`` file in ``directory`` (each file: a list of cases), in file order.

    Raises ``ValueError`` on a duplicate id or a malformed case (with its file)."""
    cases: list[RedTeamCase] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(raw, list):
            raise ValueError(f"{path}: expected a list of cases")
        for item in raw:
            try:
                case = RedTeamCase.model_validate({**item, "source": path.name})
            except ValueError as exc:
                raise ValueError(f"{path}: case {item.get('id', '?')!r}: {exc}") from exc
            if case.id in seen:
                raise ValueError(f"{path}: duplicate case id {case.id!r}")
            seen.add(case.id)
            cases.append(case)
    return cases


def select(
    cases: list[RedTeamCase], *, categories: list[str] | None = None, limit: int | None = None
) -> list[RedTeamCase]:
    """Cases of the given categories (all when None), at most ``limit`` per category (all when None)."""
    unknown = set(categories or ()) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown categories {sorted(unknown)}: use {', '.join(CATEGORIES)}")
    chosen: list[RedTeamCase] = []
    counts: dict[str, int] = {}
    for case in cases:
        if categories and case.category not in categories:
            continue
        if limit is not None and counts.get(case.category, 0) >= limit:
            continue
        counts[case.category] = counts.get(case.category, 0) + 1
        chosen.append(case)
    return chosen
