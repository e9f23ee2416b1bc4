"""``shopkeep forget`` (a customer's erasure) and ``shopkeep retention`` (expire old conversations)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shopkeep.cli._common import StoreOption, console, fail, open_cli_store, print_json
from shopkeep.settings import get_settings

if TYPE_CHECKING:
    from shopkeep.payments.vault import CardVault
    from shopkeep.store import SqlCommerceStore

CheckpointsOption = Annotated[
    str | None,
    typer.Option("--checkpoints", help="Checkpointer URL (default SHOPKEEP_CHECKPOINT_URL, or var/checkpoints.db)."),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Count what would be erased; change nothing.")]


def forget_command(
    email: Annotated[str, typer.Option("--email", help="The customer's email address.")],
    store: StoreOption = None,
    checkpoints: CheckpointsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Erase a customer: their conversations, events, tickets, carts, checkpoints and vaulted cards are deleted;
    their orders are kept (as the law requires) under a pseudonym, with name, email and addresses removed.
    Prints one JSON line with the counts."""
    from shopkeep.agents.retention import forget_customer

    if "@" not in email:
        fail(f"not an email address: {email!r}")
    with _opened(store, checkpoints) as (commerce, checkpointer, vault):
        erasure = forget_customer(commerce, checkpointer, vault, email, dry_run=dry_run)
    if not erasure.customers and not erasure.conversations:
        console.print(f"no customer or conversation found for {email}")
    print_json({"dry_run": dry_run, **erasure.as_dict()})


def retention_command(
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Idle days (default SHOPKEEP_RETENTION__CONVERSATION_DAYS).")
    ] = None,
    store: StoreOption = None,
    checkpoints: CheckpointsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Delete the conversations idle for more than the retention period (events, tickets, carts, checkpoints);
    orders are never deleted. Prints one JSON line with the counts."""
    from shopkeep.agents.retention import expire_conversations

    period = days or get_settings().retention.conversation_days
    if not period:
        fail("no retention period: pass --days N or set SHOPKEEP_RETENTION__CONVERSATION_DAYS")
    with _opened(store, checkpoints) as (commerce, checkpointer, vault):
        erasure = expire_conversations(commerce, checkpointer, vault, period, dry_run=dry_run)
    print_json({"dry_run": dry_run, "days": period, **erasure.as_dict()})


@contextmanager
def _opened(store: str | None, checkpoints: str | None) -> Iterator[tuple[SqlCommerceStore, Any, CardVault]]:
    """The store, the checkpointer and the card vault a retention command works on, closed afterwards."""
    from shopkeep.agents.checkpoint import open_checkpointer
    from shopkeep.payments.vault import default_vault

    settings = get_settings()
    commerce = open_cli_store(store)
    try:
        with open_checkpointer(checkpoints or settings.resolved_checkpoint_url()) as checkpointer:
            yield commerce, checkpointer, default_vault(settings.payments)
    finally:
        commerce.close()
