"""Running τ² tasks against the assistant: one conversation per task, scored by its end state.

Each task gets a fresh copy of the demo store and a fresh checkpointer file; the brain (and its NLU) is built
once by the caller and shared through ``ServiceFactory``. The harness talks to the assistant only through
``ConversationService``, so any brain (the local one or an LLM) is evaluated the same way.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.service import ConversationService, TurnResult
from shopkeep.evals.tau2.oracle import OracleUser
from shopkeep.evals.tau2.reward import EndState, StoreTemplate, expected_end, reward
from shopkeep.evals.tau2.tasks import WRITE_TOOLS, Action, Tau2Task
from shopkeep.settings import Settings
from shopkeep.store import SqlCommerceStore

MAX_USER_TURNS = 30
STUCK_REPEATS = 3

ServiceFactory = Callable[[SqlCommerceStore, Any], ConversationService]
"""Builds the assistant on one task's store and checkpointer (the brain itself is shared across tasks)."""


class SimulatedUser(Protocol):
    """The customer side of a τ² conversation: the oracle user, or the LLM user (``llm_user.LLMUser``)."""

    finished: bool

    @property
    def handed_off(self) -> bool: ...

    def opening(self) -> str: ...

    def respond(self, turn: TurnResult) -> str | None: ...


UserFactory = Callable[[Tau2Task, Mapping[str, Any], list[Action]], SimulatedUser]
"""Builds the simulated customer of one task from the task, the shop as the customer sees it, and the expected
writes that take effect."""


def oracle_user(task: Tau2Task, db: Mapping[str, Any], writes: list[Action]) -> SimulatedUser:
    """The oracle with the answer key: it says the expected actions' details (see ``oracle``)."""
    return OracleUser(task, db, writes=writes)


def instructions_user(task: Tau2Task, db: Mapping[str, Any], writes: list[Action]) -> SimulatedUser:
    """The oracle without the spoken answer key: only what the task's instructions say, else "I don't know"."""
    return OracleUser(task, db, writes=writes, answer_key=False)


@dataclass
class TaskResult:
    task_id: str
    reward: int
    turns: int
    ended: str
    """How the conversation ended: user (the oracle hung up), handoff, stuck, max_turns or error."""
    transcript: list[dict[str, Any]]
    expected_writes: list[dict[str, Any]]
    agent_writes: list[dict[str, Any]]
    diff: dict[str, Any]
    write_tools: list[str] = field(default_factory=list)
    error: str | None = None

    def as_record(self) -> dict[str, Any]:
        record = {
            "task_id": self.task_id,
            "reward": self.reward,
            "turns": self.turns,
            "ended": self.ended,
            "transcript": self.transcript,
            "expected_writes": self.expected_writes,
            "agent_writes": self.agent_writes,
            "diff": self.diff,
        }
        if self.error is not None:
            record["error"] = self.error
        return record


def _turn_record(user: str, turn: TurnResult) -> dict[str, Any]:
    record: dict[str, Any] = {
        "user": user,
        "reply": turn.reply,
        "tool_calls": [c.model_dump() for c in turn.tool_calls],
        "awaiting_confirmation": turn.awaiting_confirmation,
    }
    if turn.proposal is not None:
        record["proposal"] = {"tool": turn.proposal.get("tool"), "arguments": turn.proposal.get("arguments")}
    return record


def converse(
    service: ConversationService, oracle: SimulatedUser, *, max_turns: int = MAX_USER_TURNS
) -> tuple[list[dict[str, Any]], str]:
    """The oracle talks to the assistant until it hangs up ("user"), the agent hands over ("handoff"), the same
    exchange happens for the ``STUCK_REPEATS``-th time ("stuck"), or after ``max_turns`` user turns ("max_turns").
    """
    conversation_id = service.start(channel="eval")
    transcript: list[dict[str, Any]] = []
    message: str | None = oracle.opening()
    confirm: str | None = None
    while message is not None:
        if len(transcript) >= max_turns:
            return transcript, "max_turns"
        turn = service.send(conversation_id, message, confirm=confirm)
        transcript.append(_turn_record(message, turn))
        if oracle.finished:
            return transcript, "user"
        if _stuck(transcript):
            return transcript, "stuck"
        confirm = str(turn.proposal["fingerprint"]) if turn.awaiting_confirmation and turn.proposal else None
        message = oracle.respond(turn)
    return transcript, "handoff" if oracle.handed_off else "user"


def _stuck(transcript: list[dict[str, Any]]) -> bool:
    """The latest exchange (customer message, reply and tool calls) already happened ``STUCK_REPEATS - 1`` times:
    the conversation goes round in circles, and another round cannot bring anything new."""
    key = _exchange(transcript[-1])
    return sum(1 for t in transcript if _exchange(t) == key) >= STUCK_REPEATS


def _exchange(turn: dict[str, Any]) -> str:
    return json.dumps([turn["user"], turn["reply"], turn["tool_calls"]], sort_keys=True, default=str)


def run_task(
    task: Tau2Task,
    *,
    template: StoreTemplate,
    workdir: Path,
    service_factory: ServiceFactory,
    db: Mapping[str, Any],
    max_turns: int = MAX_USER_TURNS,
    user_factory: UserFactory = oracle_user,
) -> TaskResult:
    """One task: the expected end state, the oracle's conversation on a fresh store, and the reward."""
    expected = expected_end(template, workdir, list(task.actions))
    # Expected writes that fail in the replay change nothing, so the customer does not ask for them.
    effective = [a for a, o in zip(task.actions, expected.outcomes, strict=True) if a.is_write and o.ok]
    oracle = user_factory(task, db, effective)
    transcript: list[dict[str, Any]] = []
    ended, error = "error", None
    checkpoints = workdir / f"checkpoints-{uuid.uuid4().hex[:12]}.db"
    with template.fresh(workdir) as store:
        try:
            with open_checkpointer(f"sqlite:///{checkpoints}") as checkpointer:
                transcript, ended = converse(service_factory(store, checkpointer), oracle, max_turns=max_turns)
        except Exception as exc:  # a crashing brain fails its task; the run goes on and reports it
            error = f"{type(exc).__name__}: {exc}"
        finally:
            for leftover in workdir.glob(f"{checkpoints.name}*"):
                leftover.unlink(missing_ok=True)
        actual = EndState.of(store)
    scored = reward(actual, expected.state)
    return TaskResult(
        task_id=task.task_id,
        reward=scored.value,
        turns=len(transcript),
        ended=ended,
        transcript=transcript,
        expected_writes=[
            {**a.as_record(), "ok": o.ok} for a, o in zip(task.actions, expected.outcomes, strict=True) if a.is_write
        ],
        agent_writes=[
            {"name": call["name"], "arguments": call["arguments"], "ok": call["ok"]}
            for turn in transcript
            for call in turn["tool_calls"]
            if call["name"] in WRITE_TOOLS
        ],
        diff=scored.diff,
        write_tools=task.write_tools,
        error=error,
    )


def summarize(results: list[TaskResult]) -> dict[str, Any]:
    """pass^1 overall and per write tool (a task counts once for each write tool it expects), average turns."""
    count = len(results)
    per_tool: dict[str, dict[str, Any]] = {}
    for tool in sorted(WRITE_TOOLS):
        scored = [r for r in results if tool in r.write_tools]
        if scored:
            passed = sum(r.reward for r in scored)
            per_tool[tool] = {"tasks": len(scored), "passed": passed, "pass^1": round(passed / len(scored), 4)}
    no_writes = [r for r in results if not r.write_tools]
    if no_writes:
        passed = sum(r.reward for r in no_writes)
        per_tool["(no write)"] = {
            "tasks": len(no_writes),
            "passed": passed,
            "pass^1": round(passed / len(no_writes), 4),
        }
    return {
        "tasks": count,
        "passed": sum(r.reward for r in results),
        "pass^1": round(sum(r.reward for r in results) / count, 4) if count else 0.0,
        "avg_turns": round(sum(r.turns for r in results) / count, 2) if count else 0.0,
        "errors": sum(1 for r in results if r.error is not None),
        "ended": dict(Counter(r.ended for r in results)),
        "per_tool": per_tool,
    }


def local_service_factory(settings: Settings) -> ServiceFactory:
    """The configured assistant with its NLU loaded once (the expensive part) and shared by every task."""
    from shopkeep.agents.factory import build_service
    from shopkeep.llm.local.nlu import NLU

    nlu = NLU.load(settings)

    def build(store: SqlCommerceStore, checkpointer: Any) -> ConversationService:
        return build_service(settings, store, checkpointer, nlu=nlu)

    return build
