"""``/v1/escalations``: the human agents' queue, a ticket's view, claim, assign, reply, notes, resolve; live events.

Every route takes ``Authorization: Bearer TOKEN`` (a token from ``shopkeep agents add``): 401 without a valid one,
403 when the agent's role or the ticket's assignment does not allow the action. The work is done by
``inbox.service.InboxService`` in the thread pool; this module only speaks HTTP.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from shopkeep.api.live import SSE_MEDIA_TYPE, live_response
from shopkeep.api.schemas import (
    AgentMessageIn,
    AgentMessageOut,
    AgentOut,
    AssignIn,
    ErrorResponse,
    EscalationDetail,
    EscalationOut,
    NoteIn,
    NoteOut,
    ResolveIn,
)
from shopkeep.domain import HumanAgent, TicketStatus
from shopkeep.errors import NotAuthenticatedError
from shopkeep.inbox.accounts import AgentAccounts
from shopkeep.inbox.events import INBOX
from shopkeep.inbox.service import InboxService

router = APIRouter(prefix="/v1/escalations", tags=["escalations"])
agents_router = APIRouter(prefix="/v1/agents", tags=["escalations"])

_401: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "No valid agent token (`Authorization: Bearer TOKEN`)."}
}
_404: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "Unknown escalation id."}}
_403: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "The agent's role or the ticket's assignment forbids it."}
}
_409: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorResponse, "description": "Another agent holds the ticket, or it is resolved."}
}
_422: dict[int | str, dict[str, Any]] = {422: {"model": ErrorResponse, "description": "A malformed body."}}


async def current_agent(
    request: Request,
    authorization: Annotated[str | None, Header(description="`Bearer TOKEN`, an agent's token")] = None,
) -> HumanAgent:
    """The agent the bearer token belongs to (401 otherwise)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticatedError()
    accounts: AgentAccounts = request.app.state.accounts
    agent: HumanAgent = await run_in_threadpool(accounts.authenticate, token.strip())
    return agent


def get_inbox(request: Request) -> InboxService:
    inbox: InboxService = request.app.state.inbox
    return inbox


Agent = Annotated[HumanAgent, Depends(current_agent)]
Inbox = Annotated[InboxService, Depends(get_inbox)]


@agents_router.get("/me", response_model=AgentOut, summary="The agent the token belongs to", responses=_401)
async def who_am_i(agent: Agent) -> AgentOut:
    """The console signs in with it: the agent's name and role."""
    return AgentOut(name=agent.name, role=agent.role.value)


@router.get("", response_model=list[EscalationOut], summary="The queue, oldest waiting first", responses=_401)
async def list_escalations(
    agent: Agent,
    inbox: Inbox,
    status_filter: Annotated[
        TicketStatus | None, Query(alias="status", description="open, claimed or resolved")
    ] = None,
) -> list[dict[str, Any]]:
    return await run_in_threadpool(inbox.queue, status_filter)


@router.get(
    "/events",
    summary="Follow the queue live (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}}}}, **_401},
)
async def follow_escalations(agent: Agent, request: Request) -> StreamingResponse:
    """`ready` first; then `escalation.created`, `escalation.claimed`, `escalation.assigned`,
    `escalation.resolved` (the ticket as in the queue), `escalation.message` (`{"id", "kind": "user"|"agent",
    "text", ...}`: a customer's or an agent's message on a ticket) and `escalation.note` (`{"id", "author"}`)."""
    return live_response(request.app.state.events, INBOX, request)


@router.get(
    "/{ticket_id}",
    response_model=EscalationDetail,
    summary="A ticket: summary, transcript, notes and the customer's context",
    responses={**_401, **_404},
)
async def get_escalation(ticket_id: str, agent: Agent, inbox: Inbox) -> EscalationDetail:
    detail = await run_in_threadpool(inbox.detail, ticket_id)
    return EscalationDetail.of(detail)


@router.post(
    "/{ticket_id}/claim",
    response_model=EscalationOut,
    summary="Take the ticket (409 when another agent holds it)",
    responses={**_401, **_404, **_409},
)
async def claim_escalation(ticket_id: str, agent: Agent, inbox: Inbox) -> dict[str, Any]:
    return await run_in_threadpool(inbox.claim, ticket_id, agent)


@router.post(
    "/{ticket_id}/assign",
    response_model=EscalationOut,
    summary="Give the ticket to an agent (supervisors)",
    responses={**_401, **_403, **_404, **_409, **_422},
)
async def assign_escalation(ticket_id: str, body: AssignIn, agent: Agent, inbox: Inbox) -> dict[str, Any]:
    return await run_in_threadpool(inbox.assign, ticket_id, agent, body.agent)


@router.post(
    "/{ticket_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=AgentMessageOut,
    summary="Write to the customer (the ticket's agent only)",
    responses={**_401, **_403, **_404, **_409, **_422},
)
async def post_message(ticket_id: str, body: AgentMessageIn, agent: Agent, inbox: Inbox) -> AgentMessageOut:
    event = await run_in_threadpool(inbox.reply, ticket_id, agent, body.text)
    return AgentMessageOut(text=event.payload["text"], agent=agent.name, created_at=event.created_at)


@router.post(
    "/{ticket_id}/notes",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
    summary="Add an internal note (never shown to the customer)",
    responses={**_401, **_404, **_422},
)
async def add_note(ticket_id: str, body: NoteIn, agent: Agent, inbox: Inbox) -> NoteOut:
    note = await run_in_threadpool(inbox.note, ticket_id, agent, body.text)
    return NoteOut(id=note.note_id or 0, author=note.author, text=note.text, created_at=note.created_at)


@router.post(
    "/{ticket_id}/resolve",
    response_model=EscalationOut,
    summary="Resolve: hand the conversation back to the bot, or close it",
    responses={**_401, **_403, **_404, **_409, **_422},
)
async def resolve_escalation(ticket_id: str, body: ResolveIn, agent: Agent, inbox: Inbox) -> dict[str, Any]:
    return await run_in_threadpool(inbox.resolve, ticket_id, agent, body.note, hand_back=body.hand_back)
