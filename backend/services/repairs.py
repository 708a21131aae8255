"""Fault repairs and hazards on top of the work-order service (backend/services/workorders.py).

A repair order is a work order of kind "repair". What is specific to repairs lives in the order's
`details["repair"]`: the place (town, village, group), the area type and the committed arrival
time (config/commitments.yml, 十项承诺 item 3), whether the order belongs to a probable area
fault, and the crew's progress (dispatched / on the way / arrived / fixed) with times. Crew
progress uses the ordinary work-order transitions, so the ticket state machine stays in one place.

Known outages come first: a report from a place that a planned outage or an active fault
already covers opens no order (the customer is told the outage and its restoration instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.address import ParsedAddress, parse_address
from backend.clock import ensure_utc, utcnow
from backend.commitments import Commitments, load_commitments
from backend.models import Account, Ticket
from backend.services import audit, workorders
from backend.services.accounts import InvalidAccountNo, normalise_account_no
from backend.services.outages import OutageMatch, find_covering

REPAIR_KIND = "repair"
HAZARD_CATEGORY = "险情"
HAZARD_PRIORITY = "urgent"
AREA_FAULT_PRIORITY = "high"
OPEN_STATUSES = frozenset({"accepted", "dispatched", "acknowledged", "in_progress"})

# Crew progress -> the work-order action that records it (docs/architecture.md, work orders).
ProgressStep = Literal["dispatched", "on_the_way", "arrived", "fixed"]
PROGRESS_ACTIONS: dict[str, str] = {
    "dispatched": "dispatch",
    "on_the_way": "acknowledge",
    "arrived": "start",
    "fixed": "answer",
}
PROGRESS_LABELS: dict[str, str] = {
    "dispatched": "已派单",
    "on_the_way": "抢修人员已出发",
    "arrived": "抢修人员已到达现场",
    "fixed": "已修复",
}


class RepairError(ValueError):
    """The report cannot be turned into an order (no usable place, unknown progress step)."""


class NotARepair(LookupError):
    pass


@dataclass(frozen=True)
class Place:
    text: str
    parsed: ParsedAddress
    area_type: str | None
    account_id: int | None = None


@dataclass(frozen=True)
class RepairOutcome:
    """Exactly one of: a known outage covers the place; an open order already exists; a new order."""

    outcome: Literal["known_outage", "existing_order", "created"]
    ticket: Ticket | None = None
    known: OutageMatch | None = None


def place_from_account(session: Session, account_no: str) -> Place:
    try:
        canonical = normalise_account_no(account_no)
    except InvalidAccountNo as error:
        raise RepairError("invalid account number") from error
    account = session.scalars(select(Account).where(Account.account_no == canonical)).first()
    if account is None:
        raise RepairError("unknown account")
    parsed = parse_address(account.address)
    # The account's recorded area type is authoritative (a 机井 account is remote in a rural town).
    return Place(account.address, parsed, account.area_type, account.id)


def place_from_text(text: str) -> Place:
    parsed = parse_address(text)
    if parsed.town is None:
        raise RepairError("address outside the service area or not understood")
    return Place(text, parsed, parsed.area_type)


def arrival_due(created_at: datetime, area_type: str | None, commitments: Commitments) -> datetime:
    return ensure_utc(created_at) + timedelta(minutes=commitments.arrival_for(area_type))


def repair_details(ticket: Ticket) -> dict[str, Any]:
    details = ticket.details or {}
    repair = details.get("repair")
    return dict(repair) if isinstance(repair, dict) else {}


def _set_repair_details(ticket: Ticket, repair: dict[str, Any]) -> None:
    # A new dict, so SQLAlchemy sees the JSON column change.
    ticket.details = {**(ticket.details or {}), "repair": repair}


def _recent_repairs(session: Session, since: datetime) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket).where(Ticket.kind == REPAIR_KIND, Ticket.created_at >= since).order_by(Ticket.id)
        ).all()
    )


def _open_order_for(
    session: Session, place: Place, conversation_id: str | None, now: datetime
) -> Ticket | None:
    """An open repair of the same reporter (conversation or account) at the same place today."""
    for ticket in _recent_repairs(session, now - timedelta(hours=24)):
        repair = repair_details(ticket)
        if ticket.status not in OPEN_STATUSES or repair.get("hazard"):
            continue
        same_reporter = (conversation_id is not None and ticket.conversation_id == conversation_id) or (
            place.account_id is not None and ticket.account_id == place.account_id
        )
        same_spot = repair.get("town") == place.parsed.town and repair.get("village") == place.parsed.village
        if same_reporter and same_spot:
            return ticket
    return None


def _group_area_fault(
    session: Session, ticket: Ticket, commitments: Commitments, actor: str, channel: str, now: datetime
) -> None:
    """Flag every open report from the same village within the window once there are enough."""
    repair = repair_details(ticket)
    if not repair.get("village"):
        return
    since = now - timedelta(minutes=commitments.grouping_window_minutes)
    group = [
        other
        for other in _recent_repairs(session, since)
        if other.status in OPEN_STATUSES
        and not repair_details(other).get("hazard")
        and repair_details(other).get("town") == repair["town"]
        and repair_details(other).get("village") == repair["village"]
    ]
    if len(group) < commitments.grouping_min_reports:
        return
    numbers = [member.ticket_no for member in group]
    for member in group:
        before = repair_details(member)
        if before.get("probable_area_fault") and before.get("area_fault_group") == numbers:
            continue
        _set_repair_details(member, {**before, "probable_area_fault": True, "area_fault_group": numbers})
        if member.priority == "normal":
            member.priority = AREA_FAULT_PRIORITY
        audit.record(
            session,
            actor=actor,
            action="repair.group_area_fault",
            entity_type="ticket",
            entity_id=member.ticket_no,
            channel=channel,
            before={"probable_area_fault": bool(before.get("probable_area_fault"))},
            after={"probable_area_fault": True, "area_fault_group": numbers, "priority": member.priority},
        )
    session.flush()


def report_fault(
    session: Session,
    *,
    place: Place,
    fault_type: str,
    contact_phone: str | None,
    description: str | None,
    channel: str,
    actor: str,
    conversation_id: str | None = None,
    now: datetime | None = None,
    commitments: Commitments | None = None,
) -> RepairOutcome:
    """Known outage -> no order; same reporter's open order -> that order; else a new repair order."""
    now = now or utcnow()
    commitments = commitments or load_commitments()
    known = [match for match in find_covering(session, place.parsed, now=now) if match.match == "covered"]
    if known:
        return RepairOutcome("known_outage", known=known[0])
    existing = _open_order_for(session, place, conversation_id, now)
    if existing is not None:
        return RepairOutcome("existing_order", ticket=existing)

    minutes = commitments.arrival_for(place.area_type)
    due = ensure_utc(now) + timedelta(minutes=minutes)
    parsed = place.parsed
    summary = f"{fault_type}：{(description or '').strip() or '客户报修'}"
    ticket = workorders.create_work_order(
        session,
        kind=REPAIR_KIND,
        category=fault_type,
        summary=summary[:500],
        channel=channel,
        actor=actor,
        account_id=place.account_id,
        conversation_id=conversation_id,
        contact_phone=contact_phone,
        address=place.text,
        details={
            # Top level too: the work-order service sets its arrival limit from it (config/sla.yml).
            "area_type": place.area_type,
            "repair": {
                "fault_type": fault_type,
                "description": description,
                "town": parsed.town,
                "village": parsed.village,
                "group": parsed.group,
                "area_type": place.area_type,
                "arrival_minutes": minutes,
                "arrival_due_at": due.isoformat(),
                "commitment_source": commitments.source,
                "probable_area_fault": False,
                "progress": {},
            },
        },
        now=now,
    )
    _group_area_fault(session, ticket, commitments, actor, channel, now)
    return RepairOutcome("created", ticket=ticket)


def report_hazard(
    session: Session,
    *,
    location: str,
    description: str | None,
    channel: str,
    actor: str,
    conversation_id: str | None = None,
    contact_phone: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """An urgent order at the highest priority, flagged for immediate human attention.

    Never refused for an unclear place: the location text goes to the dispatcher as given. It is
    deliberately not parsed here: the first parse in a process builds the address pipeline
    (a second or more under load), and nothing may slow a hazard report down.
    """
    now = now or utcnow()
    ticket = workorders.create_work_order(
        session,
        kind=REPAIR_KIND,
        category=HAZARD_CATEGORY,
        summary=f"险情：{(description or '').strip() or '客户报告危险情况'}（位置：{location.strip()}）"[
            :500
        ],
        channel=channel,
        actor=actor,
        conversation_id=conversation_id,
        priority=HAZARD_PRIORITY,
        contact_phone=contact_phone,
        address=location.strip(),
        details={
            "repair": {
                "hazard": True,
                "description": description,
                "location": location.strip(),
                "progress": {},
            },
            "needs_immediate_human": True,
        },
        now=now,
    )
    # The supervisor queue is what a person on duty watches: a hazard goes there at once.
    workorders.notify_supervisor(
        session,
        ticket,
        reason="hazard",
        deadline="immediate",
        message=f"险情工单{ticket.ticket_no}：{ticket.summary}。请立即安排人员处置并回电客户。",
        now=now,
    )
    return ticket


def get_repair(session: Session, ticket_no: str) -> Ticket:
    ticket = workorders.get_work_order(session, ticket_no)
    if ticket is None or ticket.kind != REPAIR_KIND:
        raise NotARepair(ticket_no)
    return ticket


def record_progress(
    session: Session,
    ticket_no: str,
    step: str,
    *,
    actor: str,
    channel: str,
    note: str | None = None,
    assignee: str | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Crew progress through the ordinary transitions, plus its time in details["repair"]["progress"]."""
    action = PROGRESS_ACTIONS.get(step)
    if action is None:
        raise RepairError(f"unknown progress step '{step}'")
    now = now or utcnow()
    get_repair(session, ticket_no)
    ticket = workorders.transition(
        session,
        ticket_no,
        action,
        actor=actor,
        channel=channel,
        note=note or PROGRESS_LABELS[step],
        assignee=assignee,
        now=now,
    )
    repair = repair_details(ticket)
    progress = dict(repair.get("progress") or {})
    progress[f"{step}_at"] = ensure_utc(now).isoformat()
    _set_repair_details(ticket, {**repair, "progress": progress})
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"repair.{step}",
        entity_type="ticket",
        entity_id=ticket.ticket_no,
        channel=channel,
        before={"progress": repair.get("progress") or {}},
        after={"progress": progress},
    )
    return ticket


@dataclass(frozen=True)
class ArrivalCheck:
    due_at: datetime | None
    arrived_at: datetime | None
    # met: arrived in time; late: arrived after the due time; on_track: not yet, still in time;
    # overdue: not yet and past due; unknown: no commitment recorded (e.g. a hazard order).
    state: Literal["met", "late", "on_track", "overdue", "unknown"]


def _parse_time(value: Any) -> datetime | None:
    return ensure_utc(datetime.fromisoformat(str(value))) if value else None


def arrival_check(ticket: Ticket, now: datetime | None = None) -> ArrivalCheck:
    repair = repair_details(ticket)
    due = _parse_time(repair.get("arrival_due_at"))
    arrived = _parse_time((repair.get("progress") or {}).get("arrived_at"))
    if due is None:
        return ArrivalCheck(None, arrived, "unknown")
    if arrived is not None:
        return ArrivalCheck(due, arrived, "met" if arrived <= due else "late")
    if ticket.status not in OPEN_STATUSES:
        return ArrivalCheck(due, None, "unknown")
    return ArrivalCheck(due, None, "on_track" if ensure_utc(now or utcnow()) <= due else "overdue")


def repairs_for_account(session: Session, account_id: int) -> list[Ticket]:
    return [
        ticket for ticket in workorders.list_for_account(session, account_id) if ticket.kind == REPAIR_KIND
    ]


def describe_repair_extra(session: Session, ticket: Ticket) -> dict[str, Any]:
    """What a customer asking about a repair is told beyond the generic view (workorders describer)."""
    repair = repair_details(ticket)
    check = arrival_check(ticket)
    return {
        "hazard": bool(repair.get("hazard")),
        "fault_type": repair.get("fault_type"),
        "area_type": repair.get("area_type"),
        "arrival_minutes": repair.get("arrival_minutes"),
        "arrival_due_at": check.due_at.isoformat() if check.due_at else None,
        "arrival_state": check.state,
        "progress": dict(repair.get("progress") or {}),
        "probable_area_fault": bool(repair.get("probable_area_fault")),
    }


workorders.register_describer(REPAIR_KIND, describe_repair_extra)
