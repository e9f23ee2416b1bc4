"""``shopkeep serve``: the HTTP service (the demo store is loaded on first start of the embedded default)."""

from __future__ import annotations

from typing import Annotated

import typer

from shopkeep.cli._common import StoreOption, console, open_cli_store
from shopkeep.cli.retrieval_cmds import index_for_search
from shopkeep.settings import get_settings


def serve_command(
    store: StoreOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default SHOPKEEP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SHOPKEEP_PORT).")] = None,
) -> None:
    """Serve Shopkeep over HTTP: the web chat at /, the API under /v1 (the app builds the conversation service)."""
    import uvicorn

    from shopkeep.api.app import create_app
    from shopkeep.llm.local.nlu import NLU

    settings = get_settings()
    commerce = open_cli_store(store, seed_if_empty=store is None)
    if settings.retrieval.index_on_start:
        index_for_search(commerce)
    with console.status("Warming up the local brain…"):
        # The router always reads messages with the local NLU; loading it now spares the first customer the wait.
        NLU.load(settings).warm_up()
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Shopkeep chat on http://{bind_host}:{bind_port}/ · API docs /docs (store {commerce.url})")
    uvicorn.run(create_app(settings, commerce), host=bind_host, port=bind_port, log_level="warning")
