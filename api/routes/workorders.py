"""Work orders over HTTP.

Customers (through the Rasa actions, service token), gated like the balance endpoint:
- `POST /api/v1/workorders`                      lodge a complaint, report, suggestion or praise
- `GET  /api/v1/workorders?conversation_id=&account_no=`   the customer's own orders
- `GET  /api/v1/workorders/{ticket_no}?conversation_id=`   one own order (404 if not visible)
- `POST /api/v1/workorders/{ticket_no}/rating`   回访 rating (unsatisfied reopens the order)

Staff (staff token, roles agent < supervisor < admin; api/staff_auth.py):
- `GET  /api/v1/staff/workorders`, `GET /api/v1/staff/workorders/{ticket_no}` (with history)
- `POST /api/v1/staff/workorders/{ticket_no}/transitions`
- `GET  /api/v1/staff/notifications`, `POST /api/v1/staff/notifications/{id}/ack` (supervisor+)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from api.deps import NOT_VERIFIED_MESSAGE, SessionDep, SettingsDep, require_service_token
from api.staff_auth import StaffDep, require_role
from backend.masking import mask_account_no, mask_phone
from backend.models import Account, Ticket
from backend.services import customer_workorders, workorder_staff, workorders
from backend.services.accounts import NotVerified
from backend.sla import SlaConfigError, default_book

customer_router = APIRouter(
    prefix="/api/v1/workorders", tags=["workorders"], dependencies=[Depends(require_service_token)]
)
staff_router = APIRouter(prefix="/api/v1/staff", tags=["staff: workorders"])

NOT_FOUND_MESSAGE = "未找到该工单。 Work order not found."
CustomerKind = Literal["complaint", "report", "suggestion", "praise", "service_request"]


class LodgeRequest(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=40)
    channel: str = Field(min_length=1, max_length=16)
    kind: CustomerKind
    category: str = Field(min_length=1, max_length=64)
    summary: str = Field(min_length=1, max_length=2000)
    account_no: str | None = Field(default=None, max_length=64)
    contact_phone: str | None = Field(default=None, max_length=20)
    contact_time: str | None = Field(default=None, max_length=64)
    related_ticket_no: str | None = Field(default=None, max_length=32)
    details: dict[str, Any] | None = None


class WorkOrderOut(BaseModel):
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
    # False while the time limits come from an unconfirmed source (config/sla.yml): the bot then
    # adds "以当地营业厅公布为准" to any time it quotes.
    limits_confirmed: bool
    account_masked: str | None
    extra: dict[str, Any]


class WorkOrderList(BaseModel):
    orders: list[WorkOrderOut]


class RatingRequest(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=40)
    channel: str = Field(min_length=1, max_length=16)
    rating: Literal["非常满意", "满意", "一般", "不满意", "非常不满意"]
    comment: str | None = Field(default=None, max_length=500)


def _account_masked(session: SessionDep, ticket: Ticket) -> str | None:
    if ticket.account_id is None:
        return None
    number = session.get(Account, ticket.account_id)
    return mask_account_no(number.account_no) if number else None


def _out(session: SessionDep, ticket: Ticket) -> WorkOrderOut:
    view = workorders.describe_work_order(session, ticket)
    try:
        rule = default_book().rule_for(ticket.kind, channel=ticket.channel, category=ticket.category)
        confirmed = rule.confirmed
    except SlaConfigError:
        confirmed = False  # an order of a kind without configured limits (e.g. imported data)
    return WorkOrderOut(
        **{name: getattr(view, name) for name in WorkOrderOut.model_fields if hasattr(view, name)},
        limits_confirmed=confirmed,
        account_masked=_account_masked(session, ticket),
    )


@customer_router.post("", response_model=WorkOrderOut, status_code=status.HTTP_201_CREATED)
def lodge(body: LodgeRequest, session: SessionDep, settings: SettingsDep) -> WorkOrderOut:
    """Naming an account needs this conversation's verification of it (403 otherwise)."""
    try:
        ticket = customer_workorders.lodge(
            session,
            conversation_id=body.conversation_id,
            channel=body.channel,
            kind=body.kind,
            category=body.category,
            summary=body.summary,
            account_no=body.account_no,
            contact_phone=body.contact_phone,
            contact_time=body.contact_time,
            related_ticket_no=body.related_ticket_no,
            details=body.details,
            ttl_minutes=settings.verification_ttl_minutes,
        )
    except NotVerified as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_VERIFIED_MESSAGE) from error
    except workorders.WorkOrderNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE) from error
    except workorders.InvalidWorkOrder as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from error
    return _out(session, ticket)


@customer_router.get("", response_model=WorkOrderList)
def own_orders(
    session: SessionDep,
    settings: SettingsDep,
    conversation_id: str = Query(min_length=1, max_length=40),
    account_no: str | None = Query(default=None, max_length=64),
) -> WorkOrderList:
    try:
        tickets = customer_workorders.customer_orders(
            session,
            conversation_id=conversation_id,
            account_no=account_no,
            ttl_minutes=settings.verification_ttl_minutes,
        )
    except NotVerified as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_VERIFIED_MESSAGE) from error
    return WorkOrderList(orders=[_out(session, ticket) for ticket in tickets])


@customer_router.get("/{ticket_no}", response_model=WorkOrderOut)
def own_order(
    ticket_no: str,
    session: SessionDep,
    settings: SettingsDep,
    conversation_id: str = Query(min_length=1, max_length=40),
) -> WorkOrderOut:
    try:
        ticket = customer_workorders.customer_order(
            session,
            conversation_id=conversation_id,
            ticket_no=ticket_no,
            ttl_minutes=settings.verification_ttl_minutes,
        )
    except workorders.WorkOrderNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE) from error
    return _out(session, ticket)


@customer_router.post("/{ticket_no}/rating", response_model=WorkOrderOut)
def rate(ticket_no: str, body: RatingRequest, session: SessionDep, settings: SettingsDep) -> WorkOrderOut:
    try:
        ticket = customer_workorders.rate(
            session,
            conversation_id=body.conversation_id,
            channel=body.channel,
            ticket_no=ticket_no,
            rating=body.rating,
            comment=body.comment,
            ttl_minutes=settings.verification_ttl_minutes,
        )
    except workorders.WorkOrderNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE) from error
    except workorders.InvalidTransition as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return _out(session, ticket)


# ---------------------------------------------------------------- staff


class StaffOrderOut(WorkOrderOut):
    contact_phone_masked: str | None
    contact_phone: str | None  # only in the detail view, which is audited
    channel: str | None
    allowed_actions: list[str]
    history: list[dict[str, Any]] = []


class StaffOrderList(BaseModel):
    orders: list[StaffOrderOut]


class TransitionRequest(BaseModel):
    action: str = Field(min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=2000)
    assignee: str | None = Field(default=None, max_length=64)


class NotificationOut(BaseModel):
    id: int
    ticket_no: str
    reason: str
    deadline: str
    message: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class NotificationList(BaseModel):
    notifications: list[NotificationOut]


def _staff_out(session: SessionDep, ticket: Ticket, role: str, *, detail: bool) -> StaffOrderOut:
    base = _out(session, ticket)
    permitted = workorder_staff.ROLE_ACTIONS.get(role, frozenset())
    return StaffOrderOut(
        **base.model_dump(),
        contact_phone_masked=mask_phone(ticket.contact_phone) if ticket.contact_phone else None,
        contact_phone=ticket.contact_phone if detail else None,
        channel=ticket.channel,
        allowed_actions=[a for a in workorders.allowed_actions(ticket.status) if a in permitted],
        history=[workorder_staff.event_json(e) for e in workorder_staff.history(session, ticket.ticket_no)]
        if detail
        else [],
    )


@staff_router.get("/workorders", response_model=StaffOrderList)
def staff_list(
    session: SessionDep,
    staff: StaffDep,
    status_filter: str | None = Query(default=None, alias="status"),
    kind: str | None = None,
    sla: Literal["ok", "at_risk", "breached"] | None = None,
    assignee: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=500),
) -> StaffOrderList:
    tickets = workorder_staff.list_orders(
        session, status=status_filter, kind=kind, sla=sla, assignee=assignee, limit=limit
    )
    return StaffOrderList(orders=[_staff_out(session, t, staff.role, detail=False) for t in tickets])


@staff_router.get("/workorders/{ticket_no}", response_model=StaffOrderOut)
def staff_detail(ticket_no: str, session: SessionDep, staff: StaffDep) -> StaffOrderOut:
    try:
        ticket = workorder_staff.open_for_staff(session, ticket_no, actor=staff.actor)
    except workorders.WorkOrderNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE) from error
    return _staff_out(session, ticket, staff.role, detail=True)


@staff_router.post("/workorders/{ticket_no}/transitions", response_model=StaffOrderOut)
def staff_transition(
    ticket_no: str, body: TransitionRequest, session: SessionDep, staff: StaffDep
) -> StaffOrderOut:
    try:
        ticket = workorder_staff.staff_transition(
            session,
            ticket_no,
            body.action,
            role=staff.role,
            actor=staff.actor,
            note=body.note,
            assignee=body.assignee,
        )
    except workorder_staff.ActionNotPermitted as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from error
    except workorders.WorkOrderNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE) from error
    except workorders.InvalidTransition as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return _staff_out(session, ticket, staff.role, detail=False)


@staff_router.get("/notifications", response_model=NotificationList)
def notifications(
    session: SessionDep, staff: StaffDep, include_acknowledged: bool = False
) -> NotificationList:
    require_role(staff, "supervisor")
    rows = workorder_staff.list_notifications(session, include_acknowledged=include_acknowledged)
    return NotificationList(
        notifications=[NotificationOut.model_validate(r, from_attributes=True) for r in rows]
    )


@staff_router.post("/notifications/{notification_id}/ack", response_model=NotificationOut)
def acknowledge(notification_id: int, session: SessionDep, staff: StaffDep) -> NotificationOut:
    require_role(staff, "supervisor")
    try:
        note = workorder_staff.acknowledge_notification(session, notification_id, actor=staff.actor)
    except workorder_staff.NotificationNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "notification not found") from error
    return NotificationOut.model_validate(note, from_attributes=True)
