"""The shop profile: ``shopkeep init`` (refusal and ``--force`` on every backend), the demo's profile, the one
accessor every process reads (it notices another process's change), and what reads it: prompts, the promises rail's
policy, the web page."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopkeep.agents.deps import AgentDeps
from shopkeep.agents.output_guard import store_policy
from shopkeep.agents.toolkit import agent_registry
from shopkeep.api.web import STATIC_DIR, render_page
from shopkeep.cli.main import app
from shopkeep.domain.shop import DEMO_SHOP_NAME, ShopProfile
from shopkeep.errors import ShopExistsError
from shopkeep.guardrails.facts import Facts
from shopkeep.guardrails.promises import unpermitted
from shopkeep.llm.prompts import PromptRegistry
from shopkeep.settings import get_settings
from shopkeep.shop.profile import FixedProfile, ShopProfiles
from shopkeep.shop.setup import default_policy, init_shop
from shopkeep.store import SqlCommerceStore, open_store
from shopkeep.store.seed import demo_profile, seed_demo
from shopkeep.store.shop import shop_records
from tests.cli.test_cli import restored_logging
from tests.conftest import DATA_DIR
from tests.llm.providers.support import FixedRouter
from tests.support.scripted_model import ScriptedChatModel

runner = CliRunner()

HARBOR = ShopProfile(
    name="Harbor & Pine Outfitters",
    currency="EUR",
    locale="en-IE",
    support_hours="Monday to Saturday, 9:00-18:00 Irish time",
    policy="# Harbor & Pine policy\n\n## Returns\n\nUnworn items can be returned within 14 days for a refund.\n",
)


def test_init_refuses_a_store_that_holds_a_shop_and_force_replaces_it(store: SqlCommerceStore) -> None:
    with pytest.raises(ShopExistsError, match=r"already holds a shop \(50 products, 500 customers, 1000 orders\)"):
        init_shop(store, HARBOR)
    with store.session() as session:
        assert len(session.list_products()) == 50  # nothing was touched
        before = shop_records(session).revisions()
    replaced = init_shop(store, HARBOR, force=True)
    assert (replaced.products, replaced.customers, replaced.orders) == (50, 500, 1000)
    with store.session() as session:
        records = shop_records(session)
        assert records.profile() == HARBOR
        assert session.list_products() == [] and session.list_customers() == [] and session.list_orders() == []
        after = records.revisions()
    assert all(after[topic] > before[topic] for topic in after)  # every cache built from the old shop is stale
    with pytest.raises(ShopExistsError, match="Harbor & Pine Outfitters"):
        init_shop(store, HARBOR.model_copy(update={"name": "Another"}))


def test_a_store_without_a_profile_is_the_demo_and_seeding_says_so(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    profiles = ShopProfiles(store, DATA_DIR)
    fallback = profiles.current()
    assert fallback.demo and fallback.name == DEMO_SHOP_NAME
    assert fallback.policy == (DATA_DIR / "policy.md").read_text(encoding="utf-8").strip()
    seed_demo(store, DATA_DIR)
    with store.session() as session:
        assert shop_records(session).profile() == demo_profile(DATA_DIR)
    store.close()


def test_every_process_sees_another_process_change_the_profile(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    worker, other = open_store(url), open_store(url)  # two engines: as two processes
    profiles = ShopProfiles(worker, DATA_DIR, max_age_s=0)
    assert profiles.current().demo
    init_shop(other, HARBOR)
    assert profiles.current() == HARBOR
    with other.session(write=True) as session:
        shop_records(session).save_profile(HARBOR.model_copy(update={"name": "Harbor & Pine"}))
    assert profiles.current().name == "Harbor & Pine"
    worker.close()
    other.close()


def test_the_profile_is_read_at_most_once_per_max_age(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    worker, other = open_store(url), open_store(url)
    profiles = ShopProfiles(worker, DATA_DIR, max_age_s=3600)
    assert profiles.current().demo
    init_shop(other, HARBOR)
    assert profiles.current().demo  # within max_age_s the profile read last is the answer: no query
    profiles.max_age_s = 0
    assert profiles.current() == HARBOR
    worker.close()
    other.close()


def test_prompts_and_the_promises_rail_follow_the_shop(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'shop.db'}")
    profiles = ShopProfiles(store, DATA_DIR, max_age_s=0)
    prompts = PromptRegistry.load(profiles)
    assert "Shopkeep Demo Store's assistant" in prompts.resolve("support").text
    deps = AgentDeps(
        store=store, brains=ScriptedChatModel, router=FixedRouter("support"), registry=agent_registry(), prompts=prompts
    )
    refund_timeline = "Your refund will reach your card within 5 to 7 business days."
    assert unpermitted(refund_timeline, Facts(policy=store_policy(deps))) == []  # the demo policy says so

    init_shop(store, HARBOR)
    for agent in prompts.agents():
        text = prompts.resolve(agent).text
        assert "Demo Store" not in text and "τ" not in text
    support = prompts.resolve("support").text
    assert "Harbor & Pine Outfitters's assistant" in support
    # a shop's own policy need not have the demo's headings: the prompt gets all of it
    assert "returned within 14 days" in support
    assert store_policy(deps) == HARBOR.policy.strip()
    assert [span.kind for span in unpermitted(refund_timeline, Facts(policy=store_policy(deps)))] == ["timeline"]
    assert unpermitted("Unworn items can be returned within 14 days.", Facts(policy=store_policy(deps))) == []
    store.close()


def test_the_default_policy_names_the_shop_and_its_hours() -> None:
    text = default_policy("Harbor & Pine", "Mon-Fri 9-17 CET")
    assert text.startswith("# Harbor & Pine: assistant policy")
    assert "Human agents work Mon-Fri 9-17 CET." in text
    assert "{{" not in default_policy("Harbor & Pine")
    assert "Demo" not in text and "data/kb" not in text
    registry = PromptRegistry.load(FixedProfile(HARBOR.model_copy(update={"policy": text})))
    assert "## Verify the customer first" in registry.resolve("account").text  # its sections are the demo's


def test_the_web_page_names_the_shop_and_shows_demo_parts_only_in_the_demo() -> None:
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    demo = render_page(template, demo_profile(DATA_DIR))
    assert "<title>Shopkeep Demo Store · Shopping assistant</title>" in demo
    assert "Demo store" in demo and "τ²-bench" in demo
    shop = render_page(template, HARBOR.model_copy(update={"name": "Harbor <& Pine>"}))
    assert "<title>Harbor &lt;&amp; Pine&gt; · Shopping assistant</title>" in shop
    assert 'data-shop-name="Harbor &lt;&amp; Pine&gt;"' in shop
    assert "Demo" not in shop and "τ" not in shop and "{{" not in shop


def test_init_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPKEEP_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    policy = tmp_path / "policy.md"
    policy.write_text(HARBOR.policy, encoding="utf-8")
    args = ["init", "--store", url, "--name", "Harbor & Pine Outfitters", "--currency", "eur", "--policy", str(policy)]
    with restored_logging():
        first = runner.invoke(app, args)
        again = runner.invoke(app, args)
        forced = runner.invoke(app, [*args, "--force"])
        bad_currency = runner.invoke(app, ["init", "--store", url, "--name", "X", "--currency", "euros", "--force"])
        no_policy = runner.invoke(app, ["init", "--store", url, "--name", "X", "--policy", str(tmp_path / "no.md")])
    get_settings.cache_clear()
    assert first.exit_code == 0, first.output
    assert "initialized 'Harbor & Pine Outfitters' (EUR)" in first.output
    assert again.exit_code == 1 and "already holds a shop" in again.output and "--force" in again.output
    assert forced.exit_code == 0 and "replaced 'Harbor & Pine Outfitters'" in forced.output
    assert bad_currency.exit_code == 1 and "'euros' is not an ISO 4217 code" in bad_currency.output
    assert no_policy.exit_code == 1 and "no such file" in no_policy.output
    store = open_store(url)
    with store.session() as session:
        profile = shop_records(session).profile()
    store.close()
    assert profile is not None and profile.currency == "EUR" and not profile.demo
    assert profile.policy == HARBOR.policy.strip()
