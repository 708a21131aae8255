"""Work orders (工单) for every kind: one validated state machine, time limits, audit on every step.

Contract (docs/architecture.md, "Work orders"): other capabilities call `create_work_order` and
`transition`; an invalid step raises `InvalidTransition` with a message a person can act on.

States: accepted 受理 → dispatched 派单 → acknowledged 接单 → in_progress 处理中 → answered 已答复
→ follow_up 回访 → closed 办结, plus withdrawn 撤销. Side actions: send_back 退回 (to the previous
handler), reopen 重办 (back to the handler as 接单, on new time limits: contact and answer again),
escalate 升级 (keeps the state, raises level and priority), withdraw 撤销 (before the answer).

Capabilities that add kind-specific detail to what a customer is told (repairs: crew on the way,
arrived, fixed) register a describer with `register_describer(kind, fn)`; `describe_work_order`
merges its dict into the customer view under "extra".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from backend.clock import utcnow
from backend.masking import mask_account_no, mask_phone
from backend.models import Account, Ticket
from backend.models_workorders import SupervisorNotification
from backend.services import audit
from backend.services.numbering import issue_number
from backend.sla import compute_due_times

KINDS: dict[str, str] = {
    "repair": "故障报修",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "意见建议",
    "praise": "表扬",
    "service_request": "服务申请",
}
COMPLAINT_CLASSES = ("服务投诉", "营业投诉", "停送电投诉", "供电质量投诉", "电网建设投诉")

STATE_LABELS: dict[str, str] = {
    "accepted": "受理",
    "dispatched": "派单",
    "acknowledged": "接单",
    "in_progress": "处理中",
    "answered": "已答复",
    "follow_up": "回访",
    "closed": "办结",
    "withdrawn": "撤销",
}
ACTION_LABELS: dict[str, str] = {
    "dispatch": "派单",
    "acknowledge": "接单",
    "start": "处理",
    "answer": "答复",
    "request_follow_up": "回访",
    "close": "办结",
    "send_back": "退回",
    "reopen": "重办",
    "escalate": "升级",
    "withdraw": "撤销",
}
OPEN_STATES = ("accepted", "dispatched", "acknowledged", "in_progress", "answered", "follow_up")
FINAL_STATES = ("closed", "withdrawn")
# Before the handler has answered, the customer may still withdraw; afterwards the answer stands.
WITHDRAWABLE = ("accepted", "dispatched", "acknowledged", "in_progress")

# (action, from state) -> to state. Anything not listed is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("dispatch", "accepted"): "dispatched",
    ("dispatch", "dispatched"): "dispatched",  # 转派: to another unit before it is taken
    ("acknowledge", "dispatched"): "acknowledged",
    ("start", "acknowledged"): "in_progress",
    ("answer", "in_progress"): "answered",
    ("request_follow_up", "answered"): "follow_up",
    ("close", "answered"): "closed",
    ("close", "follow_up"): "closed",
    # 退回: a unit returns an order it cannot handle to whoever dispatched it; a reviewer returns an
    # inadequate answer to the handler.
    ("send_back", "dispatched"): "accepted",
    ("send_back", "acknowledged"): "accepted",
    ("send_back", "in_progress"): "accepted",
    ("send_back", "answered"): "in_progress",
    # 重办 goes back to the handler, who must contact the customer again (start) and answer again.
    ("reopen", "answered"): "acknowledged",
    ("reopen", "follow_up"): "acknowledged",
    ("reopen", "closed"): "acknowledged",
    **{("escalate", state): state for state in OPEN_STATES},
    **{("withdraw", state): "withdrawn" for state in WITHDRAWABLE},
}
ACTIONS = tuple(ACTION_LABELS)

PRIORITIES = ("low", "normal", "high", "urgent")
RATINGS = ("非常满意", "满意", "一般", "不满意", "非常不满意")
UNSATISFIED = frozenset({"不满意", "非常不满意"})


class WorkOrderError(Exception):
    """Base of the errors this module raises."""


class InvalidTransition(WorkOrderError):
    def __init__(self, ticket_no: str, action: str, status: str, reason: str | None = None) -> None:
        label = STATE_LABELS.get(status, status)
        action_label = ACTION_LABELS.get(action, action)
        message = reason or f"工单{ticket_no}当前状态为“{label}”，不能执行“{action_label}”"
        super().__init__(f"{message} (action {action!r} not allowed from status {status!r})")
        self.ticket_no = ticket_no
        self.action = action
        self.status = status


class WorkOrderNotFound(WorkOrderError, LookupError):
    pass


class InvalidWorkOrder(WorkOrderError, ValueError):
    """Bad input to create_work_order or rate_work_order."""


def allowed_actions(status: str) -> list[str]:
    return [action for (action, source) in TRANSITIONS if source == status]


def raise_priority(priority: str, steps: int = 1) -> str:
    index = PRIORITIES.index(priority) if priority in PRIORITIES else PRIORITIES.index("normal")
    return PRIORITIES[min(index + steps, len(PRIORITIES) - 1)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def snapshot(ticket: Ticket) -> dict[str, Any]:
    """The values an audit event records before and after a change (personal data masked)."""
    return {
        "status": ticket.status,
        "assigned_to": ticket.assigned_to,
        "priority": ticket.priority,
        "escalation_level": ticket.escalation_level,
        "reopen_count": ticket.reopen_count,
        "contact_due_at": _iso(ticket.contact_due_at),
        "answer_due_at": _iso(ticket.answer_due_at),
        "contact_sla": ticket.contact_sla,
        "answer_sla": ticket.answer_sla,
        "answer": ticket.answer,
        "rating": ticket.rating,
    }


def _area_type(session: Session, account_id: int | None, details: dict[str, Any] | None) -> str | None:
    # Repairs (issue 5) keep their facts under details["repair"].
    nested = (details or {}).get("repair") if details else None
    for source in (details or {}, nested if isinstance(nested, dict) else {}):
        if source.get("area_type"):
            return str(source["area_type"])
    if account_id is None:
        return None
    return session.scalar(select(Account.area_type).where(Account.id == account_id))


def set_due_times(session: Session, ticket: Ticket, start: datetime) -> None:
    """Contact and answer due times from config/sla.yml for this order's kind, channel, category, area."""
    due = compute_due_times(
        ticket.kind,
        channel=ticket.channel,
        category=ticket.category,
        start=start,
        area_type=_area_type(session, ticket.account_id, ticket.details),
    )
    ticket.contact_due_at = due.contact_due_at
    ticket.answer_due_at = due.answer_due_at
    ticket.contact_sla = "ok" if due.contact_due_at else "none"
    ticket.answer_sla = "ok" if due.answer_due_at else "none"


def create_work_order(
    session: Session,
    *,
    kind: str,
    category: str,
    summary: str,
    channel: str,
    actor: str,
    account_id: int | None = None,
    conversation_id: str | None = None,
    priority: str = "normal",
    contact_phone: str | None = None,
    address: str | None = None,
    details: dict[str, Any] | None = None,
    related_ticket_no: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Accept (受理) a new order: number issued, time limits set, `workorder.create` audited."""
    if kind not in KINDS:
        raise InvalidWorkOrder(f"unknown work-order kind {kind!r}; one of {', '.join(KINDS)}")
    if priority not in PRIORITIES:
        raise InvalidWorkOrder(f"unknown priority {priority!r}")
    if not summary.strip():
        raise InvalidWorkOrder("a work order needs a summary of what happened")
    if related_ticket_no is not None and get_work_order(session, related_ticket_no) is None:
        raise InvalidWorkOrder(f"related work order {related_ticket_no} does not exist")
    at = now or utcnow()
    ticket = Ticket(
        ticket_no=issue_number(session, at),
        kind=kind,
        category=category,
        account_id=account_id,
        conversation_id=conversation_id,
        summary=summary.strip(),
        status="accepted",
        assigned_to=None,
        priority=priority,
        channel=channel,
        contact_phone=contact_phone,
        address=address,
        details=dict(details) if details else None,
        related_ticket_no=related_ticket_no,
        escalation_level=0,
        reopen_count=0,
        created_at=at,
        updated_at=at,
    )
    set_due_times(session, ticket, at)
    session.add(ticket)
    session.flush()
    account_no = (
        session.scalar(select(Account.account_no).where(Account.id == account_id)) if account_id else None
    )
    audit.record(
        session,
        actor=actor,
        action="workorder.create",
        entity_type="work_order",
        entity_id=ticket.ticket_no,
        channel=channel,
        after={
            **snapshot(ticket),
            "kind": kind,
            "category": category,
            "account_masked": mask_account_no(account_no) if account_no else None,
            "contact_phone_masked": mask_phone(contact_phone) if contact_phone else None,
            "related_ticket_no": related_ticket_no,
            "conversation_id": conversation_id,
        },
    )
    return ticket


def get_work_order(session: Session, ticket_no: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.ticket_no == ticket_no)).first()


def list_for_account(session: Session, account_id: int) -> list[Ticket]:
    """Newest first."""
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.account_id == account_id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        )
    )


def list_for_customer(
    session: Session, *, account_ids: list[int], conversation_id: str | None = None
) -> list[Ticket]:
    """Orders of the given (verified) accounts plus those lodged in this conversation, newest first."""
    conditions: list[ColumnElement[bool]] = [Ticket.account_id.in_(account_ids)] if account_ids else []
    if conversation_id:
        conditions.append(Ticket.conversation_id == conversation_id)
    if not conditions:
        return []
    return list(
        session.scalars(
            select(Ticket).where(or_(*conditions)).order_by(Ticket.created_at.desc(), Ticket.id.desc())
        )
    )


def _lock_ticket(session: Session, ticket_no: str) -> Ticket:
    """Read the order for update, so two writers (agent and scheduler) never interleave on it."""
    query = select(Ticket).where(Ticket.ticket_no == ticket_no)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    ticket = session.scalars(query.execution_options(populate_existing=True)).first()
    if ticket is None:
        raise WorkOrderNotFound(ticket_no)
    return ticket


def _met_or_breached(due: datetime | None, at: datetime, current: str) -> str:
    if due is None:
        return "none"
    return "breached" if at > due or current == "breached" else "met"


def transition(
    session: Session,
    ticket_no: str,
    action: str,
    *,
    actor: str,
    channel: str,
    note: str | None = None,
    assignee: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Apply one action; raises InvalidTransition when the state machine does not allow it."""
    if action not in ACTION_LABELS:
        raise InvalidTransition(ticket_no, action, "?", f"未知的操作“{action}”")
    ticket = _lock_ticket(session, ticket_no)
    target = TRANSITIONS.get((action, ticket.status))
    if target is None:
        raise InvalidTransition(ticket_no, action, ticket.status)
    if action == "dispatch" and not assignee:
        raise InvalidTransition(ticket_no, action, ticket.status, "派单需要指定处理单位或处理人")
    if action == "answer" and not (note and note.strip()):
        raise InvalidTransition(ticket_no, action, ticket.status, "答复需要填写答复内容")
    if action in ("send_back", "reopen") and not (note and note.strip()):
        reason = "退回需要说明原因" if action == "send_back" else "重办需要说明原因"
        raise InvalidTransition(ticket_no, action, ticket.status, reason)

    at = now or utcnow()
    before = snapshot(ticket)
    source = ticket.status
    _apply_side_effects(session, ticket, action, source, target, note=note, assignee=assignee, at=at)
    ticket.status = target
    ticket.updated_at = at
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"workorder.{action}",
        entity_type="work_order",
        entity_id=ticket.ticket_no,
        channel=channel,
        before=before,
        after={**snapshot(ticket), "note": note},
    )
    return ticket


def _apply_side_effects(
    session: Session,
    ticket: Ticket,
    action: str,
    source: str,
    target: str,
    *,
    note: str | None,
    assignee: str | None,
    at: datetime,
) -> None:
    if action == "dispatch" or (action in ("acknowledge", "escalate") and assignee):
        if assignee != ticket.assigned_to:
            ticket.previous_assignee, ticket.assigned_to = ticket.assigned_to, assignee
    elif action == "start":
        # 处理中 begins with contacting the customer: the contact limit is met (or missed) now.
        ticket.contacted_at = ticket.contacted_at or at
        ticket.contact_sla = _met_or_breached(ticket.contact_due_at, at, ticket.contact_sla)
    elif action == "answer":
        ticket.answer = (note or "").strip()
        ticket.answered_at = at
        ticket.answer_sla = _met_or_breached(ticket.answer_due_at, at, ticket.answer_sla)
    elif action in ("close", "withdraw"):
        ticket.closed_at = at
    elif action == "send_back" and target == "accepted":
        ticket.assigned_to, ticket.previous_assignee = ticket.previous_assignee, ticket.assigned_to
    elif action == "reopen":
        # 重办 starts a new cycle: the customer is contacted again and answered again, on new limits.
        ticket.reopen_count = (ticket.reopen_count or 0) + 1
        ticket.answer = None
        ticket.answered_at = None
        ticket.contacted_at = None
        ticket.closed_at = None
        ticket.priority = (
            raise_priority(ticket.priority) if ticket.priority in ("low", "normal") else ticket.priority
        )
        ticket.details = {**(ticket.details or {}), "reopened_at": at.isoformat()}
        set_due_times(session, ticket, at)
    if action == "escalate":
        ticket.escalation_level = (ticket.escalation_level or 0) + 1
        ticket.priority = raise_priority(ticket.priority)


def notify_supervisor(
    session: Session, ticket: Ticket, *, reason: str, deadline: str, message: str, now: datetime | None = None
) -> SupervisorNotification | None:
    """Queue a note for supervisors unless the same one (order, reason, deadline, cycle) exists."""
    cycle = ticket.reopen_count or 0
    existing = session.scalar(
        select(SupervisorNotification.id).where(
            SupervisorNotification.ticket_id == ticket.id,
            SupervisorNotification.reason == reason,
            SupervisorNotification.deadline == deadline,
            SupervisorNotification.cycle == cycle,
        )
    )
    if existing is not None:
        return None
    note = SupervisorNotification(
        ticket_id=ticket.id,
        ticket_no=ticket.ticket_no,
        reason=reason,
        deadline=deadline,
        cycle=cycle,
        message=message,
        created_at=now or utcnow(),
    )
    session.add(note)
    session.flush()
    return note


def rate_work_order(
    session: Session,
    ticket_no: str,
    rating: str,
    *,
    actor: str,
    channel: str,
    comment: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """回访 result. Satisfied or neutral closes the order; 不满意/非常不满意 reopens it (重办) and
    puts it in front of a supervisor."""
    if rating not in RATINGS:
        raise InvalidWorkOrder(f"unknown rating {rating!r}; one of {', '.join(RATINGS)}")
    at = now or utcnow()
    ticket = _lock_ticket(session, ticket_no)
    if ticket.status not in ("answered", "follow_up"):
        raise InvalidTransition(ticket_no, "rate", ticket.status, "只有已答复、待回访的工单可以评价")
    before = snapshot(ticket)
    ticket.rating = rating
    ticket.rated_at = at
    ticket.details = {**(ticket.details or {}), "rating_comment": comment} if comment else ticket.details
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="workorder.rate",
        entity_type="work_order",
        entity_id=ticket_no,
        channel=channel,
        before=before,
        after={**snapshot(ticket), "comment": comment},
    )
    if rating in UNSATISFIED:
        ticket = transition(
            session, ticket_no, "reopen", actor=actor, channel=channel, note=f"回访{rating}，重办", now=at
        )
        notify_supervisor(
            session,
            ticket,
            reason="unsatisfied",
            deadline="none",
            message=f"工单{ticket_no}回访结果“{rating}”，已重办，请督办。",
            now=at,
        )
        return ticket
    return transition(session, ticket_no, "close", actor=actor, channel=channel, note=f"回访{rating}", now=at)


def next_deadline(ticket: Ticket) -> tuple[str, datetime] | None:
    """The limit the handler must meet next: contacting the customer, then answering."""
    if ticket.status in FINAL_STATES:
        return None
    if (
        ticket.contacted_at is None
        and ticket.contact_due_at is not None
        and ticket.status
        not in (
            "answered",
            "follow_up",
        )
    ):
        return ("contact", ticket.contact_due_at)
    if ticket.answered_at is None and ticket.answer_due_at is not None:
        return ("answer", ticket.answer_due_at)
    return None


# ---------------------------------------------------------------- customer view and describer hooks

Describer = Callable[[Session, Ticket], dict[str, Any]]
_DESCRIBERS: dict[str, Describer] = {}


def register_describer(kind: str, describer: Describer) -> None:
    """Let a capability add kind-specific facts (e.g. repair crew progress) to the customer view."""
    if kind not in KINDS:
        raise InvalidWorkOrder(f"unknown work-order kind {kind!r}")
    _DESCRIBERS[kind] = describer


@dataclass(frozen=True)
class WorkOrderView:
    ticket_no: str
    kind: str
    kind_label: str
    category: str
    summary: str
    status: str
    status_label: str
    handler: str | None
    priority: str
    created_at: datetime
    contact_due_at: datetime | None
    answer_due_at: datetime | None
    next_deadline_kind: str | None
    next_deadline_at: datetime | None
    answer: str | None
    answered_at: datetime | None
    rating: str | None
    related_ticket_no: str | None
    reopen_count: int
    escalation_level: int
    sla_state: str
    extra: dict[str, Any]


def sla_state(ticket: Ticket) -> str:
    """Worst of the contact and answer limits, for queues: breached > at_risk > ok."""
    states = {ticket.contact_sla, ticket.answer_sla}
    for state in ("breached", "at_risk"):
        if state in states:
            return state
    return "ok"


def describe_work_order(session: Session, ticket: Ticket) -> WorkOrderView:
    deadline = next_deadline(ticket)
    describer = _DESCRIBERS.get(ticket.kind)
    return WorkOrderView(
        ticket_no=ticket.ticket_no,
        kind=ticket.kind,
        kind_label=KINDS.get(ticket.kind, ticket.kind),
        category=ticket.category,
        summary=ticket.summary,
        status=ticket.status,
        status_label=STATE_LABELS.get(ticket.status, ticket.status),
        handler=ticket.assigned_to,
        priority=ticket.priority,
        created_at=ticket.created_at,
        contact_due_at=ticket.contact_due_at,
        answer_due_at=ticket.answer_due_at,
        next_deadline_kind=deadline[0] if deadline else None,
        next_deadline_at=deadline[1] if deadline else None,
        answer=ticket.answer,
        answered_at=ticket.answered_at,
        rating=ticket.rating,
        related_ticket_no=ticket.related_ticket_no,
        reopen_count=ticket.reopen_count or 0,
        escalation_level=ticket.escalation_level or 0,
        sla_state=sla_state(ticket),
        extra=describer(session, ticket) if describer else {},
    )
