"""Service applications over HTTP.

Customers (through the Rasa actions, service token), gated like the balance endpoint:
- `GET  /api/v1/applications/types`                    types, fields, documents, time limits
- `GET  /api/v1/applications/nearest-hall?place=`      the hall to go to instead
- `POST /api/v1/applications`                          accept a confirmed application (201)
- `GET  /api/v1/applications?conversation_id=&account_no=`   own applications
- `GET  /api/v1/applications/{application_no}?conversation_id=`   one own application

Staff (staff token, api/staff_auth.py):
- `GET  /api/v1/staff/applications?overdue=`           list, overdue flag included
- `GET  /api/v1/staff/applications/{application_no}`   detail with step history (audited view)
- `POST /api/v1/staff/applications/{application_no}/advance`   next step with a note
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from api.deps import NOT_VERIFIED_MESSAGE, SessionDep, SettingsDep, require_service_token
from api.staff_auth import StaffDep
from backend.services import applications as service
from backend.services import audit
from backend.services.accounts import NotVerified
from backend.services.application_types import load_catalogue
from backend.services.nearest_hall import nearest_hall
from backend.services.service_info import UNCONFIRMED_NOTICE

router = APIRouter(
    prefix="/api/v1/applications", tags=["applications"], dependencies=[Depends(require_service_token)]
)
staff_router = APIRouter(prefix="/api/v1/staff/applications", tags=["staff: applications"])

NOT_FOUND_MESSAGE = "未找到该申请。 Application not found."
NOT_CONFIRMED_MESSAGE = "客户尚未确认申请信息，不能受理。 The customer has not confirmed the summary."


# ---------------------------------------------------------------- shapes


class ProvenanceOut(BaseModel):
    effective_date: date | None
    source: str
    confirmed: bool


class TimeLimitOut(ProvenanceOut):
    key: str
    label: str
    working_days: int
    quote_to_customer: bool


class ApplicationTypeOut(BaseModel):
    name: str
    code: str
    aliases: list[str]
    description: str
    who_may_apply: str
    existing_account: Literal["none", "required", "optional"]
    fields: list[str]
    documents: list[str]
    steps: list[str]
    step_labels: list[str]
    time_limits: list[TimeLimitOut]  # one per supply class, or the one internal target


class TypesResponse(BaseModel):
    types: list[ApplicationTypeOut]
    supply_classes: dict[str, str]
    documents: ProvenanceOut
    unconfirmed_notice: str


class HallOut(ProvenanceOut):
    name: str
    address: str
    hours: str
    customer_town: str | None
    same_town: bool


class CreateRequest(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=40)
    channel: str = Field(min_length=1, max_length=16)
    business_type: str = Field(min_length=1, max_length=32)
    # The customer's explicit yes to the summary; anything else is refused (422).
    confirmed: bool
    account_no: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=255)
    supply_class: str | None = Field(default=None, max_length=32)
    contact_phone: str | None = Field(default=None, max_length=20)
    capacity_kw: str | None = Field(default=None, max_length=32)
    new_holder_name: str | None = Field(default=None, max_length=64)
    preferred_survey_time: str | None = Field(default=None, max_length=64)


class StepOut(BaseModel):
    code: str
    label: str
    state: Literal["done", "current", "pending"]


class ApplicationOut(BaseModel):
    application_no: str
    business_type: str
    status: str
    current_step: str
    current_step_label: str
    step_started_at: datetime
    step_due_at: datetime | None
    next_step: str | None
    next_step_label: str | None
    next_step_due_at: datetime | None
    arrangement: str | None
    submitted_at: datetime
    due_at: datetime
    completed_at: datetime | None
    completed: bool
    on_time: bool | None
    overdue: bool
    overdue_reason: Literal["step", "whole"] | None
    time_limit_days: int
    time_limit_label: str
    # False while the limit is not confirmed: the bot adds "以当地营业厅公布为准".
    time_limit_confirmed: bool
    # False for an internal target (no source): the bot does not quote the number.
    time_limit_quotable: bool
    time_limit_source: str
    supply_class: str
    address_masked: str
    account_masked: str | None
    contact_phone_masked: str | None
    steps: list[StepOut]


class ApplicationList(BaseModel):
    applications: list[ApplicationOut]


class AdvanceRequest(BaseModel):
    note: str | None = Field(default=None, max_length=500)
    to_step: str | None = Field(default=None, max_length=32)
    # What happens next in plain words, told to the customer ("现场勘查，预约明天上午").
    arrangement: str | None = Field(default=None, max_length=255)


class HistoryEntry(BaseModel):
    step: str
    label: str
    started_at: datetime
    due_at: datetime | None
    ended_at: datetime | None
    actor: str
    note: str | None
    notice_message_id: int | None


class StaffApplicationOut(ApplicationOut):
    channel: str | None
    overdue_flagged_at: datetime | None
    history: list[HistoryEntry] = []


class StaffApplicationList(BaseModel):
    applications: list[StaffApplicationOut]


class AdvanceResponse(StaffApplicationOut):
    notice_message_id: int | None


def _out(view: service.ApplicationView) -> ApplicationOut:
    return ApplicationOut(**service.view_json(view))


def _staff_out(
    session: SessionDep, application: Any, view: service.ApplicationView, *, detail: bool
) -> StaffApplicationOut:
    entries = (
        [HistoryEntry.model_validate(e, from_attributes=True) for e in service.history(session, application)]
        if detail
        else []
    )
    return StaffApplicationOut(
        **service.view_json(view),
        channel=application.channel,
        overdue_flagged_at=application.overdue_flagged_at,
        history=entries,
    )


# ---------------------------------------------------------------- customer


@router.get("/types", response_model=TypesResponse)
def types() -> TypesResponse:
    books = load_catalogue()
    out: list[ApplicationTypeOut] = []
    for kind in books.types.values():
        limits = (
            list(books.supply_classes.values())
            if kind.time_limit == "by_supply_class"
            else [books.internal_targets[kind.time_limit]]
        )
        out.append(
            ApplicationTypeOut(
                name=kind.name,
                code=kind.code,
                aliases=list(kind.aliases),
                description=kind.description,
                who_may_apply=kind.who_may_apply,
                existing_account=kind.existing_account,
                fields=list(kind.fields),
                documents=list(kind.documents),
                steps=list(kind.steps),
                step_labels=[books.step_label(step) for step in kind.steps],
                time_limits=[
                    TimeLimitOut(
                        key=limit.key,
                        label=limit.label,
                        working_days=limit.working_days,
                        quote_to_customer=limit.quote_to_customer,
                        effective_date=limit.provenance.effective_date,
                        source=limit.provenance.source,
                        confirmed=limit.provenance.confirmed,
                    )
                    for limit in limits
                ],
            )
        )
    docs = books.documents_provenance
    return TypesResponse(
        types=out,
        supply_classes={key: limit.label for key, limit in books.supply_classes.items()},
        documents=ProvenanceOut(
            effective_date=docs.effective_date, source=docs.source, confirmed=docs.confirmed
        ),
        unconfirmed_notice=UNCONFIRMED_NOTICE,
    )


@router.get("/nearest-hall", response_model=HallOut)
def hall(place: str | None = Query(default=None, max_length=255)) -> HallOut:
    choice = nearest_hall(place)
    found = choice.hall
    return HallOut(
        name=found.name,
        address=found.address,
        hours=found.hours,
        customer_town=choice.customer_town,
        same_town=choice.same_town,
        effective_date=found.provenance.effective_date,
        source=found.provenance.source,
        confirmed=found.provenance.confirmed,
    )


@router.post("", response_model=ApplicationOut, status_code=status.HTTP_201_CREATED)
def create(body: CreateRequest, session: SessionDep, settings: SettingsDep) -> ApplicationOut:
    """Naming an account needs this conversation's verification of it (403 otherwise)."""
    try:
        application = service.create_application(
            session,
            **body.model_dump(),
            ttl_minutes=settings.verification_ttl_minutes,
        )
    except NotVerified as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_VERIFIED_MESSAGE) from error
    except service.NotConfirmed as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, NOT_CONFIRMED_MESSAGE) from error
    except service.InvalidApplication as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from error
    return _out(service.describe(session, application))


@router.get("", response_model=ApplicationList)
def own_applications(
    session: SessionDep,
    settings: SettingsDep,
    conversation_id: str = Query(min_length=1, max_length=40),
    account_no: str | None = Query(default=None, max_length=64),
) -> ApplicationList:
    try:
        rows = service.customer_applications(
            session,
            conversation_id=conversation_id,
            account_no=account_no,
            ttl_minutes=settings.verification_ttl_minutes,
        )
    except NotVerified as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_VERIFIED_MESSAGE) from error
    return ApplicationList(applications=[_out(service.describe(session, row)) for row in rows])


@router.get("/{application_no}", response_model=ApplicationOut)
def own_application(
    application_no: str,
    session: SessionDep,
    settings: SettingsDep,
    conversation_id: str = Query(min_length=1, max_length=40),
) -> ApplicationOut:
    try:
        application = service.customer_application(
            session,
            conversation_id=conversation_id,
            application_no=application_no,
            ttl_minutes=settings.verification_ttl_minutes,
        )
    except service.ApplicationNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE) from error
    return _out(service.describe(session, application))


# ---------------------------------------------------------------- staff


@staff_router.get("", response_model=StaffApplicationList)
def staff_list(
    session: SessionDep,
    staff: StaffDep,
    overdue: bool = False,
    status_filter: str | None = Query(default=None, alias="status", max_length=32),
    limit: int = Query(default=100, ge=1, le=500),
) -> StaffApplicationList:
    rows = service.list_applications(session, overdue_only=overdue, status=status_filter, limit=limit)
    return StaffApplicationList(applications=[_staff_out(session, a, v, detail=False) for a, v in rows])


@staff_router.get("/{application_no}", response_model=StaffApplicationOut)
def staff_detail(application_no: str, session: SessionDep, staff: StaffDep) -> StaffApplicationOut:
    try:
        application = service.get_application(session, application_no)
    except service.ApplicationNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE) from error
    # A staff view of customer data is itself an audit event.
    audit.record(
        session,
        actor=staff.actor,
        action="application.view",
        entity_type=service.ENTITY,
        entity_id=application.application_no,
        channel="staff",
    )
    return _staff_out(session, application, service.describe(session, application), detail=True)


@staff_router.post("/{application_no}/advance", response_model=AdvanceResponse)
def staff_advance(
    application_no: str, body: AdvanceRequest, session: SessionDep, staff: StaffDep
) -> AdvanceResponse:
    try:
        application, message_id = service.advance(
            session,
            application_no,
            actor=staff.actor,
            channel="staff",
            note=body.note,
            to_step=body.to_step,
            arrangement=body.arrangement,
        )
    except service.ApplicationNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE) from error
    except service.InvalidStepChange as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    base = _staff_out(session, application, service.describe(session, application), detail=True)
    return AdvanceResponse(**base.model_dump(), notice_message_id=message_id)
