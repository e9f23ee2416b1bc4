"""What a guardrail is: a named check at one stage (input, tool, output) that returns a typed result."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class Stage(StrEnum):
    INPUT = "input"
    TOOL = "tool"
    OUTPUT = "output"


class RailResult(BaseModel):
    """A rail's verdict. ``text`` is the (possibly rewritten) text that goes on; ``tripped`` says it acted."""

    name: str
    stage: Stage
    tripped: bool
    text: str
    reason: str = ""
    blocked: bool = False
    detail: str = ""
    """Why it tripped, for the event trail and tuning (which pattern, which score); never shown to the customer."""

    def event(self) -> dict[str, str | bool]:
        """What a trip records on the conversation's event trail (never the text: it may hold what was removed)."""
        recorded: dict[str, str | bool] = {
            "rail": self.name,
            "stage": self.stage.value,
            "reason": self.reason,
            "blocked": self.blocked,
        }
        if self.detail:
            recorded["detail"] = self.detail
        return recorded
