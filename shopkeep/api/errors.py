"""The one place errors become HTTP responses.

=====================================  ======  =====================
error                                  status  ``code``
=====================================  ======  =====================
``IdempotencyInProgressError``         409     ``idempotency_in_progress`` (with ``Retry-After``)
``IdempotencyConflictError``           409     ``idempotency_conflict``
``RetryableError`` (store, gateway or  503     ``service_unavailable`` (with ``Retry-After``)
card vault down, ...)
``NotAuthenticatedError`` (agent API)  401     ``unauthorized`` (with ``WWW-Authenticate: Bearer``)
``PermissionDeniedError`` (agent API)  403     ``forbidden``
``NotFoundError`` (unknown id)         404     ``not_found``
``InvalidStateError``                  409     ``conflict``
other ``DomainError``                  422     ``rule_violation``
``ToolCallError``                      422     ``invalid_tool_call``
request validation, malformed JSON     422     ``invalid_request``
message text over 10,000 characters    413     ``message_too_long``
too many messages                      429     ``rate_limited`` (with ``Retry-After``)
an HTTP error (unknown route, ...)     its     ``not_found``, ``method_not_allowed``, ...
anything else                          500     ``internal_error`` with an ``error_id``; details only in the log
=====================================  ======  =====================

The order matters: some errors are both a ``DomainError`` and a ``RetryableError`` (``GatewayUnavailableError``,
``IdempotencyInProgressError``). Retryable is checked first, so a gateway outage is a 503 the client may retry,
not a 422 it must not; a request still running under the same ``Idempotency-Key`` is a 409 with ``Retry-After``
(as ACP and Stripe answer it), checked before both.

A 500 never carries the exception's text: only an opaque id, logged with the traceback. Error texts of the typed
errors are customer-safe by construction (``ShopkeepError.message``), except the store's, which name the database:
a 503 says only that the service is unavailable. The SSE stream reports a failure mid-turn with the same mapping.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopkeep.api.schemas import MAX_MESSAGE_CHARS, ErrorResponse
from shopkeep.errors import (
    AccessError,
    DomainError,
    IdempotencyConflictError,
    IdempotencyInProgressError,
    InvalidStateError,
    NotAuthenticatedError,
    NotFoundError,
    PermissionDeniedError,
    RetryableError,
    ToolCallError,
)

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 5
IN_PROGRESS_RETRY_AFTER_SECONDS = 1
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; nothing was changed. Please retry shortly."
INTERNAL_MESSAGE = "Something went wrong on our side. Quote the error id if you contact support."
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "message_too_long",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ApiError:
    """A status, a body and headers: what one error becomes."""

    def __init__(self, status: int, body: ErrorResponse, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body.model_dump(exclude_none=True), status_code=self.status, headers=self.headers)


def api_error(exc: Exception) -> ApiError:
    """Map any exception to its HTTP form (logging what must stay on the server)."""
    if isinstance(exc, IdempotencyInProgressError):
        return ApiError(
            409,
            ErrorResponse(code="idempotency_in_progress", message=exc.message),
            {"Retry-After": str(IN_PROGRESS_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, IdempotencyConflictError):
        return ApiError(409, ErrorResponse(code="idempotency_conflict", message=exc.message))
    if isinstance(exc, RetryableError):
        log.warning("service_unavailable", error=type(exc).__name__)
        return ApiError(
            503,
            ErrorResponse(code="service_unavailable", message=UNAVAILABLE_MESSAGE),
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, NotAuthenticatedError):
        return ApiError(401, ErrorResponse(code="unauthorized", message=exc.message), {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, PermissionDeniedError):
        return ApiError(403, ErrorResponse(code="forbidden", message=exc.message))
    if isinstance(exc, NotFoundError):
        return ApiError(404, ErrorResponse(code="not_found", message=exc.message))
    if isinstance(exc, InvalidStateError):
        return ApiError(409, ErrorResponse(code="conflict", message=exc.message))
    if isinstance(exc, DomainError):
        return ApiError(422, ErrorResponse(code="rule_violation", message=exc.message))
    if isinstance(exc, ToolCallError):
        return ApiError(422, ErrorResponse(code="invalid_tool_call", message=exc.message))
    if isinstance(exc, StarletteHTTPException):
        return ApiError(
            exc.status_code,
            ErrorResponse(code=_HTTP_CODES.get(exc.status_code, "http_error"), message=str(exc.detail)),
            dict(exc.headers or {}),
        )
    if isinstance(exc, RequestValidationError):
        return _validation_error(exc)
    error_id = uuid.uuid4().hex[:12]
    log.error("unhandled_error", error_id=error_id, exc_info=exc)
    return ApiError(500, ErrorResponse(code="internal_error", message=INTERNAL_MESSAGE, error_id=error_id))


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def _validation_error(exc: RequestValidationError) -> ApiError:
    errors = list(exc.errors())
    for error in errors:
        if error.get("type") == "string_too_long" and tuple(error.get("loc", ())) == ("body", "text"):
            size = len(error.get("input") or "")
            return ApiError(
                413,
                ErrorResponse(
                    code="message_too_long",
                    message=f"The message is too long: {size:,} characters; at most {MAX_MESSAGE_CHARS:,} are "
                    "accepted. Please shorten it.",
                ),
            )
    details = [
        {
            "field": "body" if e.get("type") == "json_invalid" else _where(e.get("loc", ())),
            "message": _message(e),
            "type": e.get("type"),
        }
        for e in errors
    ]
    first = details[0] if details else {"field": "body", "message": "invalid request"}
    field, text = str(first["field"]), str(first["message"])
    message = text if field == "body" or text.startswith(field) else f"{field}: {text}"
    return ApiError(422, ErrorResponse(code="invalid_request", message=message, details=details))


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type")
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if kind == "missing":
        return "This field is required."
    if kind == "string_too_short" and tuple(error.get("loc", ())) == ("body", "text"):
        return "text must contain at least one non-whitespace character"
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    return api_error(exc).response()


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through ``api_error``."""
    for kind in (
        StarletteHTTPException,
        RequestValidationError,
        NotFoundError,
        DomainError,
        ToolCallError,
        AccessError,
    ):
        app.add_exception_handler(kind, _handle)
    app.add_exception_handler(RetryableError, _handle)
    app.add_exception_handler(Exception, _handle)
