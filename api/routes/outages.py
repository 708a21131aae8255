"""Outages and faults: staff create and update them; actions ask which ones cover a place and day.

- GET /api/v1/outages/search (service token, for the actions): what covers a place and day.
- /api/v1/staff/outages/planned and /api/v1/staff/outages/faults (staff bearer token of
  api/staff_auth.py, any role): list, create, update; the staff member is the audit actor.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import NOT_VERIFIED_MESSAGE, SessionDep, SettingsDep, require_service_token
from api.staff_auth import StaffDep
from backend.address import ParsedAddress, default_parser, parse_address
from backend.clock import ensure_utc
from backend.models import Account, ActiveFault, PlannedOutage
from backend.services import accounts, outages


def _warm_address_parser() -> None:
    # The first parse builds the spaCy/jieba pipeline: about a second, ten under load. Build it in
    # the background at startup so no customer waits for it (a WeChat reply has 5 s in all).
    threading.Thread(target=default_parser, name="address-parser-warmup", daemon=True).start()


router = APIRouter(
    prefix="/api/v1/outages",
    tags=["outages"],
    dependencies=[Depends(require_service_token)],
    on_startup=[_warm_address_parser],
)
staff_router = APIRouter(prefix="/api/v1/staff/outages", tags=["staff: outages"])

STAFF_CHANNEL = "console"


class PlannedOutageIn(BaseModel):
    area: str = Field(min_length=1, max_length=64, examples=["七里营镇"])
    villages: list[str] = Field(default_factory=list, description="empty: the whole town")
    line: str = Field(min_length=1, max_length=64, examples=["10kV七里营线"])
    starts_at: datetime
    ends_at: datetime
    reason: str = Field(min_length=1, max_length=255)
    notice_date: date | None = None


class PlannedOutagePatch(BaseModel):
    area: str | None = Field(default=None, max_length=64)
    villages: list[str] | None = None
    line: str | None = Field(default=None, max_length=64)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=255)
    notice_date: date | None = None
    status: Literal["scheduled", "cancelled"] | None = None


class FaultIn(BaseModel):
    area: str = Field(min_length=1, max_length=64, examples=["小冀镇"])
    villages: list[str] = Field(default_factory=list)
    cause: str = Field(min_length=1, max_length=255)
    started_at: datetime | None = None
    expected_restore_at: datetime | None = None


class FaultPatch(BaseModel):
    area: str | None = Field(default=None, max_length=64)
    villages: list[str] | None = None
    cause: str | None = Field(default=None, max_length=255)
    expected_restore_at: datetime | None = None
    status: Literal["active", "restored"] | None = None


class OutageOut(BaseModel):
    kind: Literal["planned", "fault"]
    id: int
    area: str
    villages: list[str]
    status: str
    # planned
    line: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    reason: str | None = None
    notice_date: date | None = None
    # fault
    started_at: datetime | None = None
    cause: str | None = None
    expected_restore_at: datetime | None = None
    restored_at: datetime | None = None


class MatchOut(OutageOut):
    match: Literal["covered", "town_only"]


class PlaceOut(BaseModel):
    town: str | None
    village: str | None
    group: int | None
    in_service_area: bool
    confidence: float
    town_candidates: list[str]
    outside_place: str | None
    from_account: bool


class SearchResponse(BaseModel):
    place: PlaceOut
    day: date | None
    outages: list[MatchOut]


def planned_out(outage: PlannedOutage) -> dict[str, Any]:
    return {
        "kind": "planned",
        "id": outage.id,
        "area": outage.area,
        "villages": list(outage.villages),
        "status": outage.status,
        "line": outage.line,
        "starts_at": ensure_utc(outage.starts_at),
        "ends_at": ensure_utc(outage.ends_at),
        "reason": outage.reason,
        "notice_date": outage.notice_date,
    }


def fault_out(fault: ActiveFault) -> dict[str, Any]:
    return {
        "kind": "fault",
        "id": fault.id,
        "area": fault.area,
        "villages": list(fault.villages),
        "status": fault.status,
        "started_at": ensure_utc(fault.started_at),
        "cause": fault.cause,
        "expected_restore_at": ensure_utc(fault.expected_restore_at) if fault.expected_restore_at else None,
        "restored_at": ensure_utc(fault.restored_at) if fault.restored_at else None,
    }


def match_out(match: outages.OutageMatch) -> MatchOut:
    body = planned_out(match.planned) if match.planned is not None else fault_out(match.fault)  # type: ignore[arg-type]
    return MatchOut.model_validate({**body, "match": match.match})


def _bad_request(error: Exception) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error))


# --------------------------------------------------------------------------- actions: search


@router.get("/search", response_model=SearchResponse)
def search(
    session: SessionDep,
    settings: SettingsDep,
    place: Annotated[
        str | None, Query(max_length=200, description="the customer's words for the place")
    ] = None,
    account_no: Annotated[str | None, Query(max_length=32)] = None,
    conversation_id: Annotated[str | None, Query(max_length=40)] = None,
    day: Annotated[date | None, Query(description="local (Beijing) day; default: right now")] = None,
    days: Annotated[int, Query(ge=1, le=31, description="with day: how many days from it")] = 1,
) -> SearchResponse:
    """Outages and faults covering a place, named in words or as a verified account's address."""
    from_account = False
    if place:
        parsed: ParsedAddress = parse_address(place)
    elif account_no and conversation_id:
        account = _verified_account(session, settings.verification_ttl_minutes, account_no, conversation_id)
        parsed = parse_address(account.address)
        from_account = True
    else:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, "give place, or account_no with conversation_id"
        )
    matches = outages.find_covering(session, parsed, day=day, days=days)
    return SearchResponse(
        place=PlaceOut(
            town=parsed.town,
            village=parsed.village,
            group=parsed.group,
            in_service_area=parsed.in_service_area,
            confidence=parsed.confidence,
            town_candidates=list(parsed.town_candidates),
            outside_place=parsed.outside_place,
            from_account=from_account,
        ),
        day=day,
        outages=[match_out(match) for match in matches],
    )


def _verified_account(session: Session, ttl: int, account_no: str, conversation_id: str) -> Account:
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
    return account


# --------------------------------------------------------------------------- staff: planned outages


@staff_router.get("/planned", response_model=list[OutageOut])
def list_planned(session: SessionDep, staff: StaffDep, include_past: bool = False) -> list[OutageOut]:
    return [
        OutageOut.model_validate(planned_out(o))
        for o in outages.list_outages(session, include_past=include_past)
    ]


@staff_router.post("/planned", response_model=OutageOut, status_code=status.HTTP_201_CREATED)
def create_planned(body: PlannedOutageIn, session: SessionDep, staff: StaffDep) -> OutageOut:
    try:
        outage = outages.create_planned_outage(
            session,
            area=body.area,
            villages=body.villages,
            line=body.line,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason=body.reason,
            notice_date=body.notice_date,
            actor=staff.actor,
            channel=STAFF_CHANNEL,
        )
    except outages.OutageError as error:
        raise _bad_request(error) from error
    return OutageOut.model_validate(planned_out(outage))


@staff_router.patch("/planned/{outage_id}", response_model=OutageOut)
def update_planned(
    outage_id: int, body: PlannedOutagePatch, session: SessionDep, staff: StaffDep
) -> OutageOut:
    try:
        outage = outages.update_planned_outage(
            session,
            outage_id,
            actor=staff.actor,
            channel=STAFF_CHANNEL,
            changes=body.model_dump(exclude_unset=True),
        )
    except outages.OutageNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "planned outage not found") from error
    except outages.OutageError as error:
        raise _bad_request(error) from error
    return OutageOut.model_validate(planned_out(outage))


# --------------------------------------------------------------------------- staff: faults


@staff_router.get("/faults", response_model=list[OutageOut])
def list_faults(session: SessionDep, staff: StaffDep, include_restored: bool = False) -> list[OutageOut]:
    return [
        OutageOut.model_validate(fault_out(f))
        for f in outages.list_faults(session, include_restored=include_restored)
    ]


@staff_router.post("/faults", response_model=OutageOut, status_code=status.HTTP_201_CREATED)
def create_fault(body: FaultIn, session: SessionDep, staff: StaffDep) -> OutageOut:
    try:
        fault = outages.create_fault(
            session,
            area=body.area,
            villages=body.villages,
            cause=body.cause,
            started_at=body.started_at,
            expected_restore_at=body.expected_restore_at,
            actor=staff.actor,
            channel=STAFF_CHANNEL,
        )
    except outages.OutageError as error:
        raise _bad_request(error) from error
    return OutageOut.model_validate(fault_out(fault))


@staff_router.patch("/faults/{fault_id}", response_model=OutageOut)
def update_fault(fault_id: int, body: FaultPatch, session: SessionDep, staff: StaffDep) -> OutageOut:
    try:
        fault = outages.update_fault(
            session,
            fault_id,
            actor=staff.actor,
            channel=STAFF_CHANNEL,
            changes=body.model_dump(exclude_unset=True),
        )
    except outages.OutageNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "fault not found") from error
    except outages.OutageError as error:
        raise _bad_request(error) from error
    return OutageOut.model_validate(fault_out(fault))
