"""Prometheus metrics: every family Shopkeep exports at ``GET /metrics``, defined once here.

The layers count what they own (the conversation service turns and their tools, rails and hand-offs; the remote
brain its LLM calls; the store and the Redis clients their errors) with the families below; ``render`` writes the
Prometheus text exposition.

**Several workers.** When ``PROMETHEUS_MULTIPROC_DIR`` names a directory before Shopkeep starts, prometheus-client
keeps each process's values in files there and ``render`` adds up every process's files, so any worker answers
``/metrics`` for all of them (prometheus-client's multiprocess mode: the directory must be emptied before the
workers start, and counters of a worker that died stay counted). Without it, each process reports its own values.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
"""prometheus-client's own switch for multiprocess mode, read here at import time as the library itself reads it
(a library's variable, like ``OTEL_*``: not a Shopkeep setting)."""

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

# conversations -------------------------------------------------------------------------------------------------

TURNS = Counter(
    "shopkeep_turns",
    "Customer messages answered, by the agent that answered and the outcome (replied, awaiting_confirmation, "
    "escalated, blocked, human, error)",
    ["agent", "outcome"],
)
TURN_SECONDS = Histogram(
    "shopkeep_turn_duration_seconds",
    "Time to answer one customer message in the conversation service (graph run and events), by agent",
    ["agent"],
    buckets=LATENCY_BUCKETS,
)
HTTP_SECONDS = Histogram(
    "shopkeep_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status (what a client sees)",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
TOOL_CALLS = Counter("shopkeep_tool_calls", "Tool calls the assistant made, by tool", ["tool"])
TOOL_ERRORS = Counter("shopkeep_tool_errors", "Tool calls that returned an error, by tool", ["tool"])
RAIL_TRIPS = Counter("shopkeep_rail_trips", "Guardrail trips, by rail and stage", ["rail", "stage"])
ESCALATIONS = Counter("shopkeep_escalations", "Conversations handed over to a human agent")
ESCALATION_ACTIONS = Counter(
    "shopkeep_escalation_actions",
    "What human agents did with escalation tickets, by action (claimed, assigned, replied, noted, handed_back, closed)",
    ["action"],
)
ESCALATION_CLAIM_WAIT = Histogram(
    "shopkeep_escalation_claim_wait_seconds",
    "How long an escalation waited for a person to claim it",
    buckets=(5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0, 86400.0),
)
WEBHOOK_DELIVERIES = Counter(
    "shopkeep_webhook_deliveries", "Escalation webhook deliveries, by outcome (delivered, failed, refused)", ["outcome"]
)
CHECKOUTS = Counter("shopkeep_checkouts", "Confirmed checkouts (place_order), by outcome (placed, failed)", ["outcome"])
REVENUE = Counter("shopkeep_revenue", "Money charged for placed orders, in major units, by currency", ["currency"])

# models --------------------------------------------------------------------------------------------------------

LLM_CALLS = Counter(
    "shopkeep_llm_calls", "Requests to a remote model, by agent, provider and model", ["agent", "provider", "model"]
)
LLM_TOKENS = Counter(
    "shopkeep_llm_tokens",
    "Tokens sent to (input) and received from (output) remote models",
    ["agent", "provider", "model", "type"],
)
LLM_SECONDS = Histogram(
    "shopkeep_llm_call_duration_seconds",
    "Time of one remote model request, by provider and model",
    ["provider", "model"],
    buckets=LATENCY_BUCKETS,
)
LLM_FALLBACKS = Counter(
    "shopkeep_llm_fallbacks", "Replies the local brain gave because the remote model was down", ["agent"]
)
LLM_TOOL_CALL_ERRORS = Counter(
    "shopkeep_llm_tool_call_errors", "Malformed tool calls sent back to the model", ["agent"]
)

# dependencies --------------------------------------------------------------------------------------------------

STORE_ERRORS = Counter(
    "shopkeep_store_errors",
    "Store transactions that failed in the database, by backend and error (unavailable, integrity)",
    ["backend", "error"],
)
REDIS_ERRORS = Counter(
    "shopkeep_redis_errors", "Redis commands that failed, by component (rate_limit, vault)", ["component"]
)


def render() -> tuple[bytes, str]:
    """The Prometheus text exposition of every family (all workers' in multiprocess mode) and its content type."""
    if MULTIPROC_DIR:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=MULTIPROC_DIR)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(PROCESS_REGISTRY), CONTENT_TYPE_LATEST
