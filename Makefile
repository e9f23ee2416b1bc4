# Shopkeep: `make run` serves the assistant on the demo store; `make test` runs the tests but the slow set, in
# parallel (pytest-xdist); `make test-slow` runs the slow set (full τ² replays), `make test-all` both (what CI runs).
# They create or refresh .venv from pyproject.toml on their own.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS ?= dev,postgres,redis,oracle,openai,oci,otel,ragas
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

# Test workers: one per core (`auto`), at most TEST_MAX_WORKERS; TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= auto
TEST_MAX_WORKERS ?= 4
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --maxprocesses $(TEST_MAX_WORKERS) --dist worksteal

.PHONY: venv run test test-slow test-all lint format bench eval clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[$(EXTRAS)]'
	touch $@

venv: $(STAMP)

run: venv
	$(VENV)/bin/shopkeep serve

test: venv
	$(PYTEST) -m "not slow"

test-slow: venv
	$(PYTEST) -m slow

test-all: venv
	$(PYTEST)

# API fuzzing (schemathesis, FUZZ_EXAMPLES per operation and mode: over 1,000 generated cases) and the parsers'
# property tests; `make test` runs the same tests with a few examples each.
FUZZ_EXAMPLES ?= 80
fuzz: venv
	SHOPKEEP_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -s -p no:cacheprovider tests/api/test_fuzz_openapi.py \
		tests/agents/test_confirmation_properties.py tests/retrieval/test_query_properties.py tests/llm/test_entities.py

# Load (LOAD_TIME, default 3 minutes) and soak (30 minutes at half the users) with locust against a server with
# LOAD_WORKERS workers it starts on PostgreSQL (LOAD_STORE_URL) and Redis (LOAD_REDIS_URL): see bench/load.py.
LOAD_TIME ?= 3m
LOAD_USERS ?= 16
LOAD_WORKERS ?= 2
load: venv
	$(PY) -m bench.load --users $(LOAD_USERS) --run-time $(LOAD_TIME) --workers $(LOAD_WORKERS)

soak: venv
	$(PY) -m bench.load --users $$(( $(LOAD_USERS) / 2 )) --run-time 30m --workers $(LOAD_WORKERS) --soak

lint: venv
	$(VENV)/bin/ruff check shopkeep tests bench
	$(VENV)/bin/ruff format --check shopkeep tests bench
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff check --fix shopkeep tests bench
	$(VENV)/bin/ruff format shopkeep tests bench

bench: venv
	$(PY) -m bench

# Nightly-style: every eval suite on its whole set (all 210 red-team cases on the configured brain), then the
# red-team cases on the compromised brain, then, with EVAL_BASELINE=DIR, the regression gate against that run.
EVAL_OUT ?= var/evals/latest
eval: venv
	$(VENV)/bin/shopkeep eval run all --out $(EVAL_OUT)
	$(VENV)/bin/shopkeep eval redteam --brain compromised --out $(EVAL_OUT)/redteam-compromised.json
	$(if $(EVAL_BASELINE),$(VENV)/bin/shopkeep eval compare $(EVAL_BASELINE) $(EVAL_OUT) --fail-on-regression)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
