"""Logging set-up: structlog over the standard library, console lines for people or JSON lines for machines.

Every event passes ``redact_pii`` last before rendering: emails, phone numbers, street addresses and card numbers in
any value (exception tracebacks included) are replaced by labels (``guardrails.redaction``). Standard-library
records (uvicorn, httpx, ...) go through the same processors and renderer, so in ``json`` format every line is one
JSON object, and lines written during a turn carry its ``conversation_id`` and ``trace_id`` (bound as structlog
context variables by ``agents.telemetry``). Span attributes hold no personal data by construction (``tracing``).
"""

from __future__ import annotations

import logging
import sys

import structlog

from shopkeep.guardrails.redaction import redact, redact_value
from shopkeep.settings import Settings


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written (test runners and CLIs swap it; a captured stream that was
    closed must never be written to again)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs for standard-library records (found again on a second call)."""


_OWN_IDS = frozenset({"conversation_id", "trace_id", "error_id", "timestamp", "level", "logger"})
"""Values Shopkeep makes itself (random hex ids, the time, the level): never PII, and hex ids hold digit runs that
would send every line of a turn through the slow recognizers."""


def redact_pii(_logger: object, _method: str, event_dict: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """structlog processor: PII out of every value of the event (see ``guardrails.redaction``)."""
    return {key: value if key in _OWN_IDS else redact_value(value) for key, value in event_dict.items()}


class _RedactPII(logging.Filter):
    """The same redaction for standard-library log records (libraries, uvicorn)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


def configure_logging(settings: Settings) -> None:
    """Route structlog and stdlib logging to stderr at the configured level and format."""
    level = logging.getLevelName(settings.log_level.upper())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, redact_pii, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level if isinstance(level, int) else logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        # Uncached, so a second configure_logging in the process reaches the module-level loggers already used.
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    ours = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if ours is None and not root.handlers:  # like logging.basicConfig: a host's own handlers and level are kept
        ours = _StderrHandler(_CurrentStderr())
        root.addHandler(ours)
    if ours is not None:
        root.setLevel(level)
        ours.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    redact_pii,
                    renderer,
                ],
            )
        )
    for handler in root.handlers:
        if not any(isinstance(f, _RedactPII) for f in handler.filters):
            handler.addFilter(_RedactPII())
    # Migrations report every step at INFO; only their problems are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)  # it lists every recognizer it loads
