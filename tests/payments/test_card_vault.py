"""The card vault: a typed number becomes a short-lived token; the number never reaches the database, a log or a
checkpoint, and only a gateway adapter redeems it."""

from __future__ import annotations

import os
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.graph import build_graph
from shopkeep.agents.service import ConversationService
from shopkeep.agents.toolkit import agent_registry
from shopkeep.errors import CardTokenExpiredError, RuleViolationError
from shopkeep.payments import MemoryCardVault, RedisCardVault, default_vault
from shopkeep.payments.vault import card_brand, is_vault_token
from shopkeep.settings import PROJECT_ROOT
from shopkeep.store import SqlCommerceStore
from shopkeep.tools import ToolContext
from tests.agents.test_graph import FixedRouter
from tests.conftest import service_missing
from tests.support.checkout import EMMA, VISA_OK, harness, item_priced
from tests.support.scripted_model import ScriptedChatModel, call, say

REDIS_URL = os.environ.get("SHOPKEEP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
DIGITS = "4242424242424242"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_number_becomes_a_token_with_brand_and_last_four() -> None:
    vault = MemoryCardVault()
    card = vault.put("4242-4242-4242-4242")
    assert is_vault_token(card.token) and DIGITS not in card.token
    assert (card.brand, card.last_four) == ("visa", "4242")
    assert vault.describe(card.token) == card
    assert vault.redeem(card.token) == DIGITS
    assert DIGITS not in repr(vault.describe(card.token))


@pytest.mark.parametrize("number", ["4242 4242 4242 4241", "1234", "4242abcd42424242", ""])
def test_only_valid_card_numbers_are_vaulted(number: str) -> None:
    with pytest.raises(RuleViolationError):
        MemoryCardVault().put(number)


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        (DIGITS, "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
    ],
)
def test_brands(number: str, brand: str) -> None:
    assert card_brand(number) == brand


def test_tokens_expire_and_can_be_forgotten() -> None:
    clock = Clock()
    vault = MemoryCardVault(ttl_s=60, clock=clock)
    card = vault.put(VISA_OK)
    clock.now = 59
    assert vault.redeem(card.token) == DIGITS
    clock.now = 60
    with pytest.raises(CardTokenExpiredError):
        vault.describe(card.token)
    other = vault.put(VISA_OK)
    vault.forget(other.token)
    with pytest.raises(CardTokenExpiredError):
        vault.redeem(other.token)


@pytest.fixture
def redis_client() -> Any:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        service_missing(f"Redis at {REDIS_URL} is not reachable: {exc}")
    yield client
    client.close()


def test_the_redis_vault_shares_tokens_between_workers_with_a_ttl(redis_client: Any) -> None:
    namespace = f"shopkeep:test:{uuid.uuid4().hex[:8]}:"
    worker_a = RedisCardVault(redis_client, ttl_s=30, namespace=namespace)
    worker_b = RedisCardVault(redis_client, ttl_s=30, namespace=namespace)
    card = worker_a.put(VISA_OK)
    assert worker_b.describe(card.token) == card
    assert worker_b.redeem(card.token) == DIGITS
    assert 0 < redis_client.ttl(namespace + card.token) <= 30
    worker_b.forget(card.token)
    with pytest.raises(CardTokenExpiredError):
        worker_a.redeem(card.token)
    with pytest.raises(CardTokenExpiredError):
        worker_a.describe("vt_not-a-token")


def test_only_gateway_adapters_redeem_card_numbers() -> None:
    callers = sorted(
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "shopkeep").rglob("*.py")
        if re.search(r"\.redeem\(", path.read_text(encoding="utf-8"))
    )
    assert callers == ["shopkeep/payments/sandbox.py"]


def files_containing(paths: list[Path], needles: list[str]) -> list[str]:
    found = []
    for path in paths:
        if path.exists():
            data = path.read_bytes()
            found += [f"{path.name}: {needle}" for needle in needles if needle.encode() in data]
    return found


def sqlite_files(url: str) -> list[Path]:
    database = Path(url.removeprefix("sqlite:///"))
    return [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-journal")]


def test_a_paid_order_leaves_no_card_number_in_the_store_or_the_checkpoints(
    sqlite_store: SqlCommerceStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A whole checkout conversation paid with a typed card (as the input guard hands it on: a vault token)."""
    token = default_vault().put(VISA_OK).token
    checkpoint_url = f"sqlite:///{tmp_path / 'checkpoints.db'}"
    model = ScriptedChatModel(
        steps=[call("find_user_id_by_email", email="emma.smith3991@example.com"), say("You're verified.")]
    )
    with open_checkpointer(checkpoint_url) as checkpointer:
        deps = AgentDeps(
            store=sqlite_store,
            brains=lambda _agent: model,
            router=FixedRouter("checkout"),
            registry=agent_registry(),
            max_steps=6,
        )
        service = ConversationService(build_graph(deps, checkpointer=checkpointer), sqlite_store)
        cid = service.start()
        service.send(cid, "hi, emma.smith3991@example.com")
        ctx = ToolContext(store=sqlite_store, scope="customer", customer_id=EMMA, cart_id=cid)
        item = item_priced(sqlite_store, Decimal("20"), Decimal("30"))
        assert agent_registry().call("add_to_cart", {"item_id": item.item_id}, ctx).ok
        arguments = {"shipping_method": "standard", "payment_method_id": token}
        quote = agent_registry().call("propose_checkout", arguments, ctx)
        assert quote.ok, quote.error
        model.steps += [call("place_order", quote_id=quote.output["quote_id"], **arguments), say("Order placed.")]
        asked = service.send(cid, f"check out with my card {token}")
        assert asked.awaiting_confirmation and "Visa ending in 4242" in asked.reply
        done = service.send(cid, "yes")
        assert [(c.name, c.ok) for c in done.tool_calls] == [("place_order", True)], done
        model.assert_done()
    spaced = "4242 4242 4242 4242"
    leaks = files_containing([*sqlite_files(sqlite_store.url), *sqlite_files(checkpoint_url)], [DIGITS, spaced])
    assert leaks == []
    assert DIGITS not in capsys.readouterr().out


def test_the_tool_level_checkout_stores_only_brand_and_last_four(sqlite_store: SqlCommerceStore) -> None:
    h = harness(sqlite_store)
    ctx = h.ctx(EMMA)
    item = item_priced(sqlite_store, Decimal("20"), Decimal("30"))
    h.call(ctx, "add_to_cart", item_id=item.item_id)
    card = h.card("5555 5555 5555 4444")
    quote = h.call(ctx, "propose_checkout", shipping_method="standard", payment_method_id=card)
    placed = h.call(
        ctx, "place_order", quote_id=quote.output["quote_id"], shipping_method="standard", payment_method_id=card
    )
    assert placed.ok, placed.error
    assert files_containing(sqlite_files(sqlite_store.url), ["5555555555554444", "5555 5555 5555 4444"]) == []
    with pytest.raises(CardTokenExpiredError):
        h.vault.describe(card)  # forgotten once the order is paid
