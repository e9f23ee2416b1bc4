"""The escalation workflow: the queue, a ticket's view, claim, assign, reply, note, resolve (hand back or close).

Everything a person does is written to the store first (ticket ownership, their messages as conversation events of
kind ``agent``, notes), so any worker serves any call; then it is published on the event bus (the customer's open
chat, the consoles) and, for a new, claimed or resolved ticket, sent as a signed webhook in the background.

What an agent reads passes through ``redact``: card numbers and card vault tokens never reach a person, in the
transcript, tool arguments or outputs. What an agent writes passes the output rail for card numbers, like a reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from shopkeep.agents.service import ConversationService, TurnNotice
from shopkeep.domain import (
    AgentRole,
    Cart,
    ConversationEvent,
    Customer,
    EscalationTicket,
    HumanAgent,
    Order,
    TicketNote,
    TicketStatus,
)
from shopkeep.errors import InvalidStateError, NotFoundError, PermissionDeniedError, RuleViolationError
from shopkeep.guardrails.cards import mask_card_numbers, mask_vault_tokens
from shopkeep.guardrails.rails import card_numbers_out
from shopkeep.inbox.events import INBOX, EventBus, conversation_channel, customer_event
from shopkeep.inbox.webhooks import WebhookNotifier
from shopkeep.metrics import ESCALATION_ACTIONS, ESCALATION_CLAIM_WAIT
from shopkeep.replies import reply
from shopkeep.store.base import CommerceStore
from shopkeep.store.inbox import inbox_records
from shopkeep.store.payments import utc

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


_VAULTED = re.compile(r", vault token vt_[0-9a-f]{24}")
"""How the input guard writes a vaulted card into the customer's message (``guardrails.cards.vault_card_numbers``)."""


def redact(value: Any) -> Any:
    """``value`` with every card number and card vault token masked, in every string at any depth."""
    if isinstance(value, str):
        return mask_vault_tokens(mask_card_numbers(_VAULTED.sub("", value))[0])[0]
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


@dataclass(frozen=True)
class TicketDetail:
    """A ticket with everything its agent needs: the transcript (redacted), notes, and the customer's context."""

    ticket: EscalationTicket
    summary: dict[str, Any]
    events: list[ConversationEvent]
    notes: list[TicketNote]
    customer: Customer | None
    orders: list[Order]
    cart: Cart | None


class InboxService:
    """The human agents' operations on escalation tickets, over the store, the conversations and the event bus."""

    def __init__(
        self,
        store: CommerceStore,
        conversations: ConversationService,
        bus: EventBus,
        *,
        webhooks: WebhookNotifier | None = None,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._conversations = conversations
        self._bus = bus
        self._webhooks = webhooks
        self._clock = clock
        conversations.add_listener(self.turn_finished)

    # reading ----------------------------------------------------------------------------------------------------

    def queue(self, status: TicketStatus | None = None) -> list[dict[str, Any]]:
        """Tickets, oldest waiting first, as summaries (``summary_of``)."""
        with self._store.session() as session:
            tickets = session.list_tickets(status=status.value if status else None)
            customers = {t.customer_id: session.get_customer(t.customer_id) for t in tickets if t.customer_id}
        return [self.summary_of(t, customers.get(t.customer_id) if t.customer_id else None) for t in tickets]

    def detail(self, ticket_id: str) -> TicketDetail:
        with self._store.session() as session:
            ticket = self._ticket(session, ticket_id)
            customer = session.get_customer(ticket.customer_id) if ticket.customer_id else None
            orders = session.list_orders(ticket.customer_id) if customer is not None else []
            cart = session.get_cart(ticket.conversation_id)
            events = session.list_events(ticket.conversation_id)
            notes = inbox_records(session).list_notes(ticket_id)
        shown = [e.model_copy(update={"payload": redact(e.payload)}) for e in events]
        return TicketDetail(
            ticket=ticket,
            summary=self.summary_of(ticket, customer),
            events=shown,
            notes=notes,
            customer=customer,
            orders=orders,
            cart=cart,
        )

    def summary_of(self, ticket: EscalationTicket, customer: Customer | None) -> dict[str, Any]:
        """The queue's view of a ticket (also the data of its live events and webhooks)."""
        created = utc(ticket.created_at)
        until = utc(ticket.resolved_at) if ticket.resolved_at is not None else self._clock()
        who: dict[str, Any] | None = None
        if ticket.customer_id:
            name = f"{customer.name.first_name} {customer.name.last_name}".strip() if customer else None
            who = {"id": ticket.customer_id, "name": name or None}
        return {
            "id": ticket.ticket_id,
            "conversation_id": ticket.conversation_id,
            "status": ticket.status.value,
            "reason": ticket.reason,
            "summary": redact(ticket.summary),
            "customer": who,
            "assignee": ticket.assignee,
            "created_at": created.isoformat(),
            "waiting_seconds": max(0, int((until - created).total_seconds())),
        }

    # acting -----------------------------------------------------------------------------------------------------

    def claim(self, ticket_id: str, agent: HumanAgent) -> dict[str, Any]:
        """Take the ticket. Claiming one's own ticket again is fine; one another agent holds is a conflict."""
        now = self._clock()
        with self._store.session(write=True) as session:
            won = inbox_records(session).claim(ticket_id, agent.name, now)
            ticket = self._ticket(session, ticket_id)
        if not won:
            if ticket.status == TicketStatus.CLAIMED and ticket.assignee == agent.name:
                return self._summary(ticket)
            raise self._taken(ticket)
        ESCALATION_ACTIONS.labels(action="claimed").inc()
        ESCALATION_CLAIM_WAIT.observe(max(0.0, (utc(now) - utc(ticket.created_at)).total_seconds()))
        self._joined(ticket, agent.name)
        return self._announce("escalation.claimed", ticket, webhook=True)

    def assign(self, ticket_id: str, agent: HumanAgent, to: str) -> dict[str, Any]:
        """A supervisor gives the ticket to ``to`` (an existing agent), whoever held it."""
        if agent.role != AgentRole.SUPERVISOR:
            raise PermissionDeniedError("Only a supervisor can assign tickets")
        now = self._clock()
        with self._store.session(write=True) as session:
            ticket = self._ticket(session, ticket_id, for_update=True)
            if inbox_records(session).get_agent(to) is None:
                raise RuleViolationError(f"No agent named {to!r}")
            if ticket.status == TicketStatus.RESOLVED:
                raise InvalidStateError("The ticket is resolved", key=ticket_id, status=ticket.status.value)
            changed = ticket.assignee != to
            ticket = ticket.model_copy(
                update={"status": TicketStatus.CLAIMED, "assignee": to, "claimed_at": now, "updated_at": now}
            )
            session.save_ticket(ticket)
        ESCALATION_ACTIONS.labels(action="assigned").inc()
        if changed:
            self._joined(ticket, to)
        return self._announce("escalation.assigned", ticket)

    def reply(self, ticket_id: str, agent: HumanAgent, text: str) -> ConversationEvent:
        """The assignee's message into the customer's conversation (card numbers masked by the output rail). The
        ticket is locked while the message is written, so no message lands after a resolution."""
        checked = card_numbers_out(text)
        with self._store.session(write=True) as session:
            ticket = self._ticket(session, ticket_id, for_update=True)
            if ticket.assignee != agent.name:
                raise PermissionDeniedError("Only the agent the ticket is assigned to can write to the customer")
            if ticket.status != TicketStatus.CLAIMED:
                raise InvalidStateError("The ticket is resolved", key=ticket_id, status=ticket.status.value)
            payload = {"text": checked.text, "agent": agent.name, "ticket_id": ticket_id}
            event = self._record(ticket, "agent", payload, agent=agent.name, session=session)
            if checked.tripped:
                self._record(ticket, "rail", {**checked.event(), "agent": agent.name}, session=session)
        ESCALATION_ACTIONS.labels(action="replied").inc()
        live = self._tell_customer(event)
        if live is not None:
            data = {key: value for key, value in live.items() if key != "event_id"}
            self._bus.publish(INBOX, "escalation.message", {"id": ticket_id, **data})
        return event

    def note(self, ticket_id: str, agent: HumanAgent, text: str) -> TicketNote:
        """An internal note: colleagues see it in the ticket; the customer never does."""
        now = self._clock()
        with self._store.session(write=True) as session:
            self._ticket(session, ticket_id)
            note = TicketNote(ticket_id=ticket_id, author=agent.name, text=redact(text), created_at=now)
            note = note.model_copy(update={"note_id": inbox_records(session).add_note(note)})
        ESCALATION_ACTIONS.labels(action="noted").inc()
        self._bus.publish(INBOX, "escalation.note", {"id": ticket_id, "author": agent.name})
        return note

    def resolve(self, ticket_id: str, agent: HumanAgent, note: str, *, hand_back: bool) -> dict[str, Any]:
        """Close the ticket: the conversation goes back to the bot (with the note) or is closed for good."""
        now = self._clock()
        with self._store.session(write=True) as session:
            before = self._ticket(session, ticket_id, for_update=True)
            if before.assignee != agent.name and agent.role != AgentRole.SUPERVISOR:
                raise PermissionDeniedError("Only the ticket's agent or a supervisor can resolve it")
            if before.status == TicketStatus.RESOLVED:
                raise InvalidStateError("The ticket is already resolved", key=ticket_id, status=before.status.value)
            ticket = before.model_copy(
                update={
                    "status": TicketStatus.RESOLVED,
                    "resolved_at": now,
                    "updated_at": now,
                    "resolution_note": redact(note),
                    "handed_back": hand_back,
                }
            )
            session.save_ticket(ticket)
        conversation = ticket.conversation_id
        try:
            if hand_back:
                self._conversations.set_mode(conversation, "bot", handback={"agent": agent.name, "note": redact(note)})
            else:
                self._conversations.set_mode(conversation, "closed")
        except Exception:
            # The conversation's mode lives in the checkpointer, the ticket in the store: when the checkpointer
            # fails, the resolution is undone so the ticket and the conversation agree (a person still owns both)
            # and the agent can resolve again, instead of a resolved ticket over a bot that stays silent.
            self._undo_resolution(ticket, before)
            raise
        ESCALATION_ACTIONS.labels(action="handed_back" if hand_back else "closed").inc()
        if hand_back:
            event = self._record(ticket, "bot_back", {"agent": agent.name, "ticket_id": ticket_id}, agent=agent.name)
        else:
            event = self._record(
                ticket, "closed", {"agent": agent.name, "ticket_id": ticket_id, "text": reply("graph.closed")}
            )
        self._tell_customer(event)
        return self._announce("escalation.resolved", ticket, webhook=True)

    def _undo_resolution(self, resolved: EscalationTicket, before: EscalationTicket) -> None:
        with self._store.session(write=True) as session:
            current = self._ticket(session, resolved.ticket_id, for_update=True)
            # Nothing changes a resolved ticket, so this is still our resolution; the check keeps it so.
            when = current.resolved_at
            if when is not None and resolved.resolved_at is not None and utc(when) == utc(resolved.resolved_at):
                session.save_ticket(before.model_copy(update={"updated_at": self._clock()}))
                log.warning("escalation_resolve_undone", ticket_id=resolved.ticket_id)

    # the conversation service's turns -----------------------------------------------------------------------------

    def turn_finished(self, notice: TurnNotice) -> None:
        """A new hand-off opens a ticket in the consoles (and the webhook); a customer's message to a person reaches
        their console at once."""
        if notice.escalated:
            with self._store.session() as session:
                tickets = inbox_records(session).tickets_of(notice.conversation_id)
            for ticket in tickets:
                if ticket.status == TicketStatus.OPEN:
                    self._announce("escalation.created", ticket, webhook=True)
        elif notice.result.mode == "human":
            with self._store.session() as session:
                tickets = inbox_records(session).tickets_of(notice.conversation_id)
            live = [t for t in tickets if t.status != TicketStatus.RESOLVED]
            data = {"kind": "user", "text": redact(notice.text), "conversation_id": notice.conversation_id}
            for ticket in live:
                self._bus.publish(INBOX, "escalation.message", {"id": ticket.ticket_id, **data})
        elif notice.handed_back:
            # The bot has the conversation again: a console showing one of its tickets follows its turns too.
            with self._store.session() as session:
                tickets = inbox_records(session).tickets_of(notice.conversation_id)
            messages = [{"kind": "user", "text": redact(notice.text)}]
            if notice.result.reply:
                messages.append(
                    {"kind": "assistant", "text": redact(notice.result.reply), "agent": notice.result.agent}
                )
            for ticket in tickets:
                for message in messages:
                    data = {"id": ticket.ticket_id, "conversation_id": notice.conversation_id, **message}
                    self._bus.publish(INBOX, "escalation.message", data)

    # helpers ----------------------------------------------------------------------------------------------------

    def _ticket(self, session: Any, ticket_id: str, *, for_update: bool = False) -> EscalationTicket:
        ticket: EscalationTicket | None = session.get_ticket(ticket_id, for_update=for_update)
        if ticket is None:
            raise NotFoundError("Escalation", ticket_id, f"No escalation {ticket_id!r}")
        return ticket

    def _taken(self, ticket: EscalationTicket) -> InvalidStateError:
        if ticket.status == TicketStatus.RESOLVED:
            return InvalidStateError("The ticket is already resolved", key=ticket.ticket_id, status="resolved")
        return InvalidStateError(
            f"The ticket is already claimed by {ticket.assignee}", key=ticket.ticket_id, status=ticket.status.value
        )

    def _summary(self, ticket: EscalationTicket) -> dict[str, Any]:
        with self._store.session() as session:
            customer = session.get_customer(ticket.customer_id) if ticket.customer_id else None
        return self.summary_of(ticket, customer)

    def _announce(self, event: str, ticket: EscalationTicket, *, webhook: bool = False) -> dict[str, Any]:
        summary = self._summary(ticket)
        self._bus.publish(INBOX, event, summary)
        if webhook and self._webhooks is not None:
            self._webhooks.send(event, summary)
        return summary

    def _joined(self, ticket: EscalationTicket, name: str) -> None:
        self._tell_customer(
            self._record(ticket, "agent_joined", {"agent": name, "ticket_id": ticket.ticket_id}, agent=name)
        )

    def _tell_customer(self, event: ConversationEvent) -> dict[str, Any] | None:
        """Publish a stored event to the customer's open chat (``customer_event``); the data sent, if any."""
        live = customer_event(event)
        if live is None:
            return None
        name, data = live
        self._bus.publish(conversation_channel(event.conversation_id), name, data)
        return data

    def _record(
        self,
        ticket: EscalationTicket,
        kind: str,
        payload: dict[str, Any],
        *,
        agent: str | None = None,
        session: Any = None,
    ) -> ConversationEvent:
        """Append one event to the ticket's conversation (in ``session``'s transaction when given)."""
        event = ConversationEvent(
            conversation_id=ticket.conversation_id,
            kind=kind,
            payload=payload,
            created_at=self._clock(),
            customer_id=ticket.customer_id,
        )
        if session is not None:
            event_id = session.append_event(event)
        else:
            with self._store.session(write=True) as own:
                event_id = own.append_event(event)
        if agent is not None:
            log.info("agent_action", action=kind, ticket_id=ticket.ticket_id)
        return event.model_copy(update={"event_id": event_id})
