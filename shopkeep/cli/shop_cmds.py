"""``shopkeep init`` (a new, empty shop with its own name, currency and policy), ``shopkeep kb import`` and
``shopkeep customers import``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shopkeep.cli._common import StoreOption, console, fail, open_cli_store
from shopkeep.cli.retrieval_cmds import index_for_search, open_search, run_index
from shopkeep.errors import ShopDataError


def _read_policy(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise fail(f"no such file: {path}", code=1) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read the policy {path}: {exc}", code=1) from None
    if not text:
        raise fail(f"the policy {path} is empty", code=1) from None
    return text


def init_command(
    name: Annotated[str, typer.Option("--name", help="The shop's name, as customers know it.")],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 currency code.")] = "USD",
    policy: Annotated[
        Path | None, typer.Option("--policy", help="The assistant's policy (Markdown); default: the standard one.")
    ] = None,
    locale: Annotated[str, typer.Option("--locale", help="The shop's language and region.")] = "en-US",
    support_hours: Annotated[
        str, typer.Option("--support-hours", help='When human agents answer, e.g. "Mon-Fri 9am-5pm CET".')
    ] = "",
    store: StoreOption = None,
    force: Annotated[bool, typer.Option("--force", help="Delete the shop already in the store first.")] = False,
) -> None:
    """Create a new, empty shop in the store: its profile (name, currency, policy), no products, customers or orders.

    A store that already holds a shop is left alone unless --force, which deletes it first."""
    from pydantic import ValidationError

    from shopkeep.domain.shop import ShopProfile
    from shopkeep.shop.setup import default_policy, describe, init_shop

    try:
        profile = ShopProfile(
            name=name,
            currency=currency,
            locale=locale,
            support_hours=support_hours.strip(),
            policy=_read_policy(policy) if policy is not None else "",
        )
    except ValidationError as exc:
        raise fail(
            "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in exc.errors()), code=1
        ) from None
    if not profile.policy:
        profile = profile.model_copy(update={"policy": default_policy(profile.name, profile.support_hours)})
    target = open_cli_store(store)
    try:
        before = init_shop(target, profile, force=force)
        replaced = "" if before.empty else f" (replaced {describe(before)})"
        console.print(f"initialized {profile.name!r} ({profile.currency}) in {target.url}{replaced}")
        index_for_search(target, check=False)
    except ShopDataError as exc:
        raise fail(exc.message, code=1) from None
    finally:
        target.close()


kb_app = typer.Typer(help="The shop's own help pages.", no_args_is_help=True)
customers_app = typer.Typer(help="The shop's existing customers.", no_args_is_help=True)


@kb_app.command("import")
def kb_import_command(
    directory: Annotated[Path, typer.Argument(help="A folder of Markdown pages (*.md, the format of data/kb).")],
    replace: Annotated[bool, typer.Option("--replace", help="Remove the pages the folder does not have.")] = False,
    store: StoreOption = None,
) -> None:
    """Store the shop's help pages (one page per file; its id is the file name) and index them for search. Once a
    shop has pages of its own, answers come from them only."""
    from shopkeep.shop.kb import import_help_pages

    target = open_cli_store(store)
    try:
        result = import_help_pages(target, directory, replace=replace)
        console.print(
            f"help pages: {result.pages} pages, {result.sections} sections: +{result.added} added, "
            f"~{result.updated} updated, {result.unchanged} unchanged, -{result.removed} removed"
        )
        run_index(open_search(target))
    except ShopDataError as exc:
        raise fail(f"{exc.message}. Nothing was imported.", code=1) from None
    finally:
        target.close()


@customers_app.command("import")
def customers_import_command(
    file: Annotated[Path, typer.Argument(help="Shopify customer CSV export, or customer JSON Lines.")],
    fmt: Annotated[str, typer.Option("--format", help="auto, shopify or jsonl (auto: detect).")] = "auto",
    store: StoreOption = None,
) -> None:
    """Import customers (added, or updated by email) in one transaction, so they can verify themselves in chat. Any
    invalid row fails the whole import (exit code 1)."""
    from shopkeep.shop.customers import import_customers

    if not file.is_file():
        raise fail(f"no such file: {file}", code=1)
    target = open_cli_store(store)
    try:
        result = import_customers(target, file, fmt=fmt)
    except ShopDataError as exc:
        raise fail(f"{exc.message}. Nothing was imported.", code=1) from None
    finally:
        target.close()
    c = result.changes
    console.print(
        f"read {file} ({result.format}): {result.rows} rows; customers: +{c.added} added, ~{c.updated} updated, "
        f"{c.unchanged} unchanged"
    )
