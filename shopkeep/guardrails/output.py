"""What happens to a reply the output rails reject: fix it, else re-ask the brain once, else a safe template.

``check_reply`` runs the output rails; the fixing rails (card numbers masked, other customers' data redacted) leave
a reply that can go out. A reply a checking rail blocked (an ungrounded amount, date, id or status; a promise no
policy makes) cannot be fixed by cutting a span out of it: "Your refund of  is on its way" says nothing true. The
brain is asked once more with ``reask_note`` (what was ungrounded, never the customer's data), and the second reply
is checked the same way; when that fails too, or the brain cannot be asked again (the local brain is deterministic
and would say the same), the customer gets the safe reply ``guardrails.ungrounded`` (``data/replies``): it says
nothing that needs grounding and ends with the human-colleague offer the brains know how to follow up.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.messages import SystemMessage

from shopkeep.guardrails.base import RailResult, Stage
from shopkeep.guardrails.facts import Facts
from shopkeep.guardrails.rails import OUTPUT_RAILS, OutputRail, run_output_rails


@dataclass(frozen=True)
class ReplyCheck:
    """A reply after the output rails: the text that may go out (if nothing blocked it), and every trip."""

    text: str
    trips: list[RailResult]

    @property
    def blocking(self) -> list[RailResult]:
        return [t for t in self.trips if t.blocked]

    @property
    def passed(self) -> bool:
        return not self.blocking


def check_reply(text: str, facts: Facts, rails: tuple[OutputRail, ...] = OUTPUT_RAILS) -> ReplyCheck:
    checked, trips = run_output_rails(rails, text, facts)
    return ReplyCheck(checked, trips)


def reask_note(check: ReplyCheck) -> SystemMessage:
    """The structured note a brain gets with its rejected draft: which statements had no source."""
    problems = "\n".join(f"- {t.name}: {t.reason}" for t in check.blocking)
    return SystemMessage(
        content=(
            "Your last reply was NOT sent to the customer. It stated things this conversation does not back:\n"
            f"{problems}\n"
            "Write the reply again. State amounts, dates, order ids, item ids and order statuses exactly as the tool "
            "results give them, and make only the promises (timelines, free shipping, guarantees, discounts) that the "
            "store policy or a knowledge-base passage makes. If you do not know something, say so. Reply with text "
            "only: do not call a tool."
        ),
        additional_kwargs={"output_guard": True},
    )


def outcome(name: str, reason: str, *, blocked: bool) -> RailResult:
    """The record of what the output guard did with a rejected reply (re-asked, safe template)."""
    return RailResult(name=name, stage=Stage.OUTPUT, tripped=True, text="", reason=reason, blocked=blocked)
