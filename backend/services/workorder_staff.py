"""Staff side of work orders: queues, detail with history, role-checked transitions, supervisor queue.

Roles (interim tokens now, console logins in issue 8): an agent works orders through their normal
steps; a supervisor also escalates, reopens and closes, and watches the supervisor queue; an admin
may do everything. Opening an order's detail is a view of customer data and is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clock import utcnow
from backend.models import AuditEvent, Ticket
from backend.models_workorders import SupervisorNotification
from backend.services import audit
from backend.services.workorders import ACTIONS, WorkOrderNotFound, get_work_order, transition

AGENT_ACTIONS = frozenset(
    {"dispatch", "acknowledge", "start", "answer", "request_follow_up", "send_back", "withdraw"}
)
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "agent": AGENT_ACTIONS,
    "supervisor": AGENT_ACTIONS | {"escalate", "reopen", "close"},
    "admin": frozenset(ACTIONS),
}


class ActionNotPermitted(PermissionError):
    pass


class NotificationNotFound(LookupError):
    pass


def list_orders(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    sla: str | None = None,
    assignee: str | None = None,
    limit: int = 100,
) -> list[Ticket]:
    """A queue: breached first, then at risk, then by priority and age."""
    query = select(Ticket)
    if status:
        query = query.where(Ticket.status == status)
    if kind:
        query = query.where(Ticket.kind == kind)
    if sla:
        query = query.where((Ticket.contact_sla == sla) | (Ticket.answer_sla == sla))
    if assignee:
        query = query.where(Ticket.assigned_to == assignee)
    query = query.order_by(Ticket.escalation_level.desc(), Ticket.created_at, Ticket.id).limit(limit)
    return list(session.scalars(query))


def open_for_staff(session: Session, ticket_no: str, *, actor: str) -> Ticket:
    ticket = get_work_order(session, ticket_no)
    if ticket is None:
        raise WorkOrderNotFound(ticket_no)
    audit.record(
        session,
        actor=actor,
        action="workorder.view",
        entity_type="work_order",
        entity_id=ticket_no,
        channel="console",
    )
    return ticket


def history(session: Session, ticket_no: str) -> list[AuditEvent]:
    """Every audited step of the order, oldest first (views included)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "work_order", AuditEvent.entity_id == ticket_no)
            .order_by(AuditEvent.id)
        )
    )


def staff_transition(
    session: Session,
    ticket_no: str,
    action: str,
    *,
    role: str,
    actor: str,
    note: str | None = None,
    assignee: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    if action not in ROLE_ACTIONS.get(role, frozenset()):
        raise ActionNotPermitted(f"role {role} may not {action}")
    return transition(
        session, ticket_no, action, actor=actor, channel="console", note=note, assignee=assignee, now=now
    )


def list_notifications(
    session: Session, *, include_acknowledged: bool = False
) -> list[SupervisorNotification]:
    query = select(SupervisorNotification).order_by(SupervisorNotification.id.desc())
    if not include_acknowledged:
        query = query.where(SupervisorNotification.acknowledged_at.is_(None))
    return list(session.scalars(query.limit(200)))


def acknowledge_notification(
    session: Session, notification_id: int, *, actor: str, now: datetime | None = None
) -> SupervisorNotification:
    note = session.get(SupervisorNotification, notification_id)
    if note is None:
        raise NotificationNotFound(notification_id)
    if note.acknowledged_at is None:
        note.acknowledged_at = now or utcnow()
        note.acknowledged_by = actor
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="workorder.notification_ack",
            entity_type="work_order",
            entity_id=note.ticket_no,
            channel="console",
            after={"notification_id": note.id, "reason": note.reason, "deadline": note.deadline},
        )
    return note


def event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "channel": event.channel,
        "before": event.before,
        "after": event.after,
    }
