"""The results schema every eval suite writes: ``DIR/results.json`` of ``shopkeep eval run`` (a public contract).

One ``EvalRun`` per run::

    {
      "schema_version": 1,
      "meta": {run_id, created_at, git_commit, git_dirty, brain, suites, limit, settings, models, prompts, python},
      "suites": {
        "<suite>": {
          "name", "seconds", "notes": [str],
          "summary": {"<metric>": number},          # the suite's headline figures
          "tables": {"<table>": ...},               # aggregates the report draws (confusion matrix, by kind, ...)
          "items": [                                # one per case, in the suite's order
            {"id", "group", "passed": bool|null, "score": number|null,
             "metrics": {"<metric>": number}, "expected": any, "actual": any,
             "transcript": [{"user", "reply", "agent", "tools", "seconds"}], "details": {...}}
          ]
        }
      }
    }

- ``id`` is stable across runs (a case id, a scenario path, a query id): ``eval compare`` pairs items by it.
- ``passed`` is the item's verdict where the suite has one (an intent right, a scenario passing, a task rewarded,
  an attack harmless); ``score`` its main continuous figure (nDCG@10, a turn's milliseconds) where it has one.
- ``group`` is what the report and ``summary`` break figures down by (intent label, query kind, red-team category,
  scenario area, agent).
- ``meta.settings`` is the effective configuration with secrets removed; ``meta.models`` names the brain, the
  model, the embedder and the NLU's training fingerprint; ``meta.prompts`` the prompt version of every agent.
"""

from __future__ import annotations

import json
import platform
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from shopkeep.settings import PROJECT_ROOT

SCHEMA_VERSION = 1
SUITES = ("nlu", "retrieval", "knowledge", "scenarios", "tau2", "redteam", "latency")


class Turn(BaseModel):
    """One exchange of a transcript."""

    user: str
    reply: str
    agent: str | None = None
    tools: list[str] = Field(default_factory=list)
    """Tool names called in the turn, ``name!`` when the call failed or was declined."""
    seconds: float | None = None


class ItemResult(BaseModel):
    """One case of a suite."""

    id: str
    group: str = ""
    passed: bool | None = None
    score: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    expected: Any = None
    actual: Any = None
    transcript: list[Turn] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


class SuiteResult(BaseModel):
    """A suite's items, headline figures and the aggregates its report section draws."""

    name: str
    seconds: float = 0.0
    summary: dict[str, float] = Field(default_factory=dict)
    tables: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    items: list[ItemResult] = Field(default_factory=list)


class RunMeta(BaseModel):
    """What was run, on what code and configuration."""

    run_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    git_commit: str | None = None
    git_dirty: bool | None = None
    brain: str = "local"
    suites: list[str] = Field(default_factory=list)
    limit: int | None = None
    """At most this many items per suite (a quick subset), or None for the whole sets."""
    settings: dict[str, Any] = Field(default_factory=dict)
    models: dict[str, Any] = Field(default_factory=dict)
    prompts: dict[str, str] = Field(default_factory=dict)
    replies: dict[str, str] = Field(default_factory=dict)
    """The wording of ``data/replies``: group -> ``group@version``."""
    python: str = Field(default_factory=platform.python_version)


class EvalRun(BaseModel):
    schema_version: int = SCHEMA_VERSION
    meta: RunMeta
    suites: dict[str, SuiteResult] = Field(default_factory=dict)

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "results.json"
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> EvalRun:
        """A run from its folder or its ``results.json``; ValueError when it is not one."""
        file = path / "results.json" if path.is_dir() else path
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{file}: not a results file ({exc})") from exc
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"{file}: schema_version {raw.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        return cls.model_validate(raw)


def git_state(root: Path = PROJECT_ROOT) -> tuple[str | None, bool | None]:
    """The checked-out commit and whether the working tree has changes (None, None outside a git checkout)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())
