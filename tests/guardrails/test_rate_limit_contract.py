"""One contract for every ``RateLimiter`` backend: in-process and Redis (the real server; skipped locally when it
is absent, a failure in CI). Plus what only one backend has: shared counts across workers, and a dead Redis."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from shopkeep.guardrails.ratelimit import MemoryRateLimiter, RateLimiter, RateRule, RateRules
from shopkeep.guardrails.ratelimit.memory import SWEEP_EVERY
from shopkeep.settings import LimitSettings
from tests.conftest import service_missing

REDIS_URL = os.environ.get("SHOPKEEP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def redis_client() -> Iterator[Any]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        service_missing(f"Redis at {REDIS_URL} is not reachable: {exc}")
    yield client
    client.close()


def _redis_limiter(client: Any) -> Iterator[RateLimiter]:
    from shopkeep.guardrails.ratelimit.redis import RedisRateLimiter

    namespace = f"shopkeep:test:{uuid.uuid4().hex[:8]}:"
    yield RedisRateLimiter(client, namespace=namespace)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
    else:
        yield from _redis_limiter(request.getfixturevalue("redis_client"))


def test_a_burst_up_to_the_limit_passes_then_the_next_hit_is_refused_with_a_wait(limiter: RateLimiter) -> None:
    rule = RateRule("contract", limit=3, period_s=60)
    decisions = [limiter.hit("conversation-1", rule) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    refused = decisions[3]
    assert 0 < refused.retry_after_s <= 20  # one hit comes back every period/limit = 20 s
    assert refused.retry_after_header == str(int(refused.retry_after_s) + (refused.retry_after_s % 1 > 0))


def test_subjects_and_rules_are_counted_apart(limiter: RateLimiter) -> None:
    one = RateRule("one", limit=1, period_s=60)
    other = RateRule("other", limit=1, period_s=60)
    assert limiter.hit("a", one).allowed
    assert not limiter.hit("a", one).allowed
    assert limiter.hit("b", one).allowed
    assert limiter.hit("a", other).allowed


def test_a_refused_subject_is_allowed_again_after_the_wait_it_was_given(limiter: RateLimiter) -> None:
    rule = RateRule("refill", limit=2, period_s=0.4)
    assert limiter.hit("s", rule).allowed and limiter.hit("s", rule).allowed
    refused = limiter.hit("s", rule)
    assert not refused.allowed
    time.sleep(refused.retry_after_s + 0.05)
    assert limiter.hit("s", rule).allowed


def test_concurrent_hits_never_get_more_than_the_limit(limiter: RateLimiter) -> None:
    rule = RateRule("race", limit=5, period_s=60)
    barrier = threading.Barrier(16)
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        decision = limiter.hit("shared", rule)
        with lock:
            allowed.append(decision.allowed)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(allowed) == 16 and allowed.count(True) == 5


def test_rules_of_zero_are_off_and_a_customer_is_limited_across_conversations(limiter: RateLimiter) -> None:
    rules = RateRules.for_tool_calls(LimitSettings(tool_calls_per_conversation=0, tool_calls_per_customer=2))
    assert rules.per_conversation is None
    assert rules.hit(limiter, "conv-1", "cust") is None
    assert rules.hit(limiter, "conv-2", "cust") is None
    refusal = rules.hit(limiter, "conv-3", "cust")
    assert refusal is not None and refusal.subject == "customer" and not refusal.decision.allowed
    assert rules.hit(limiter, "conv-4", None) is None  # an anonymous conversation has no customer limit


# one backend only ----------------------------------------------------------------------------------------------


def test_two_workers_share_one_count_in_redis(redis_client: Any) -> None:
    from shopkeep.guardrails.ratelimit.redis import RedisRateLimiter

    namespace = f"shopkeep:test:{uuid.uuid4().hex[:8]}:"
    worker_a, worker_b = (
        RedisRateLimiter(redis_client, namespace=namespace),
        RedisRateLimiter(redis_client, namespace=namespace),
    )
    rule = RateRule("shared", limit=2, period_s=60)
    assert worker_a.hit("c", rule).allowed and worker_b.hit("c", rule).allowed
    assert not worker_a.hit("c", rule).allowed and not worker_b.hit("c", rule).allowed
    [key] = list(redis_client.scan_iter(f"{namespace}*"))
    assert 0 < redis_client.pttl(key) <= 60_000  # the key expires once its bucket is full again
    redis_client.delete(key)


def test_a_dead_redis_falls_back_to_in_process_limits_and_says_so_once() -> None:
    from shopkeep.guardrails.ratelimit.redis import RedisRateLimiter

    dead = RedisRateLimiter.from_url("redis://127.0.0.1:1/0", timeout_s=0.2)
    rule = RateRule("dead", limit=2, period_s=60)
    with capture_logs() as logs:
        decisions = [dead.hit("c", rule) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]  # still limited: neither open nor closed
    assert [entry["event"] for entry in logs] == ["rate_limit_redis_down"]


def test_the_in_process_limiter_computes_exact_waits_and_forgets_full_buckets() -> None:
    now = [0]
    limiter = MemoryRateLimiter(clock_us=lambda: now[0])
    rule = RateRule("exact", limit=4, period_s=2)  # one hit per 0.5 s
    assert all(limiter.hit("s", rule).allowed for _ in range(4))
    assert limiter.hit("s", rule).retry_after_s == 0.5
    now[0] = 250_000
    assert limiter.hit("s", rule).retry_after_s == 0.25
    now[0] = 500_000
    assert limiter.hit("s", rule).allowed
    for n in range(100):
        limiter.hit(f"other-{n}", rule)
    now[0] = 10_000_000  # every bucket so far is full again
    for _ in range(SWEEP_EVERY):
        limiter.hit("last", rule)
    assert len(limiter) == 1
