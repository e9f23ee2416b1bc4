"""API fuzzing with schemathesis against the app's own OpenAPI document: generated requests for every operation
(valid and invalid bodies, paths, headers) must never get a 5xx, and every response must match its documented
schema. ``SHOPKEEP_FUZZ_EXAMPLES`` sets the examples per operation: a few in ``make test`` (CI), many in
``make fuzz`` (at least 1,000 cases over the whole document)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from shopkeep.store import SqlCommerceStore
from tests.api.helpers import AppFactory

EXAMPLES = int(os.environ.get("SHOPKEEP_FUZZ_EXAMPLES", "8"))


@pytest.fixture
def app(app_for: AppFactory, sqlite_store: SqlCommerceStore) -> Iterator[FastAPI]:
    made = app_for(sqlite_store)
    with TestClient(made):  # runs the lifespan: the conversation service is built
        yield made


def test_no_server_error_and_responses_match_the_schema(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    cases = 0

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):

        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: schemathesis.Case) -> None:
            nonlocal cases
            cases += 1
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        try:
            fuzz()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            # nothing of this operation can be made invalid (no parameters, no body): its valid cases ran
    print(f"schemathesis: {cases} generated cases (valid and invalid) over {len(operations)} operations")
    assert cases >= EXAMPLES
