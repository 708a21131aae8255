"""Repair orders and hazard reports for the actions; crew progress for staff.

- POST /api/v1/repairs: a fault report. A known outage covering the place opens no order.
- POST /api/v1/hazards: an urgent order at the highest priority, flagged for a person at once.
- GET  /api/v1/repairs/{ticket_no}: status with crew times and the arrival-commitment check, for
  the conversation that lodged it or one that verified the order's account.
- GET  /api/v1/repairs?account_no=&conversation_id=: repairs of a verified account.
- POST /api/v1/staff/repairs/{ticket_no}/progress: staff (bearer token of api/staff_auth.py) record
  dispatched / on the way / arrived / fixed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import NOT_VERIFIED_MESSAGE, SessionDep, SettingsDep, require_service_token
from api.routes.outages import MatchOut, match_out
from api.staff_auth import StaffDep
from backend.clock import ensure_utc
from backend.masking import mask_address
from backend.models import Account, Ticket
from backend.services import accounts, repairs, workorders

router = APIRouter(prefix="/api/v1", tags=["repairs"], dependencies=[Depends(require_service_token)])
staff_router = APIRouter(prefix="/api/v1/staff/repairs", tags=["staff: repairs"])

NOT_YOURS_MESSAGE = "该工单不属于本会话或已验证的户号。 Not lodged here and not of a verified account."


class RepairIn(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=40)
    channel: str = Field(min_length=1, max_length=16)
    address: str | None = Field(default=None, max_length=200, description="the customer's words")
    account_no: str | None = Field(
        default=None, max_length=32, description="use this verified account's address"
    )
    fault_type: str = Field(min_length=1, max_length=32, examples=["全户停电"])
    contact_phone: str | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=300)


class HazardIn(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=40)
    channel: str = Field(min_length=1, max_length=16)
    location: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=300)
    contact_phone: str | None = Field(default=None, max_length=20)


class ProgressIn(BaseModel):
    step: Literal["dispatched", "on_the_way", "arrived", "fixed"]
    assignee: str | None = Field(default=None, max_length=64, description="needed for 'dispatched'")
    note: str | None = Field(default=None, max_length=300)


class RepairOut(BaseModel):
    ticket_no: str
    status: str
    status_label: str
    category: str
    priority: str
    hazard: bool
    created_at: datetime
    address_masked: str | None
    area_type: str | None
    arrival_minutes: int | None
    arrival_due_at: datetime | None
    arrival_state: Literal["met", "late", "on_track", "overdue", "unknown"]
    arrived_at: datetime | None
    progress: dict[str, datetime]
    probable_area_fault: bool
    needs_immediate_human: bool


class RepairReportOut(BaseModel):
    outcome: Literal["known_outage", "existing_order", "created"]
    repair: RepairOut | None
    known_outage: MatchOut | None


def repair_out(ticket: Ticket) -> RepairOut:
    detail = repairs.repair_details(ticket)
    check = repairs.arrival_check(ticket)
    progress = {
        key: ensure_utc(datetime.fromisoformat(value))
        for key, value in (detail.get("progress") or {}).items()
    }
    return RepairOut(
        ticket_no=ticket.ticket_no,
        status=ticket.status,
        status_label=workorders.STATE_LABELS.get(ticket.status, ticket.status),
        category=ticket.category,
        priority=ticket.priority,
        hazard=bool(detail.get("hazard")),
        created_at=ensure_utc(ticket.created_at),
        address_masked=mask_address(ticket.address) if ticket.address else None,
        area_type=detail.get("area_type"),
        arrival_minutes=detail.get("arrival_minutes"),
        arrival_due_at=check.due_at,
        arrival_state=check.state,
        arrived_at=check.arrived_at,
        progress=progress,
        probable_area_fault=bool(detail.get("probable_area_fault")),
        needs_immediate_human=bool((ticket.details or {}).get("needs_immediate_human")),
    )


def _verified_account_id(session: Session, ttl: int, account_no: str, conversation_id: str) -> int:
    try:
        canonical = accounts.normalise_account_no(account_no)
    except accounts.InvalidAccountNo as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_VERIFIED_MESSAGE) from error
    if not accounts.is_verified(
        session, conversation_id=conversation_id, account_no=canonical, ttl_minutes=ttl
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_VERIFIED_MESSAGE)
    account = accounts.find_account(session, canonical)
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "account not found")
    return account.id


@router.post("/repairs", response_model=RepairReportOut)
def report_fault(body: RepairIn, session: SessionDep, settings: SettingsDep) -> RepairReportOut:
    try:
        if body.account_no:
            _verified_account_id(
                session, settings.verification_ttl_minutes, body.account_no, body.conversation_id
            )
            place = repairs.place_from_account(session, body.account_no)
        elif body.address:
            place = repairs.place_from_text(body.address)
        else:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "give address or a verified account_no")
        result = repairs.report_fault(
            session,
            place=place,
            fault_type=body.fault_type,
            contact_phone=body.contact_phone,
            description=body.description,
            channel=body.channel,
            actor="customer",
            conversation_id=body.conversation_id,
        )
    except repairs.RepairError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"place_not_understood: {error}") from error
    return RepairReportOut(
        outcome=result.outcome,
        repair=repair_out(result.ticket) if result.ticket is not None else None,
        known_outage=match_out(result.known) if result.known is not None else None,
    )


@router.post("/hazards", response_model=RepairOut, status_code=status.HTTP_201_CREATED)
def report_hazard(body: HazardIn, session: SessionDep) -> RepairOut:
    ticket = repairs.report_hazard(
        session,
        location=body.location,
        description=body.description,
        channel=body.channel,
        actor="customer",
        conversation_id=body.conversation_id,
        contact_phone=body.contact_phone,
    )
    return repair_out(ticket)


@router.get("/repairs/{ticket_no}", response_model=RepairOut)
def get_repair(
    ticket_no: str,
    session: SessionDep,
    settings: SettingsDep,
    conversation_id: Annotated[str, Query(min_length=1, max_length=40)],
) -> RepairOut:
    try:
        ticket = repairs.get_repair(session, ticket_no.strip())
    except repairs.NotARepair as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "repair order not found") from error
    if not _may_see(session, settings.verification_ttl_minutes, ticket, conversation_id):
        # 404 rather than 403 would hide existence; 403 is fine: numbers are not secret, details are.
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_YOURS_MESSAGE)
    return repair_out(ticket)


def _may_see(session: Session, ttl: int, ticket: Ticket, conversation_id: str) -> bool:
    if ticket.conversation_id == conversation_id:
        return True
    if ticket.account_id is None:
        return False
    account = session.get(Account, ticket.account_id)
    return account is not None and accounts.is_verified(
        session, conversation_id=conversation_id, account_no=account.account_no, ttl_minutes=ttl
    )


@router.get("/repairs", response_model=list[RepairOut])
def list_repairs(
    session: SessionDep,
    settings: SettingsDep,
    account_no: Annotated[str, Query(max_length=32)],
    conversation_id: Annotated[str, Query(min_length=1, max_length=40)],
) -> list[RepairOut]:
    account_id = _verified_account_id(session, settings.verification_ttl_minutes, account_no, conversation_id)
    return [repair_out(ticket) for ticket in repairs.repairs_for_account(session, account_id)]


@staff_router.post("/{ticket_no}/progress", response_model=RepairOut)
def record_progress(ticket_no: str, body: ProgressIn, session: SessionDep, staff: StaffDep) -> RepairOut:
    try:
        ticket = repairs.record_progress(
            session,
            ticket_no,
            body.step,
            actor=staff.actor,
            channel="console",
            note=body.note,
            assignee=body.assignee,
        )
    except repairs.NotARepair as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "repair order not found") from error
    except workorders.InvalidTransition as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return repair_out(ticket)
