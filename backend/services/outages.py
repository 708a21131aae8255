"""Planned outages and active faults: staff create and update them; customers ask what covers a place.

Places are matched with backend.address: the customer's words (七里营 / 七里营镇 /
七里营镇七里营村3组) are parsed into a canonical town and village and compared with the
outage's area (a town) and villages (empty = the whole town; "<road>沿线" = along a road).
Every create or change writes an audit event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.address import ParsedAddress, covers, default_parser, parse_address, same_place
from backend.clock import LOCAL_TZ, ensure_utc, local_today, utcnow
from backend.models import ActiveFault, PlannedOutage
from backend.services import audit

# 十项承诺 item 2: planned maintenance is announced at least 7 days ahead (reference.md §2.1).
PLANNED_NOTICE_DAYS = 7

OutageKind = Literal["planned", "fault"]
# covered: the outage certainly includes the address; town_only: the customer named only the
# town and the outage hits some of its villages, so it may concern them.
MatchKind = Literal["covered", "town_only"]


class OutageError(ValueError):
    """Invalid outage data (unknown town, end before start, unknown status)."""


class OutageNotFound(LookupError):
    pass


@dataclass(frozen=True)
class OutageMatch:
    kind: OutageKind
    match: MatchKind
    planned: PlannedOutage | None = None
    fault: ActiveFault | None = None


def canonical_area(area: str) -> str:
    town = default_parser().gazetteer.canonical_town(area)
    if town is None:
        raise OutageError(f"unknown town '{area}'")
    return town


def _clean_villages(villages: Sequence[str]) -> list[str]:
    return [name.strip() for name in villages if name and name.strip()]


def planned_snapshot(outage: PlannedOutage) -> dict[str, Any]:
    return {
        "area": outage.area,
        "villages": list(outage.villages),
        "line": outage.line,
        "starts_at": ensure_utc(outage.starts_at).isoformat(),
        "ends_at": ensure_utc(outage.ends_at).isoformat(),
        "reason": outage.reason,
        "notice_date": outage.notice_date.isoformat(),
        "status": outage.status,
    }


def fault_snapshot(fault: ActiveFault) -> dict[str, Any]:
    return {
        "area": fault.area,
        "villages": list(fault.villages),
        "started_at": ensure_utc(fault.started_at).isoformat(),
        "cause": fault.cause,
        "expected_restore_at": ensure_utc(fault.expected_restore_at).isoformat()
        if fault.expected_restore_at
        else None,
        "status": fault.status,
        "restored_at": ensure_utc(fault.restored_at).isoformat() if fault.restored_at else None,
    }


# --------------------------------------------------------------------------- planned outages


def create_planned_outage(
    session: Session,
    *,
    area: str,
    villages: Sequence[str],
    line: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    actor: str,
    channel: str | None,
    notice_date: date | None = None,
    now: datetime | None = None,
) -> PlannedOutage:
    if ends_at <= starts_at:
        raise OutageError("ends_at must be after starts_at")
    now = now or utcnow()
    outage = PlannedOutage(
        area=canonical_area(area),
        villages=_clean_villages(villages),
        line=line.strip(),
        starts_at=ensure_utc(starts_at),
        ends_at=ensure_utc(ends_at),
        reason=reason.strip(),
        notice_date=notice_date or local_today(now),
        status="scheduled",
        updated_at=now,
    )
    session.add(outage)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="outage.create",
        entity_type="planned_outage",
        entity_id=outage.id,
        channel=channel,
        after=planned_snapshot(outage),
    )
    return outage


PLANNED_FIELDS = frozenset(
    {"area", "villages", "line", "starts_at", "ends_at", "reason", "notice_date", "status"}
)
PLANNED_STATUSES = frozenset({"scheduled", "cancelled"})


def update_planned_outage(
    session: Session, outage_id: int, *, actor: str, channel: str | None, changes: dict[str, Any]
) -> PlannedOutage:
    """Apply `changes` (a subset of PLANNED_FIELDS); status "cancelled" withdraws the outage."""
    outage = session.get(PlannedOutage, outage_id)
    if outage is None:
        raise OutageNotFound(outage_id)
    unknown = set(changes) - PLANNED_FIELDS
    if unknown:
        raise OutageError(f"cannot change {sorted(unknown)}")
    before = planned_snapshot(outage)
    for key, value in changes.items():
        if key == "area":
            value = canonical_area(value)
        elif key == "villages":
            value = _clean_villages(value)
        elif key in ("starts_at", "ends_at"):
            value = ensure_utc(value)
        elif key == "status" and value not in PLANNED_STATUSES:
            raise OutageError(f"unknown status '{value}'")
        setattr(outage, key, value)
    if ensure_utc(outage.ends_at) <= ensure_utc(outage.starts_at):
        raise OutageError("ends_at must be after starts_at")
    outage.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="outage.update",
        entity_type="planned_outage",
        entity_id=outage.id,
        channel=channel,
        before=before,
        after=planned_snapshot(outage),
    )
    return outage


# --------------------------------------------------------------------------- active faults


def create_fault(
    session: Session,
    *,
    area: str,
    villages: Sequence[str],
    cause: str,
    actor: str,
    channel: str | None,
    started_at: datetime | None = None,
    expected_restore_at: datetime | None = None,
    now: datetime | None = None,
) -> ActiveFault:
    now = now or utcnow()
    fault = ActiveFault(
        area=canonical_area(area),
        villages=_clean_villages(villages),
        started_at=ensure_utc(started_at or now),
        cause=cause.strip(),
        expected_restore_at=ensure_utc(expected_restore_at) if expected_restore_at else None,
        status="active",
        updated_at=now,
    )
    session.add(fault)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="fault.create",
        entity_type="active_fault",
        entity_id=fault.id,
        channel=channel,
        after=fault_snapshot(fault),
    )
    return fault


FAULT_FIELDS = frozenset({"area", "villages", "cause", "expected_restore_at", "status"})
FAULT_STATUSES = frozenset({"active", "restored"})


def update_fault(
    session: Session,
    fault_id: int,
    *,
    actor: str,
    channel: str | None,
    changes: dict[str, Any],
    now: datetime | None = None,
) -> ActiveFault:
    """Apply `changes`; status "restored" records when supply came back."""
    fault = session.get(ActiveFault, fault_id)
    if fault is None:
        raise OutageNotFound(fault_id)
    unknown = set(changes) - FAULT_FIELDS
    if unknown:
        raise OutageError(f"cannot change {sorted(unknown)}")
    now = now or utcnow()
    before = fault_snapshot(fault)
    for key, value in changes.items():
        if key == "area":
            value = canonical_area(value)
        elif key == "villages":
            value = _clean_villages(value)
        elif key == "expected_restore_at" and value is not None:
            value = ensure_utc(value)
        elif key == "status":
            if value not in FAULT_STATUSES:
                raise OutageError(f"unknown status '{value}'")
            fault.restored_at = now if value == "restored" else None
        setattr(fault, key, value)
    fault.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="fault.restore"
        if fault.status == "restored" and before["status"] != "restored"
        else "fault.update",
        entity_type="active_fault",
        entity_id=fault.id,
        channel=channel,
        before=before,
        after=fault_snapshot(fault),
    )
    return fault


# --------------------------------------------------------------------------- finding what covers a place


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0), tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


def _match(area: str, villages: Sequence[str], place: ParsedAddress) -> MatchKind | None:
    if covers(area, list(villages), place):
        return "covered"
    # The customer named only the town (明天七里营停电不): an outage of some of its villages
    # may well be theirs, so it is shown, marked as partial.
    names_only_town = place.village is None and place.road is None and place.compound is None
    if names_only_town and same_place(parse_address(area), place):
        return "town_only"
    return None


def find_covering(
    session: Session,
    place: ParsedAddress,
    *,
    day: date | None = None,
    days: int = 1,
    at: datetime | None = None,
    now: datetime | None = None,
) -> list[OutageMatch]:
    """Outages and faults that cover `place` on a local `day` (or `days` days from it: 这几天,
    下周), or at the moment `at` (default now).

    Planned outages count when their window overlaps the day (or contains `at`); active faults
    count when they are still active and the day is today (or `at` is now or later).
    Certain matches come first, then by start time.
    """
    if place.town is None:
        return []
    now = now or utcnow()
    if day is not None:
        window_start, _ = local_day_bounds(day)
        _, window_end = local_day_bounds(day + timedelta(days=max(days, 1) - 1))
    else:
        moment = ensure_utc(at or now)
        window_start, window_end = moment, moment + timedelta(microseconds=1)

    found: list[tuple[int, datetime, OutageMatch]] = []
    planned = session.scalars(
        select(PlannedOutage).where(
            PlannedOutage.area == place.town,
            PlannedOutage.status == "scheduled",
            PlannedOutage.starts_at < window_end,
            PlannedOutage.ends_at > window_start,
        )
    ).all()
    for outage in planned:
        kind = _match(outage.area, outage.villages, place)
        if kind is not None:
            found.append(
                (
                    kind != "covered",
                    ensure_utc(outage.starts_at),
                    OutageMatch("planned", kind, planned=outage),
                )
            )

    current = ensure_utc(now)
    # A fault is about the present: it answers for today, or for a moment from now on.
    faults_apply = (
        window_start <= current < window_end
        if day is not None
        else window_start >= current - timedelta(minutes=5)
    )
    if faults_apply:
        faults = session.scalars(
            select(ActiveFault).where(
                ActiveFault.area == place.town,
                ActiveFault.status == "active",
                ActiveFault.started_at < window_end,
            )
        ).all()
        for fault in faults:
            kind = _match(fault.area, fault.villages, place)
            if kind is not None:
                found.append(
                    (kind != "covered", ensure_utc(fault.started_at), OutageMatch("fault", kind, fault=fault))
                )
    found.sort(key=lambda item: (item[0], item[1]))
    return [match for _, _, match in found]


def find_covering_text(
    session: Session,
    place_text: str,
    *,
    day: date | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[ParsedAddress, list[OutageMatch]]:
    place = parse_address(place_text)
    return place, find_covering(session, place, day=day, at=at, now=now)


def list_outages(
    session: Session, *, include_past: bool = False, now: datetime | None = None
) -> list[PlannedOutage]:
    query = select(PlannedOutage).order_by(PlannedOutage.starts_at)
    if not include_past:
        query = query.where(PlannedOutage.ends_at > (now or utcnow()))
    return list(session.scalars(query).all())


def list_faults(session: Session, *, include_restored: bool = False) -> list[ActiveFault]:
    query = select(ActiveFault).order_by(ActiveFault.started_at.desc())
    if not include_restored:
        query = query.where(ActiveFault.status == "active")
    return list(session.scalars(query).all())
