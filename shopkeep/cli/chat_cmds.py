"""``shopkeep chat``: talk to the assistant in the terminal, or run a script of customer messages.

``--script FILE`` reads one customer message per line (or JSON lines ``{"user": ...}``) and prints a JSON list of
turns with the API's turn fields plus ``"user"``. Without ``--store`` a script runs on a fresh temporary copy of the
indexed demo store (built once and cached under ``var/demo``), so the same script always meets the same data.
The graph and the model are imported when the command runs, not when the CLI starts.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from shopkeep.cli._common import StoreOption, fail, open_cli_store
from shopkeep.domain.money import format_money
from shopkeep.errors import RetrievalError, StoreError
from shopkeep.settings import Settings, get_settings

if TYPE_CHECKING:
    from shopkeep.agents.service import ConversationService
    from shopkeep.api.schemas import TurnResponse
    from shopkeep.store import SqlCommerceStore

QUIT_WORDS = frozenset({"/quit", "/exit", "quit", "exit"})


def chat_command(
    script: Annotated[
        Path | None,
        typer.Option("--script", help='Customer messages, one per line or JSON lines {"user": ...}; prints JSON.'),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Chat with the assistant (interactive), or run a script of messages and print the JSON transcript."""
    settings = get_settings()
    if script is not None:
        messages = _read_script(script)
        _check_messages(messages)
        with _script_store(store, settings) as (commerce, checkpoint_url):
            print_turns(_run_script(settings, commerce, checkpoint_url, messages))
        return
    commerce = open_cli_store(store, seed_if_empty=store is None)
    try:
        _interactive(settings, commerce)
    finally:
        commerce.close()


def print_turns(turns: list[dict[str, Any]]) -> None:
    sys.stdout.write(json.dumps(turns, indent=2, ensure_ascii=False) + "\n")


def _read_script(path: Path) -> list[str]:
    """The customer messages of a script file: plain lines, or JSON lines when the first message starts with '{'."""
    if not path.is_file():
        fail(f"no such file: {path}")
    lines = [(number, line) for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
    lines = [(number, line) for number, line in lines if line.strip()]
    if not lines:
        fail(f"{path} holds no messages")
    if not lines[0][1].lstrip().startswith("{"):
        return [line for _, line in lines]
    messages = []
    for number, line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            fail(f"{path}:{number}: not valid JSON ({exc.msg})")
        if not isinstance(record, dict) or not isinstance(record.get("user"), str):
            fail(f'{path}:{number}: each JSON line must be an object with a "user" string')
        messages.append(record["user"])
    return messages


def _check_messages(messages: list[str]) -> None:
    """The API's rules for a message, before any work is done."""
    from shopkeep.api.schemas import MAX_MESSAGE_CHARS, MessageIn

    for number, text in enumerate(messages, 1):
        try:
            MessageIn(text=text)
        except ValidationError as exc:
            error = exc.errors()[0]
            if error["type"] == "string_too_long":
                fail(f"message {number} is too long: {len(text):,} characters; at most {MAX_MESSAGE_CHARS:,}")
            fail(f"message {number}: {str(error['msg']).removeprefix('Value error, ')}")


@contextmanager
def _script_store(url: str | None, settings: Settings) -> Iterator[tuple[SqlCommerceStore, str]]:
    """The store a script runs on (a fresh demo copy unless --store) and a throw-away checkpointer."""
    from shopkeep.retrieval.demo import copy_indexed_demo
    from shopkeep.store import open_store

    workdir = Path(tempfile.mkdtemp(prefix="shopkeep-chat-"))
    commerce: SqlCommerceStore | None = None
    try:
        if url is None:
            commerce = open_store(f"sqlite:///{copy_indexed_demo(settings, workdir / 'store.db')}")
        else:
            commerce = open_cli_store(url)
        yield commerce, f"sqlite:///{workdir / 'checkpoints.db'}"
    except RetrievalError as exc:
        fail(f"the demo store could not be indexed: {exc.message}" + (f" ({exc.install})" if exc.install else ""))
    except StoreError as exc:
        fail(exc.message)
    finally:
        if commerce is not None:
            commerce.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _run_script(
    settings: Settings, commerce: SqlCommerceStore, checkpoint_url: str, messages: list[str]
) -> list[dict[str, Any]]:
    from shopkeep.agents.checkpoint import open_checkpointer
    from shopkeep.agents.factory import build_service
    from shopkeep.api.schemas import TurnResponse

    turns = []
    with open_checkpointer(checkpoint_url) as checkpointer:
        service = build_service(settings, commerce, checkpointer)
        conversation_id = service.start(channel="cli")
        for text in messages:
            turn = TurnResponse.from_turn(service.send(conversation_id, text))
            turns.append({"user": text, **turn.model_dump(mode="json")})
    return turns


def _interactive(settings: Settings, commerce: SqlCommerceStore) -> None:
    from shopkeep.agents.checkpoint import open_checkpointer
    from shopkeep.agents.factory import build_service
    from shopkeep.llm.local.nlu import NLU
    from shopkeep.shop.profile import ShopProfiles

    out = Console()
    with open_checkpointer(settings.resolved_checkpoint_url()) as checkpointer:
        with out.status("Loading the assistant…"):
            NLU.load(settings).for_store(commerce).warm_up()
            service = build_service(settings, commerce, checkpointer)
        conversation_id = service.start(channel="cli")
        shop = escape(ShopProfiles.from_settings(commerce, settings).current().name)
        out.print(
            Panel.fit(
                f"Hi! I'm the {shop} assistant: products, your cart, and your orders.\n"
                "[dim]Type a message; /quit (or Ctrl-D) to leave.[/dim]",
                title=shop,
                border_style="blue",
            )
        )
        _loop(out, service, conversation_id)


def _loop(out: Console, service: ConversationService, conversation_id: str) -> None:
    from shopkeep.api.schemas import MAX_MESSAGE_CHARS, TurnResponse

    while True:
        try:
            text = out.input("[bold green]you ›[/bold green] ")
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if text.strip().lower() in QUIT_WORDS:
            return
        if not text.strip():
            continue
        if len(text) > MAX_MESSAGE_CHARS:
            out.print(f"[yellow]That message is too long: at most {MAX_MESSAGE_CHARS:,} characters.[/yellow]")
            continue
        try:
            with out.status("thinking…", spinner="dots"):
                turn = TurnResponse.from_turn(service.send(conversation_id, text))
        except StoreError as exc:
            out.print(f"[red]The store is unavailable: {exc.message}[/red]")
            continue
        _show(out, turn)


def _show(out: Console, turn: TurnResponse) -> None:
    for call in turn.tool_calls:
        mark = "[green]✓[/green]" if call.ok else "[yellow]![/yellow]"
        out.print(f"  {mark} [dim]{call.name} {json.dumps(call.arguments)}[/dim]")
    if turn.products:
        table = Table("product", "price", "options", "availability", title="Products", title_justify="left")
        for card in turn.products:
            price = format_money(card.price_min, card.currency) + (
                f" – {format_money(card.price_max, card.currency)}" if card.price_max != card.price_min else ""
            )
            options = "; ".join(f"{k}: {', '.join(v)}" for k, v in card.options.items())
            table.add_row(card.name, price, options, "in stock" if card.available else "out of stock")
        out.print(table)
    if turn.cart is not None:
        table = Table("item", "qty", "price", title="Cart", title_justify="left")
        currency = turn.cart.currency
        for line in turn.cart.lines:
            name = f"{line.name} ({', '.join(line.options.values())})"
            table.add_row(name, str(line.quantity), format_money(line.line_total, currency))
        subtotal = format_money(turn.cart.subtotal, currency)
        table.add_row("[bold]subtotal[/bold]", str(turn.cart.item_count), f"[bold]{subtotal}[/bold]")
        out.print(table)
    agent = turn.agent or "assistant"
    if turn.awaiting_confirmation and turn.proposal is not None:
        out.print(
            Panel(
                f"{turn.proposal.summary}\n\n[dim]Reply yes to confirm, or no to cancel.[/dim]",
                title=f"{agent} · please confirm",
                border_style="yellow",
            )
        )
    elif turn.reply:
        out.print(Panel(turn.reply, title=agent, title_align="left", border_style="blue"))
    if turn.mode == "human":
        out.print("[dim]A human agent has taken over this conversation.[/dim]")
