"""Versioned prompt files, the policy included by reference, variants by stable hash, and ``shopkeep prompts``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopkeep.agents.state import AGENTS
from shopkeep.cli.main import app
from shopkeep.llm.experiments import Experiment
from shopkeep.llm.prompts import PROMPTS_DIR, Policy, PromptError, PromptRegistry, PromptTemplate
from shopkeep.settings import ExperimentSettings, get_settings
from tests.cli.test_cli import restored_logging
from tests.llm.providers.support import POLICY

runner = CliRunner()


def test_every_agent_and_the_router_has_a_versioned_prompt(prompts: PromptRegistry) -> None:
    assert set(prompts.agents()) == {*AGENTS, "router"}
    for template in prompts.templates():
        assert template.path.name == f"{template.agent}.v{template.version}.md"
        assert template.id == template.agent


def test_the_policy_is_included_by_reference_not_copied(prompts: PromptRegistry) -> None:
    policy = Policy.read(POLICY)
    for path in PROMPTS_DIR.glob("*.md"):
        body = path.read_text()
        for section in policy.sections.values():
            assert section.splitlines()[-1] not in body  # no policy text is pasted into a prompt file
    orders = prompts.resolve("orders").text
    assert policy.sections["Pending orders: cancel or modify"] in orders
    assert policy.sections["Default address"] not in orders


def test_a_policy_change_reaches_the_prompts(tmp_path: Path) -> None:
    policy = tmp_path / "policy.md"
    policy.write_text(POLICY.read_text().replace("within 5 to 7 business days", "within 3 business days"))
    text = PromptRegistry.load(policy).resolve("orders").text
    assert "within 3 business days" in text and "within 5 to 7 business days" not in text


def test_the_default_is_the_highest_version_that_is_not_a_draft(prompts: PromptRegistry) -> None:
    assert [t.version for t in prompts.versions("orders")] == [1, 2]
    assert prompts.template("orders").version == 1  # orders@2 is a draft
    assert prompts.resolve("orders").ref == "orders@1"


def test_malformed_files_and_unknown_sections_fail_at_load(tmp_path: Path) -> None:
    (tmp_path / "bad.v1.md").write_text("no front matter")
    with pytest.raises(PromptError, match="no front matter"):
        PromptRegistry.load(POLICY, tmp_path)
    (tmp_path / "bad.v1.md").write_text("---\nid: x\nversion: 1\nagent: x\n---\n{{policy: No such section}}\n")
    with pytest.raises(PromptError, match="no policy section 'No such section'"):
        PromptRegistry.load(POLICY, tmp_path)
    with pytest.raises(PromptError, match="pins orders@9"):
        PromptRegistry.load(POLICY, experiment=Experiment("e", {"a": {"orders": 9}}))


def test_variants_are_stable_and_split_by_weight() -> None:
    experiment = Experiment("exp-1", {"control": {}, "terse": {"orders": 2}}, {"control": 3, "terse": 1})
    first = [experiment.assign(f"conv-{n}") for n in range(4000)]
    assert first == [experiment.assign(f"conv-{n}") for n in range(4000)]
    share = Counter(first)["terse"] / len(first)
    assert 0.22 < share < 0.28
    other = Experiment("exp-2", experiment.variants, experiment.weights)
    assert [other.assign(f"conv-{n}") for n in range(200)] != first[:200]  # a new experiment reshuffles


def test_no_experiment_means_no_variant() -> None:
    assert Experiment.from_settings(ExperimentSettings()).assign("abc") is None
    assert Experiment.from_settings(ExperimentSettings(name="x")).assign("abc") == "control"
    with pytest.raises(ValueError, match="unknown variants"):
        Experiment("x", {"a": {}}, {"b": 1.0})


def test_a_variant_pins_its_prompt_version(prompts: PromptRegistry) -> None:
    registry = PromptRegistry.load(POLICY, experiment=Experiment("e", {"control": {}, "terse": {"orders": 2}}))
    assert registry.resolve("orders", variant="terse").ref == "orders@2"
    assert registry.resolve("orders", variant="control").ref == "orders@1"
    assert registry.resolve("catalog", variant="terse").ref == "catalog@1"
    message = registry.resolve("orders", variant="terse").system_message()
    assert message.additional_kwargs == {"agent": "orders", "prompt": "orders@2", "variant": "terse"}


def test_templates_read_their_front_matter() -> None:
    template = PromptTemplate.read(PROMPTS_DIR / "orders.v2.md")
    assert (template.ref, template.draft) == ("orders@2", True)


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SHOPKEEP_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    with restored_logging():
        yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_env")
def test_cli_lists_the_prompts_and_the_experiment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPKEEP_EXPERIMENT__NAME", "terse-orders")
    monkeypatch.setenv("SHOPKEEP_EXPERIMENT__VARIANTS", '{"control": {}, "terse": {"orders": 2}}')
    get_settings.cache_clear()
    result = runner.invoke(app, ["prompts", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    refs = {row["ref"]: row for row in listed["prompts"]}
    assert refs["orders@1"]["default"] and not refs["orders@2"]["default"] and refs["orders@2"]["draft"]
    assert listed["experiment"]["variants"] == {"control": {}, "terse": {"orders": 2}}
    table = runner.invoke(app, ["prompts", "list"])
    assert table.exit_code == 0 and "orders@2" in table.stdout


@pytest.mark.usefixtures("cli_env")
def test_cli_shows_a_prompt_rendered_or_raw(prompts: PromptRegistry) -> None:
    shown = runner.invoke(app, ["prompts", "show", "orders"])
    assert shown.exit_code == 0
    assert shown.stdout == f"# orders@1 (orders.v1.md)\n\n{prompts.resolve('orders').text}\n"
    raw = runner.invoke(app, ["prompts", "show", "orders@2", "--raw"])
    assert "{{policy: Pending orders" in raw.stdout
    missing = runner.invoke(app, ["prompts", "show", "orders@7"])
    assert missing.exit_code == 2 and "no prompt orders@7" in missing.output


@pytest.mark.usefixtures("cli_env")
def test_cli_diffs_two_versions() -> None:
    diff = runner.invoke(app, ["prompts", "diff", "orders@1", "orders@2"])
    assert diff.exit_code == 1
    assert diff.stdout.startswith("--- orders@1\n+++ orders@2\n")
    assert "-## Verify the customer first" in diff.stdout
    same = runner.invoke(app, ["prompts", "diff", "orders@1", "orders"])
    assert same.exit_code == 0 and same.stdout == ""
