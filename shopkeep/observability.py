"""Logging set-up: structlog over the standard library, console lines for people or JSON lines for machines.

Every event passes ``redact_pii`` last before rendering: emails, phone numbers, street addresses and card numbers in
any value (exception tracebacks included) are replaced by labels (``guardrails.redaction``). The project sets no
OpenTelemetry spans of its own; a span exporter added later should run ``redact_value`` on span attributes too.
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


def redact_pii(_logger: object, _method: str, event_dict: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """structlog processor: PII out of every value of the event (see ``guardrails.redaction``)."""
    return {key: redact_value(value) for key, value in event_dict.items()}


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
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_pii,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level if isinstance(level, int) else logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, stream=_CurrentStderr(), format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _RedactPII) for f in handler.filters):
            handler.addFilter(_RedactPII())
    # Migrations report every step at INFO; only their problems are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)  # it lists every recognizer it loads
