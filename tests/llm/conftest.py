"""Fixtures for the local brain's NLU: one NLU per test session (trained once, or loaded from var/nlu/)."""

from __future__ import annotations

import json

import pytest

from shopkeep.evals.nlu import NLUCase, load_cases
from shopkeep.llm.local.entities import EntityExtractor
from shopkeep.llm.local.lexicon import ShopLexicon
from shopkeep.llm.local.nlu import NLU, NLUResult
from shopkeep.settings import PROJECT_ROOT, Settings

TAU2_DIR = PROJECT_ROOT / "data" / "tau2_retail"
TEST_SET = PROJECT_ROOT / "evals" / "nlu" / "test.jsonl"


@pytest.fixture(scope="session")
def nlu() -> NLU:
    """The process-wide NLU of the default settings, warmed up (the classifier is trained on a cold cache)."""
    found = NLU.load(Settings())
    found.warm_up()
    return found


@pytest.fixture(scope="session")
def extractor() -> EntityExtractor:
    return EntityExtractor(ShopLexicon.from_tau2_db(TAU2_DIR / "db.json"))


@pytest.fixture(scope="session")
def test_cases() -> list[NLUCase]:
    return load_cases(TEST_SET)


@pytest.fixture(scope="session")
def test_results(nlu: NLU, test_cases: list[NLUCase]) -> list[NLUResult]:
    """The NLU's reading of every held-out test utterance, computed once."""
    return nlu.analyze_many([case.text for case in test_cases])


@pytest.fixture(scope="session")
def tau2_tasks() -> list[dict[str, object]]:
    tasks: list[dict[str, object]] = json.loads((TAU2_DIR / "tasks_train.json").read_text(encoding="utf-8"))
    return tasks
