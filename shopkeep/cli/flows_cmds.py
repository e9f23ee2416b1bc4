"""``shopkeep flows list|show|check``: the local brain's dialog flows (``data/flows/*.yaml``) for product teams."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from shopkeep.cli._common import console, fail, print_json

if TYPE_CHECKING:
    from shopkeep.llm.local.flows import Flow, Flows

flows_app = typer.Typer(help="List, show and check the local brain's dialog flows.", no_args_is_help=True)

DirOption = Annotated[
    Path | None, typer.Option("--dir", help="The flows directory to read (default: data/flows).", show_default=False)
]


def _load(directory: Path | None) -> Flows:
    from shopkeep.llm.local.flows import FLOWS_DIR, FlowError
    from shopkeep.llm.local.policies.flow import check_flows

    try:
        return check_flows(directory or FLOWS_DIR)
    except FlowError as exc:
        raise fail(f"the flows do not check (run `shopkeep flows check`):\n{exc}") from None


def _ends_with(flow: Flow) -> str:
    return f"tool {flow.tool.name}" if flow.tool is not None else f"answer {flow.answer}"


@flows_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False, directory: DirOption = None
) -> None:
    """Every flow: its name, agent, the intents that start it, what it ends with, and what it is for."""
    flows = _load(directory)
    if as_json:
        print_json(
            [
                {
                    "name": f.name,
                    "agent": f.agent,
                    "intents": list(f.intents),
                    "tool": f.tool.name if f.tool else None,
                    "answer": f.answer,
                    "description": f.description,
                }
                for f in flows
            ]
        )
        return
    table = Table("flow", "agent", "intents", "ends with", "description")
    for f in flows:
        table.add_row(f.name, f.agent, ", ".join(f.intents), _ends_with(f), f.description)
    Console().print(table)


@flows_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The flow's name (its file's stem, see `shopkeep flows list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the flow as JSON.")] = False,
    directory: DirOption = None,
) -> None:
    """One flow: what starts it, what it requires, its slots and their questions, its tool and its replies, each
    reply with its current wording."""
    from shopkeep.replies import default_replies

    flows = _load(directory)
    if name not in flows:
        fail(f"no flow {name!r}; flows: {', '.join(f.name for f in flows)}")
    flow = flows[name]
    if as_json:
        print_json(flow.model_dump(mode="json"))
        return
    replies = default_replies()
    out = [f"# {flow.name} ({flow.agent}): {flow.description}", ""]
    out.append(f"started by: {', '.join(flow.intents) or '(keywords only)'}{' (weak)' if flow.weak else ''}")
    needs = ["a verified customer"] if flow.requires.identity else []
    if flow.requires.order_status:
        needs.append(f"an order that is {' or '.join(flow.requires.order_status)}")
    out.append(f"requires: {', '.join(needs) or 'nothing'}")
    for status, successor in flow.becomes.items():
        out.append(f"on a {status} order: goes on as {successor}")
    for slot in flow.slots:
        question = f" - asks {slot.ask}: {replies.templates[slot.ask].text}" if slot.ask else " (its own questions)"
        out.append(f"slot {slot.name}: resolver {slot.resolver}{question}")
    if flow.corrected_by:
        out.append(f"corrected by: {', '.join(flow.corrected_by)}")
    if flow.tool is not None:
        args = ", ".join(f"{argument}={source}" for argument, source in flow.tool.args.items())
        out.append(f"tool: {flow.tool.name}({args})")
    if flow.answer is not None:
        out.append(f"answer: {flow.answer}")
    for kind, key in flow.replies.model_dump().items():
        if key is not None:
            out.append(f"{kind}: {key}: {replies.templates[key].text}")
    sys.stdout.write("\n".join(out) + "\n")


@flows_app.command("check")
def check_command(directory: DirOption = None) -> None:
    """Check every flow against the tools and their arguments, the NLU's intents and entity types, the resolvers
    and answers registered, and the replies. Exit code 1 with one line per mistake (file: field: problem)."""
    from shopkeep.llm.local.flows import FLOWS_DIR, FlowError
    from shopkeep.llm.local.policies.flow import check_flows

    try:
        flows = check_flows(directory or FLOWS_DIR)
    except FlowError as exc:
        for line in str(exc).splitlines():
            console.print(f"[red]error:[/red] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    sys.stdout.write(f"{len(flows.by_name)} flows OK\n")
