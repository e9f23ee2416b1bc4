"""``/v1/conversations``: start a conversation, send a message (JSON or server-sent events), read the transcript.

The graph is synchronous; every call into the conversation service runs in the thread pool so the event loop
keeps serving other requests. Messages of one conversation are serialized by the service. A streamed turn goes
through ``llm.streaming.stream_turn``, which releases reply text only after the output rails passed it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from shopkeep.agents.service import ConversationService, TurnResult
from shopkeep.agents.telemetry import bind_log_context
from shopkeep.api.errors import api_error
from shopkeep.api.idempotency import HEADER_DESCRIPTION, REPLAYED_HEADER, Started, begin, message_payload
from shopkeep.api.live import live_response
from shopkeep.api.ratelimit import enforce_message_rate
from shopkeep.api.schemas import ConversationCreated, ErrorResponse, MessageIn, RatingIn, Transcript, TurnResponse
from shopkeep.errors import NotFoundError
from shopkeep.inbox.events import conversation_channel, customer_event
from shopkeep.llm.streaming import ReplyDelta, stream_turn
from shopkeep.payments.idempotency import Replay
from shopkeep.store.base import CommerceStore

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

SSE_MEDIA_TYPE = "text/event-stream"

SSE_DESCRIPTION = """
Send one customer message and get the assistant's turn.

**JSON** (default): the turn as a `TurnResponse`.

**Server-sent events**: send `Accept: text/event-stream` to receive the same turn as a stream of events, each
`event: NAME` with one JSON `data:` line:

| event | data | when |
| --- | --- | --- |
| `turn.started` | `{"conversation_id"}` | at once, before the assistant works |
| `reply.delta` | `{"text"}` | reply text as it is written (LLM brains), sentence by sentence, already guarded |
| `tool_call` | `{"name", "arguments", "ok"}` | once per tool the assistant called, in order |
| `proposal` | `{"fingerprint", "tool", "arguments", "summary", "preview"}` | when an action awaits a yes |
| `reply` | `{"text", "agent", "intent"}` | the final reply: it replaces any `reply.delta` text |
| `turn.completed` | the full `TurnResponse` | last event of a successful turn |
| `error` | `{"status", "code", "message", "error_id"?}` | instead of `turn.completed` if the turn failed |

Errors found before the stream starts (unknown conversation, bad input) are ordinary JSON error responses.

**Confirmations**: when a turn ends with `awaiting_confirmation: true`, the next message answers the proposal.
Send `{"text": "yes", "confirm": "<fingerprint>"}` to run exactly that action; anything else cancels it (or is
asked again when unclear).
"""

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Unknown conversation id."},
    503: {"model": ErrorResponse, "description": "The store is unavailable; retry after `Retry-After` seconds."},
}
_IDEMPOTENCY_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorResponse,
        "description": "`idempotency_conflict`: the Idempotency-Key was used with another body. "
        "`idempotency_in_progress`: the first request with this key is still running; retry after `Retry-After`.",
    },
}

_SSE_EXAMPLE = (
    'event: turn.started\ndata: {"conversation_id": "9b2f..."}\n\n'
    'event: reply\ndata: {"text": "Hello! How can I help you today?", "agent": "support", "intent": "greeting"}\n\n'
    'event: turn.completed\ndata: {"conversation_id": "9b2f...", "reply": "Hello! ...", ...}\n\n'
)


def get_service(request: Request) -> ConversationService:
    service: ConversationService = request.app.state.service
    return service


Service = Annotated[ConversationService, Depends(get_service)]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255, description=HEADER_DESCRIPTION)
]


def _begin(request: Request, scope: str, key: str, payload: dict[str, Any]) -> Started | Replay:
    store: CommerceStore = request.app.state.store
    return begin(store, scope, key, payload, wait_s=request.app.state.idempotency_wait_s)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationCreated,
    summary="Start a conversation",
    responses={503: _ERRORS[503], **_IDEMPOTENCY_ERRORS},
)
async def start_conversation(
    service: Service, request: Request, response: Response, idempotency_key: IdempotencyKey = None
) -> ConversationCreated:
    """Start a new conversation and return its id. The customer is anonymous until they identify themselves.
    With an `Idempotency-Key`, a resend returns the same conversation."""
    started: Started | None = None
    if idempotency_key is not None:
        claim = await run_in_threadpool(_begin, request, "api:conversations", idempotency_key, {})
        if isinstance(claim, Replay):
            created = ConversationCreated.model_validate(claim.response)
            response.headers[REPLAYED_HEADER] = "true"
            response.headers["Location"] = f"/v1/conversations/{created.id}"
            return created
        started = claim
    try:
        conversation_id = await run_in_threadpool(service.start, "api")
    except BaseException:
        if started is not None:
            await run_in_threadpool(started.release)
        raise
    created = ConversationCreated(id=conversation_id)
    if started is not None:
        await run_in_threadpool(started.complete, created.model_dump(mode="json"))
    response.headers["Location"] = f"/v1/conversations/{conversation_id}"
    return created


@router.post(
    "/{conversation_id}/messages",
    response_model=TurnResponse,
    summary="Send a customer message (JSON or server-sent events)",
    description=SSE_DESCRIPTION,
    responses={
        200: {
            "description": "The assistant's turn: JSON, or a server-sent event stream when asked for.",
            "content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}, "example": _SSE_EXAMPLE}},
        },
        413: {"model": ErrorResponse, "description": "The message is over 10,000 characters."},
        422: {"model": ErrorResponse, "description": "Empty or whitespace-only text, or a malformed body."},
        429: {
            "model": ErrorResponse,
            "description": "Too many messages from this conversation or customer; retry after `Retry-After`.",
        },
        **_IDEMPOTENCY_ERRORS,
        **_ERRORS,
    },
    dependencies=[Depends(enforce_message_rate)],
)
async def send_message(
    conversation_id: str,
    message: MessageIn,
    service: Service,
    request: Request,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    idempotency_key: IdempotencyKey = None,
) -> TurnResponse | StreamingResponse | JSONResponse:
    bind_log_context(conversation_id)
    streaming = accept is not None and SSE_MEDIA_TYPE in accept
    if streaming and not await run_in_threadpool(service.exists, conversation_id):
        raise NotFoundError("Conversation", conversation_id)
    started: Started | None = None
    if idempotency_key is not None:
        payload = message_payload(conversation_id, message.text, message.confirm)
        claim = await run_in_threadpool(_begin, request, "api:messages", idempotency_key, payload)
        if isinstance(claim, Replay):
            if streaming:
                return _sse_response(_replay(claim.response), replayed=True)
            return JSONResponse(claim.response, headers={REPLAYED_HEADER: "true"})
        started = claim
    if streaming:
        return _sse_response(_stream(service, conversation_id, message, started))
    try:
        turn = await run_in_threadpool(_send, service, conversation_id, message)
    except BaseException:
        if started is not None:
            await run_in_threadpool(started.release)
        raise
    body = TurnResponse.from_turn(turn)
    if started is not None:
        await run_in_threadpool(started.complete, body.model_dump(mode="json"))
    return body


@router.post(
    "/{conversation_id}/ratings",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Rate a reply (thumbs up or down)",
    responses={422: {"model": ErrorResponse, "description": "A value other than up or down."}, **_ERRORS},
)
async def rate_reply(conversation_id: str, rating: RatingIn, service: Service) -> Response:
    """Stored as a ``rating`` event of the conversation (with its experiment variant)."""
    bind_log_context(conversation_id)
    await run_in_threadpool(service.rate, conversation_id, rating.value, rating.event_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _sse_response(events: AsyncIterator[str], *, replayed: bool = False) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return StreamingResponse(events, media_type=SSE_MEDIA_TYPE, headers=headers)


@router.get(
    "/{conversation_id}",
    response_model=Transcript,
    summary="Read a conversation's transcript",
    responses=_ERRORS,
)
async def get_transcript(conversation_id: str, service: Service) -> Transcript:
    """Every event of the conversation, oldest first: the customer's and the assistant's messages, tool calls,
    proposals; and the proposal still waiting for an answer, if any."""
    events = await run_in_threadpool(service.transcript, conversation_id)
    return Transcript.from_events(conversation_id, events)


LIVE_DESCRIPTION = """
A server-sent event stream of what happens in the conversation outside the customer's own turns, while a person
works it. Each event is `event: NAME` with one JSON `data:` line:

| event | data | when |
| --- | --- | --- |
| `ready` | `{}` | at once: events from now on are delivered |
| `agent.joined` | `{"agent"}` | a person took the conversation over |
| `agent` | `{"kind": "agent", "text", "agent", "created_at"}` | the person's message (card numbers masked) |
| `bot.back` | `{"agent"}` | the person handed the conversation back to the assistant |
| `closed` | `{"text"}` | the person closed the conversation; new messages get the closed notice |

Lines starting with `:` are keep-alives. The same messages are in the transcript (`kind: "agent"`).

Every event but `ready` has an SSE `id`: the event's id in the transcript. After `ready` the stream first sends the
events of this table stored after `Last-Event-ID` (what a browser's `EventSource` sends when it reconnects) or, on a
first connection, after `after` (the last transcript event id the client has shown), so a chat that was
disconnected catches up with what it missed.
"""


@router.get(
    "/{conversation_id}/events",
    summary="Follow the conversation live (server-sent events)",
    description=LIVE_DESCRIPTION,
    response_class=StreamingResponse,
    responses={200: {"content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}}}}, 404: _ERRORS[404]},
)
async def follow_conversation(
    conversation_id: str,
    service: Service,
    request: Request,
    after: Annotated[int | None, Query(ge=0, description="Send the stored events after this event id first")] = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="Sent by a reconnecting EventSource; wins over after")
    ] = None,
) -> StreamingResponse:
    if not await run_in_threadpool(service.exists, conversation_id):
        raise NotFoundError("Conversation", conversation_id)
    since = _event_id(last_event_id)
    since = after if since is None else since
    backlog = None
    if since is not None:
        start = since

        async def backlog() -> list[tuple[str, dict[str, Any]]]:
            return await run_in_threadpool(_missed, service, conversation_id, start)

    return live_response(request.app.state.events, conversation_channel(conversation_id), request, backlog)


def _event_id(header: str | None) -> int | None:
    """The id of a ``Last-Event-ID`` header; None for anything that is not one of ours (a stale or foreign id)."""
    if header is None or not header.strip().isdigit():
        return None
    return int(header.strip())


def _missed(service: ConversationService, conversation_id: str, after: int) -> list[tuple[str, dict[str, Any]]]:
    events = service.transcript(conversation_id)
    shown = (customer_event(e) for e in events if e.event_id is not None and e.event_id > after)
    return [event for event in shown if event is not None]


def _send(service: ConversationService, conversation_id: str, message: MessageIn) -> TurnResult:
    return service.send(conversation_id, message.text, confirm=message.confirm)


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _stream(
    service: ConversationService, conversation_id: str, message: MessageIn, started: Started | None = None
) -> AsyncIterator[str]:
    yield _event("turn.started", {"conversation_id": conversation_id})
    turn: TurnResult | None = None
    try:
        async for item in iterate_in_threadpool(
            stream_turn(service, conversation_id, message.text, confirm=message.confirm)
        ):
            if isinstance(item, ReplyDelta):
                yield _event("reply.delta", {"text": item.text})
            else:
                turn = item.turn
        if turn is None:
            raise RuntimeError("the turn stream ended without its result")
        body = TurnResponse.from_turn(turn).model_dump(mode="json")
    except Exception as exc:  # the response has started: the error travels as an event, mapped like any other
        if started is not None:
            await run_in_threadpool(started.release)
        error = api_error(exc)
        yield _event("error", {"status": error.status, **error.body.model_dump(exclude_none=True)})
        return
    if started is not None:
        await run_in_threadpool(started.complete, body)
    for event in _closing_events(body):
        yield event


async def _replay(body: dict[str, Any]) -> AsyncIterator[str]:
    """A stored turn, streamed again (an Idempotency-Key resend): the same events, without the deltas."""
    yield _event("turn.started", {"conversation_id": body["conversation_id"]})
    for event in _closing_events(body):
        yield event


def _closing_events(body: dict[str, Any]) -> list[str]:
    """A finished turn's events after its reply deltas."""
    events = [_event("tool_call", call) for call in body["tool_calls"]]
    if body["proposal"] is not None:
        events.append(_event("proposal", body["proposal"]))
    events.append(_event("reply", {"text": body["reply"], "agent": body["agent"], "intent": body["intent"]}))
    events.append(_event("turn.completed", body))
    return events
