"""``shopkeep prompts list|show|diff``: the versioned system prompts, as the agents receive them."""

from __future__ import annotations

import difflib
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from shopkeep.cli._common import StoreOption, fail, open_cli_store, print_json
from shopkeep.settings import get_settings

if TYPE_CHECKING:
    from shopkeep.llm.prompts import PromptRegistry

prompts_app = typer.Typer(help="List, show and compare the agents' versioned prompts.", no_args_is_help=True)


def _registry(store: str | None) -> PromptRegistry:
    """The prompts rendered for the shop of ``store`` (its name and policy; the demo's for a store without one)."""
    from shopkeep.llm.experiments import Experiment
    from shopkeep.llm.prompts import PromptRegistry
    from shopkeep.shop.profile import FixedProfile, ShopProfiles

    settings = get_settings()
    opened = open_cli_store(store)
    try:
        experiment = Experiment.from_settings(settings.experiment)
        shop = FixedProfile(ShopProfiles.from_settings(opened, settings).current())
        registry = PromptRegistry.load(shop, experiment=experiment)
    except (OSError, ValueError) as exc:  # PromptError is a ValueError
        fail(str(exc))
    finally:
        opened.close()
    return registry


def _parse_ref(ref: str) -> tuple[str, int | None]:
    """``orders`` (its default version) or ``orders@2``."""
    agent, _, version = ref.partition("@")
    if version and not version.isdigit():
        fail(f"bad prompt reference {ref!r}: use AGENT or AGENT@VERSION")
    return agent, int(version) if version else None


@prompts_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False, store: StoreOption = None
) -> None:
    """Every prompt file: agent, version, whether it is the default, and what it is for."""
    registry = _registry(store)
    rows = [
        {
            "ref": t.ref,
            "agent": t.agent,
            "version": t.version,
            "default": registry.template(t.agent) == t,
            "draft": t.draft,
            "file": t.path.name,
            "description": t.description,
        }
        for t in registry.templates()
    ]
    if as_json:
        print_json({"prompts": rows, "experiment": _experiment(registry)})
        return
    table = Table("prompt", "default", "file", "description")
    for row in rows:
        table.add_row(str(row["ref"]), "yes" if row["default"] else "", str(row["file"]), str(row["description"]))
    out = Console()
    out.print(table)
    experiment = _experiment(registry)
    if experiment:
        out.print(f"experiment {experiment['name']!r}: variants {experiment['variants']}")


def _experiment(registry: PromptRegistry) -> dict[str, object] | None:
    experiment = registry.experiment
    if not experiment.active:
        return None
    return {"name": experiment.name, "variants": experiment.variants, "weights": experiment.weights}


@prompts_app.command("show")
def show_command(
    ref: Annotated[str, typer.Argument(help="AGENT (its default version) or AGENT@VERSION, e.g. orders@2.")],
    raw: Annotated[bool, typer.Option("--raw", help="The file's body, with the policy references unexpanded.")] = False,
    store: StoreOption = None,
) -> None:
    """A prompt as the agent receives it (the shop's name and policy included), or its raw body."""
    from shopkeep.llm.prompts import PromptError

    registry = _registry(store)
    agent, version = _parse_ref(ref)
    try:
        template = registry.template(agent, version)
    except PromptError as exc:
        fail(str(exc))
    sys.stdout.write(f"# {template.ref} ({template.path.name})\n\n")
    sys.stdout.write((template.body if raw else registry.render(template)) + "\n")


@prompts_app.command("diff")
def diff_command(
    old: Annotated[str, typer.Argument(help="AGENT@VERSION to compare from.")],
    new: Annotated[str, typer.Argument(help="AGENT@VERSION to compare to.")],
    raw: Annotated[
        bool, typer.Option("--raw", help="Compare the files' bodies, policy references unexpanded.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """A unified diff of two prompts as rendered (or raw). Exit code 1 when they differ, like diff(1)."""
    from shopkeep.llm.prompts import PromptError

    registry = _registry(store)
    try:
        a, b = (registry.template(*_parse_ref(ref)) for ref in (old, new))
    except PromptError as exc:
        fail(str(exc))
    texts = [(t.body if raw else registry.render(t)).splitlines(keepends=True) for t in (a, b)]
    lines = list(difflib.unified_diff(texts[0], texts[1], fromfile=a.ref, tofile=b.ref))
    sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
    if lines:
        raise typer.Exit(1)
