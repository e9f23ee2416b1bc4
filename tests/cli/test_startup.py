"""The CLI starts without the heavy stacks: ``shopkeep --help``, ``tools`` and ``store`` commands import neither
torch, sentence-transformers, LangGraph, LangChain, FastAPI nor uvicorn (checked in a fresh interpreter's
``sys.modules``; how long that takes is measured, not asserted: see the README)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shopkeep.settings import PROJECT_ROOT
from shopkeep.shop.catalog import FORMAT_CHOICES

HEAVY = ("torch", "sentence_transformers", "langgraph", "langchain_core", "fastapi", "uvicorn", "transformers")

PROBE = """
import json, sys
from shopkeep.cli.main import app
try:
    app(sys.argv[1:], prog_name="shopkeep")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = json.loads({heavy!r})
print(json.dumps({{"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}}), file=sys.stderr)
"""


def run_cli(*args: str, var_dir: Path) -> tuple[dict[str, object], str]:
    env = {**os.environ, "SHOPKEEP_VAR_DIR": str(var_dir), "COLUMNS": "200", "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("SHOPKEEP_STORE_URL", None)
    script = PROBE.format(heavy=json.dumps(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


@pytest.mark.parametrize(
    "args",
    [["--help"], ["tools", "--help"], ["store", "--help"], ["catalog", "import", "--help"], ["tools", "list"]],
    ids=" ".join,
)
def test_light_commands_import_no_heavy_stack(args: list[str], tmp_path: Path) -> None:
    outcome, stdout = run_cli(*args, var_dir=tmp_path / "var")
    assert outcome == {"code": 0, "loaded": []}
    assert stdout.strip()


def test_store_export_imports_no_heavy_stack(tmp_path: Path) -> None:
    seeded = f"sqlite:///{tmp_path / 'store.db'}"
    outcome, _ = run_cli("seed", "--store", seeded, "--no-index", var_dir=tmp_path / "var")
    assert outcome["code"] == 0
    outcome, _ = run_cli("store", "export", str(tmp_path / "out.json"), "--store", seeded, var_dir=tmp_path / "var")
    assert outcome == {"code": 0, "loaded": []}
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["products"]


def test_the_catalog_import_help_names_every_format(tmp_path: Path) -> None:
    """The help text is written out (importing the catalog importer would load the domain models at start)."""
    _, stdout = run_cli("catalog", "import", "--help", var_dir=tmp_path / "var")
    assert all(choice in stdout for choice in FORMAT_CHOICES)
