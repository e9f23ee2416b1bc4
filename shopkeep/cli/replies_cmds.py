"""``shopkeep replies list|check``: the customer-facing replies of ``data/replies``, their groups and versions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shopkeep.cli._common import fail, print_json
from shopkeep.replies import REPLIES_DIR, Replies, ReplyError, keys_named_in

replies_app = typer.Typer(help="List and check the assistant's replies (data/replies).", no_args_is_help=True)

DirOption = Annotated[
    Path, typer.Option("--dir", help="The replies directory (a copy being edited, say).", show_default=False)
]


def _load(directory: Path) -> Replies:
    if not directory.is_dir():
        fail(f"no replies directory {directory}", code=1)
    try:
        replies = Replies.load(directory)
    except (ReplyError, OSError) as exc:
        fail(str(exc), code=1)
    return replies


@replies_app.command("list")
def list_command(
    directory: DirOption = REPLIES_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every group of replies: its version and how many replies it holds."""
    replies = _load(directory)
    counts = Counter(key.partition(".")[0] for key in replies.templates)
    rows = [
        {"group": group, "version": version, "ref": replies.ref(group), "replies": counts[group]}
        for group, version in sorted(replies.versions.items())
    ]
    if as_json:
        print_json({"groups": rows})
        return
    table = Table("group", "version", "replies")
    for row in rows:
        table.add_row(str(row["group"]), str(row["version"]), str(row["replies"]))
    Console().print(table)


@replies_app.command("check")
def check_command(directory: DirOption = REPLIES_DIR) -> None:
    """Load and validate the replies (each file's shape and version, includes, cycles, fields), and check that every
    reply the code asks for is there. Exits non-zero with what is wrong."""
    replies = _load(directory)
    missing = sorted(keys_named_in() - replies.templates.keys())
    if missing:
        fail(f"the code asks for replies that {directory} does not have: {', '.join(missing)}", code=1)
    groups = len(replies.versions)
    typer.echo(f"ok: {len(replies.templates)} replies in {groups} groups ({directory})")
