"""``shopkeep serve``: the HTTP service (the demo store is loaded on first start of the embedded default).

``--workers N`` runs N worker processes (uvicorn's) on one port. They share nothing in memory, so N > 1 needs the
state in shared servers: the store and the checkpoints on PostgreSQL (a conversation's turns are serialised across
workers by advisory locks) and Redis for rate limits, idempotency waits and live events. Any worker may serve any
message of any conversation: no sticky sessions.
"""

from __future__ import annotations

import os
import tempfile
from typing import Annotated

import typer

from shopkeep.cli._common import StoreOption, console, fail, open_cli_store
from shopkeep.cli.retrieval_cmds import index_for_search
from shopkeep.settings import get_settings


def serve_command(
    store: StoreOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default SHOPKEEP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SHOPKEEP_PORT).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, help="Worker processes; more than 1 needs PostgreSQL store and checkpoints, and Redis."
        ),
    ] = 1,
) -> None:
    """Serve Shopkeep over HTTP: the web chat at /, the API under /v1 (the app builds the conversation service)."""
    import uvicorn

    from shopkeep.api.app import create_app
    from shopkeep.llm.local.nlu import NLU

    settings = get_settings()
    if workers > 1:
        _check_shared_state(store or settings.resolved_store_url(), settings.resolved_checkpoint_url())
    commerce = open_cli_store(store, seed_if_empty=store is None)
    if settings.retrieval.index_on_start:
        index_for_search(commerce)
    with console.status("Warming up the local brain…"):
        # The router always reads messages with the local NLU; loading (or training, once) it now spares the first
        # customer the wait; workers load the model this trained.
        NLU.load(settings).for_store(commerce).warm_up()
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Shopkeep chat on http://{bind_host}:{bind_port}/ · API docs /docs (store {commerce.url})")
    if workers == 1:
        uvicorn.run(create_app(settings, commerce), host=bind_host, port=bind_port, log_level="warning")
        return
    commerce.close()
    # The workers are new interpreters: they read the store from the environment, and count metrics in one folder.
    os.environ["SHOPKEEP_STORE_URL"] = store or settings.resolved_store_url()
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="shopkeep-metrics-"))
    console.print(f"{workers} workers (no sticky sessions)")
    uvicorn.run(
        "shopkeep.api.app:app_from_settings",
        factory=True,
        workers=workers,
        host=bind_host,
        port=bind_port,
        log_level="warning",
    )


def _check_shared_state(store_url: str, checkpoint_url: str) -> None:
    """Workers share conversations only through PostgreSQL (store, checkpoints and the turn locks)."""
    for what, url, variable in (
        ("store", store_url, "--store or SHOPKEEP_STORE_URL"),
        ("checkpoints", checkpoint_url, "SHOPKEEP_CHECKPOINT_URL"),
    ):
        if not url.startswith("postgresql"):
            fail(f"--workers > 1 needs the {what} on PostgreSQL ({variable}); it is {url.split(':', 1)[0]}")
