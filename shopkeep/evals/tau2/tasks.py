"""τ²-format tasks: the customer's instructions and the expected actions, read from τ²'s ``tasks.json`` layout."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopkeep.tools import ToolKind, retail_registry

WRITE_TOOLS: frozenset[str] = frozenset(t.name for t in retail_registry() if t.kind is ToolKind.WRITE)
"""The τ² write tools: the only calls that change the end state the reward compares."""


@dataclass(frozen=True)
class Action:
    """One expected tool call (τ²'s ``evaluation_criteria.actions`` entry)."""

    name: str
    arguments: dict[str, Any]
    action_id: str = ""

    @property
    def is_write(self) -> bool:
        return self.name in WRITE_TOOLS

    def as_record(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass(frozen=True)
class Instructions:
    """What the simulated customer knows and wants (τ²'s ``user_scenario.instructions``)."""

    reason_for_call: str
    known_info: str = ""
    unknown_info: str = ""
    task_instructions: str = ""


@dataclass(frozen=True)
class Tau2Task:
    task_id: str
    instructions: Instructions
    actions: tuple[Action, ...] = field(default=())

    @property
    def expected_writes(self) -> list[Action]:
        return [a for a in self.actions if a.is_write]

    @property
    def write_tools(self) -> list[str]:
        """The distinct write tools among the expected actions, in first-use order (for per-tool scores)."""
        return list(dict.fromkeys(a.name for a in self.expected_writes))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_task(raw: dict[str, Any]) -> Tau2Task:
    instructions = (raw.get("user_scenario") or {}).get("instructions") or {}
    if isinstance(instructions, str):  # τ² also allows free-text instructions
        instructions = {"reason_for_call": instructions}
    actions = (raw.get("evaluation_criteria") or {}).get("actions") or []
    return Tau2Task(
        task_id=str(raw["id"]),
        instructions=Instructions(
            reason_for_call=_text(instructions.get("reason_for_call")),
            known_info=_text(instructions.get("known_info")),
            unknown_info=_text(instructions.get("unknown_info")),
            task_instructions=_text(instructions.get("task_instructions")),
        ),
        actions=tuple(
            Action(name=str(a["name"]), arguments=dict(a.get("arguments") or {}), action_id=str(a.get("action_id", "")))
            for a in actions
        ),
    )


def load_tasks(path: Path, *, task_ids: list[str] | None = None, limit: int | None = None) -> list[Tau2Task]:
    """The tasks of a τ² task file, optionally only some ids (in the file's order) and at most ``limit`` of them."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a JSON list of τ² tasks")
    tasks = [parse_task(t) for t in raw]
    if task_ids is not None:
        known = {t.task_id for t in tasks}
        missing = [i for i in task_ids if i not in known]
        if missing:
            raise ValueError(f"{path}: no task with id {', '.join(missing)}")
        wanted = set(task_ids)
        tasks = [t for t in tasks if t.task_id in wanted]
    return tasks[:limit] if limit is not None else tasks
