"""``shopkeep agents``: the human agents who work escalations (add prints the token once; list; remove)."""

from __future__ import annotations

from typing import Annotated

import typer

from shopkeep.cli._common import StoreOption, fail, open_cli_store, print_json
from shopkeep.domain import AgentRole
from shopkeep.errors import ShopkeepError

agents_app = typer.Typer(help="Human agents: accounts for the escalation API and the console.", no_args_is_help=True)


@agents_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="The agent's name (shown to customers with their messages).")],
    role: Annotated[AgentRole, typer.Option("--role", help="agent, or supervisor (may assign tickets).")] = (
        AgentRole.AGENT
    ),
    store: StoreOption = None,
) -> None:
    """Add an agent; prints {"name", "role", "token"}. The token is shown only now: the store keeps a hash."""
    from shopkeep.inbox.accounts import AgentAccounts

    commerce = open_cli_store(store)
    try:
        issued = AgentAccounts(commerce).add(name, role)
    except ShopkeepError as exc:
        fail(exc.message)
    finally:
        commerce.close()
    print_json(issued.as_dict())


@agents_app.command("list")
def list_command(store: StoreOption = None) -> None:
    """The agents, one JSON object per line: name, role, created_at (never a token)."""
    from shopkeep.inbox.accounts import AgentAccounts

    commerce = open_cli_store(store)
    try:
        agents = AgentAccounts(commerce).list()
    finally:
        commerce.close()
    for agent in agents:
        print_json({"name": agent.name, "role": agent.role.value, "created_at": agent.created_at.isoformat()})


@agents_app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="The agent's name.")],
    store: StoreOption = None,
) -> None:
    """Remove an agent: their token stops working at once (their tickets keep their name as assignee)."""
    from shopkeep.inbox.accounts import AgentAccounts

    commerce = open_cli_store(store)
    try:
        AgentAccounts(commerce).remove(name)
    except ShopkeepError as exc:
        fail(exc.message)
    finally:
        commerce.close()
    print_json({"removed": name})
