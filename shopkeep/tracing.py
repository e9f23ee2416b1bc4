"""OpenTelemetry traces: off by default; on with the standard ``OTEL_*`` variables, exported over OTLP.

Shopkeep opens one span per customer turn (``invoke_agent shopkeep``), per graph node (``invoke_agent <agent>`` for
the specialists, the node's name for the others), per tool call (``execute_tool <tool>``) and per remote model
request (``chat <model>``), with the OpenTelemetry GenAI semantic conventions (``gen_ai.*`` attributes, token
counts). Attributes never hold personal data or card numbers: no message text, no tool arguments or results, no
customer ids; only names, ids Shopkeep made (conversation, tool call), counts and outcomes.

The switch is the standard one: tracing is on when ``OTEL_TRACES_EXPORTER`` is ``otlp`` (or ``console``), or when
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, unless ``OTEL_TRACES_EXPORTER=none``
or ``OTEL_SDK_DISABLED=true``. The exporter reads the rest of its ``OTEL_EXPORTER_OTLP_*`` variables itself
(headers, timeout, certificates); ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` name the service
(default ``shopkeep``). The SDK and the exporter come with the ``otel`` extra.

Without tracing every span is a no-op, and a turn still gets a W3C trace id (its caller's, or a new one) so its log
lines can be correlated.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

from shopkeep import __version__
from shopkeep.settings import Settings

INSTRUMENTATION = "shopkeep"

# GenAI semantic conventions (attribute names are the spec's; the Python constants are still "incubating").
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
AGENT_NAME = "gen_ai.agent.name"
CONVERSATION_ID = "gen_ai.conversation.id"
REQUEST_MODEL = "gen_ai.request.model"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
ERROR_TYPE = "error.type"

_lock = threading.Lock()
_provider: TracerProvider | None = None
_owned: Any = None
"""The SDK provider ``configure_tracing`` built (flushed and shut down by ``shutdown_tracing``)."""


def tracing_enabled(settings: Settings) -> bool:
    """Whether the ``OTEL_*`` variables ask for traces (see the module docstring)."""
    exporter = settings.otel_traces_exporter.strip().lower()
    if settings.otel_sdk_disabled or exporter == "none":
        return False
    return exporter in ("otlp", "console") or bool(settings.otel_exporter_otlp_endpoint)


def configure_tracing(settings: Settings) -> bool:
    """Install the SDK tracer provider with its exporter when the ``OTEL_*`` variables ask for traces; once per
    process (a second call keeps the first provider). Returns whether Shopkeep traces."""
    global _owned
    if not tracing_enabled(settings):
        return False
    with _lock:
        if _owned is not None:
            return True
        try:
            from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
            from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
        except ImportError as exc:
            raise ImportError("Tracing needs the 'otel' extra: pip install 'shopkeep[otel]'") from exc
        exporter_name = settings.otel_traces_exporter.strip().lower() or "otlp"
        exporter: SpanExporter
        if exporter_name == "console":
            exporter = ConsoleSpanExporter()
        elif exporter_name == "otlp":
            exporter = _otlp_exporter(settings.otel_exporter_otlp_protocol)
        else:
            raise ValueError(f"unsupported OTEL_TRACES_EXPORTER={exporter_name!r}: use otlp, console or none")
        resource = Resource.create({SERVICE_VERSION: __version__})
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: INSTRUMENTATION}))
        provider = SdkTracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _owned = provider
        return True


def _otlp_exporter(protocol: str) -> Any:
    if protocol.strip() not in ("", "http/protobuf"):
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: Shopkeep exports OTLP over http/protobuf"
        )
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ImportError("OTLP export needs the 'otel' extra: pip install 'shopkeep[otel]'") from exc
    return OTLPSpanExporter()


def shutdown_tracing() -> None:
    """Export what is buffered and stop the provider ``configure_tracing`` installed (at process end)."""
    global _owned
    with _lock:
        owned, _owned = _owned, None
    if owned is not None:
        owned.shutdown()


def use_provider(provider: TracerProvider | None) -> None:
    """Send Shopkeep's spans to ``provider`` instead of the global one (None: back to the global provider).

    For embedding Shopkeep in a process that manages its own providers, and for tests (an in-memory exporter)."""
    global _provider
    _provider = provider


def tracer() -> Tracer:
    return (_provider or trace.get_tracer_provider()).get_tracer(INSTRUMENTATION, __version__)


def active() -> bool:
    """Whether spans go anywhere: a provider was given (``use_provider``) or installed globally (by
    ``configure_tracing`` or by the host process). Without one, ``span`` skips OpenTelemetry altogether."""
    return _provider is not None or not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def current_trace_id() -> str | None:
    """The current trace's id as 32 hex digits; None without a trace (tracing off and no caller's trace)."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


def new_trace_id() -> str:
    """A random id in the W3C trace-id format, for correlating logs when nothing is traced."""
    return secrets.token_hex(16)


@contextmanager
def span(name: str, attributes: dict[str, Any], *, kind: SpanKind = SpanKind.INTERNAL) -> Iterator[Span]:
    """A span around a block: an exception ends it with ``error.type`` and an error status (its message is not
    recorded: it may quote a customer). LangGraph's pause for a confirmation is not an error."""
    if not active():
        yield trace.INVALID_SPAN
        return
    with tracer().start_as_current_span(
        name, kind=kind, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            if _is_interrupt(exc):
                current.set_attribute("shopkeep.interrupted", True)
            else:
                current.set_attribute(ERROR_TYPE, type(exc).__qualname__)
                current.set_status(Status(StatusCode.ERROR))
            raise


def _is_interrupt(exc: BaseException) -> bool:
    from langgraph.errors import GraphBubbleUp

    return isinstance(exc, GraphBubbleUp)
