"""``shopkeep nlu classify``: the local brain's NLU from the command line, one JSON line per input line."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from shopkeep.settings import get_settings

if TYPE_CHECKING:
    from shopkeep.llm.local.nlu import NLU

nlu_app = typer.Typer(help="The local brain's language understanding (intents and entities).", no_args_is_help=True)

_BATCH = 64


@nlu_app.command("classify")
def classify_command(
    details: Annotated[
        bool, typer.Option("--details", help="Also print the top 3 intents, the clarify flag and its reason.")
    ] = False,
    store: Annotated[
        str | None,
        typer.Option("--store", help="Read products and names as this store's shop has them (default: the demo's)."),
    ] = None,
) -> None:
    """Read messages from stdin, one per line; print one JSON line each: {text, intent, confidence, entities}.

    Entity values are strings, numbers, or objects for structured types (address, payment_method, person_name,
    price_range). Blank lines are skipped. Lines are analyzed in batches, so piping a file is fast. Product and
    option entities are the demo's words, or with ``--store`` those of the shop that store holds, as the running
    assistant reads them.
    """
    from shopkeep.llm.local.nlu import NLU

    nlu = NLU.load(get_settings())
    shop = None
    if store is not None:
        from shopkeep.cli._common import open_cli_store

        shop = open_cli_store(store)  # held here: a store's NLU does not keep its store alive
        nlu = nlu.for_store(shop)
    batch: list[str] = []
    for raw in sys.stdin:
        line = raw.rstrip("\r\n")
        if line.strip():
            batch.append(line)
        if len(batch) >= _BATCH:
            _emit(nlu, batch, details)
            batch = []
    if batch:
        _emit(nlu, batch, details)
    if shop is not None:
        shop.close()


def _emit(nlu: NLU, texts: list[str], details: bool) -> None:
    for result in nlu.analyze_many(texts):
        record = result.as_record()
        if not details:
            record = {key: record[key] for key in ("text", "intent", "confidence", "entities")}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()
