"""The FastAPI application factory. Nothing outside ``api/`` imports FastAPI.

The app owns the conversation service's lifecycle: its lifespan opens the checkpointer and builds the service
once (unless a ready service is injected, as tests do), runs the retention sweeper when a retention period is set,
and closes the checkpointer on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from shopkeep import __version__
from shopkeep.agents.checkpoint import open_checkpointer
from shopkeep.agents.factory import build_service
from shopkeep.agents.retention import start_sweeper
from shopkeep.agents.service import ConversationService
from shopkeep.api import analytics, conversations, escalations
from shopkeep.api.errors import install_error_handlers
from shopkeep.api.ops import install_ops
from shopkeep.api.web import install_web_chat
from shopkeep.errors import StoreError
from shopkeep.guardrails.ratelimit import RateLimiter, RateRules, rate_limiter
from shopkeep.inbox.accounts import AgentAccounts
from shopkeep.inbox.events import EventBus, event_bus
from shopkeep.inbox.service import InboxService
from shopkeep.inbox.webhooks import WebhookNotifier
from shopkeep.settings import Settings, get_settings
from shopkeep.shop.profile import ShopProfiles
from shopkeep.store import CommerceStore
from shopkeep.tracing import configure_tracing

DESCRIPTION = """
Shopkeep's conversation API: start a conversation, send the customer's messages, read the transcript.

Consequential actions (cancel, modify, return, exchange, address change, order) never run on a message alone: the
assistant first answers with a **proposal** (`awaiting_confirmation: true`, an exact `summary` and a
`fingerprint`), and the action runs only when the next message is an explicit yes for that fingerprint.

Every write (`POST`) takes an optional `Idempotency-Key` header: a resend with the same key and body returns the
first response (`Idempotent-Replayed: true`) and runs nothing again; the same key with another body is a 409.
Messages are rate limited per conversation and per customer: a 429 says when to retry (`Retry-After`).

Errors share one body, `{"code", "message", "error_id"?, "details"?}`; a 500 carries only an `error_id`.
"""

TAGS = [
    {"name": "conversations", "description": "Chat with the assistant: REST and server-sent events."},
    {
        "name": "escalations",
        "description": "Human agents: the escalation queue, claim, reply, notes, resolve and hand back "
        "(`Authorization: Bearer TOKEN`, a token from `shopkeep agents add`).",
    },
    {"name": "ops", "description": "Health and metrics of the service."},
]


IDEMPOTENCY_WAIT_S = 10.0
"""How long a request waits for a running request with its Idempotency-Key before a retryable 409."""


def app_from_settings() -> FastAPI:
    """The app of one worker of ``shopkeep serve --workers N`` (uvicorn's factory): its own store connections, from
    settings; the parent process migrated, seeded and indexed the store before it started the workers."""
    from shopkeep.llm.local.nlu import NLU
    from shopkeep.store import open_store

    settings = get_settings()
    store = open_store(settings.resolved_store_url(), upgrade=False)
    # Load the local brain (the model the parent trained or loaded, the shop's words) before the worker accepts
    # requests: its first customers would otherwise wait for the embedding model.
    NLU.load(settings).for_store(store).warm_up()
    return create_app(settings, store)


def create_app(
    settings: Settings,
    store: CommerceStore,
    *,
    service: ConversationService | None = None,
    limiter: RateLimiter | None = None,
    events: EventBus | None = None,
    webhooks: WebhookNotifier | None = None,
) -> FastAPI:
    """Build the app around an opened store; the conversation service is built at start-up unless given, and the
    rate limiter and live events from settings (Redis when ``SHOPKEEP_REDIS_URL`` is set) unless given, like the
    escalation webhook (``SHOPKEEP_ESCALATION__WEBHOOK_URL``)."""
    notifier = webhooks if webhooks is not None else escalation_webhooks(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_tracing(settings)  # per process: a worker's exporter thread does not survive a fork
        with ExitStack() as stack:
            if service is None:
                checkpointer = stack.enter_context(open_checkpointer(settings.resolved_checkpoint_url()))
                app.state.service = build_service(settings, store, checkpointer)
            else:
                app.state.service = service
            app.state.inbox = InboxService(store, app.state.service, app.state.events, webhooks=notifier)
            stack.callback(app.state.events.close)
            if notifier is not None:
                stack.callback(notifier.close)
            sweeper = start_sweeper(settings, store, app.state.service.checkpointer)
            try:
                yield
            finally:
                if sweeper is not None:
                    sweeper.cancel()

    app = FastAPI(
        title="Shopkeep",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        # FastAPI's own request spans join Shopkeep's traces; its metrics and exception logs stay off (Prometheus
        # counts, and exception texts may quote a customer).
        telemetry={"tracing": True, "metrics": False, "logs": False, "auto_configure": False},
    )
    app.state.settings = settings
    app.state.store = store
    app.state.shop = ShopProfiles.from_settings(store, settings)
    app.state.limiter = limiter or rate_limiter(settings)
    app.state.message_rules = RateRules.for_messages(settings.limits)
    app.state.idempotency_wait_s = IDEMPOTENCY_WAIT_S
    app.state.accounts = AgentAccounts(store)
    app.state.events = events or event_bus(settings.redis_url.get_secret_value() if settings.redis_url else None)
    install_error_handlers(app)
    app.include_router(conversations.router)
    app.include_router(escalations.router)
    app.include_router(escalations.agents_router)
    app.include_router(analytics.router)
    install_web_chat(app)
    install_ops(app)

    @app.get("/healthz", tags=["ops"], summary="Readiness: the service and its store answer")
    def healthz() -> JSONResponse:
        try:
            store.is_empty()
        except StoreError:
            return JSONResponse({"status": "degraded", "store": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok", "version": __version__})

    return app


def escalation_webhooks(settings: Settings) -> WebhookNotifier | None:
    """The signed escalation webhook, when ``SHOPKEEP_ESCALATION__WEBHOOK_URL`` is set (its secret is required)."""
    config = settings.escalation
    if not config.webhook_url:
        return None
    if config.webhook_secret is None or not config.webhook_secret.get_secret_value():
        raise ValueError(
            "SHOPKEEP_ESCALATION__WEBHOOK_URL needs SHOPKEEP_ESCALATION__WEBHOOK_SECRET to sign its bodies"
        )
    return WebhookNotifier(
        config.webhook_url,
        config.webhook_secret.get_secret_value(),
        attempts=config.webhook_attempts,
        wait_s=config.webhook_wait_s,
        timeout_s=config.webhook_timeout_s,
    )
