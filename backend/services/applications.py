"""Service applications (一窗受理): create after confirmation, track step by step, flag overdue ones.

- `create_application` refuses anything the customer has not confirmed, and an existing account
  that this conversation has not verified; the number comes from numbering.issue_number.
- A customer sees an application created in the same conversation, or one of an account the
  conversation verified within VERIFICATION_TTL_MINUTES. Anything else looks like an unknown
  number, so existence is never revealed.
- Staff move an application to its next step (`advance`) with a note: a step-history row, an
  audit event with before/after, and a notice in the customer's conversation transcript
  (sender "system"; WeChat delivery comes with the channels work).
- Deadlines are in working days (backend/workdays.py): the whole-process limit of the type and
  supply class, and an internal per-step split. `flag_overdue` marks and audits late ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.clock import LOCAL_TZ, ensure_utc, utcnow
from backend.masking import mask_account_no, mask_address, mask_phone
from backend.models import Account, Conversation, IdentityVerification, ServiceApplication
from backend.models_applications import ApplicationStepEvent
from backend.services import audit
from backend.services.accounts import InvalidAccountNo, NotVerified, is_verified, normalise_account_no
from backend.services.application_types import (
    FIRST_STEP,
    LAST_STEP,
    ApplicationCatalogue,
    ApplicationType,
    TimeLimit,
    load_catalogue,
)
from backend.services.conversations import find_conversation, record_outbound
from backend.services.customer_workorders import verified_account_ids
from backend.services.numbering import issue_number
from backend.settings import get_settings
from backend.workdays import add_working_days

ENTITY = "application"
NON_RESIDENTIAL = "low_voltage_non_residential"
RESIDENTIAL = "residential"
MAX_NOTE = 500


class ApplicationNotFound(LookupError):
    pass


class InvalidApplication(ValueError):
    """Missing or malformed information for this type."""


class NotConfirmed(ValueError):
    """The customer has not said yes to the summary: nothing may be created."""


class InvalidStepChange(ValueError):
    pass


@dataclass(frozen=True)
class StepView:
    code: str
    label: str
    state: str  # done | current | pending


@dataclass(frozen=True)
class ApplicationView:
    application_no: str
    business_type: str
    status: str  # step code, or "completed"
    current_step: str
    current_step_label: str
    step_started_at: datetime
    step_due_at: datetime | None
    next_step: str | None
    next_step_label: str | None
    next_step_due_at: datetime | None  # by when the next step should begin (= current step due)
    arrangement: str | None  # free text about what happens next ("现场勘查，预约明天上午")
    submitted_at: datetime
    due_at: datetime
    completed_at: datetime | None
    completed: bool
    on_time: bool | None  # None: completed before tracking existed, finish time unknown
    overdue: bool
    overdue_reason: str | None  # step | whole | None
    time_limit_days: int
    time_limit_label: str
    time_limit_confirmed: bool
    time_limit_quotable: bool
    time_limit_source: str
    supply_class: str
    address_masked: str
    account_masked: str | None
    contact_phone_masked: str | None
    steps: list[StepView] = field(default_factory=list)


# ---------------------------------------------------------------- time


def end_of_local_day(day: date) -> datetime:
    """A deadline "by day D" ends at local midnight after D; stored in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ).astimezone(UTC)


def working_deadline(start: datetime, days: int) -> datetime:
    return end_of_local_day(add_working_days(start, days))


# ---------------------------------------------------------------- reading one application


def _catalogue(catalogue: ApplicationCatalogue | None) -> ApplicationCatalogue:
    return catalogue or load_catalogue()


def _type_of(application: ServiceApplication, catalogue: ApplicationCatalogue) -> ApplicationType:
    return catalogue.get(application.business_type)


def _supply_class(application: ServiceApplication, account: Account | None) -> str:
    if application.supply_class:
        return application.supply_class
    if account is not None and account.category != RESIDENTIAL:
        return NON_RESIDENTIAL
    return RESIDENTIAL


def _limit(
    application: ServiceApplication, account: Account | None, catalogue: ApplicationCatalogue
) -> TimeLimit:
    return catalogue.time_limit(_type_of(application, catalogue), _supply_class(application, account))


def _next_step(kind: ApplicationType, step: str) -> str | None:
    if step not in kind.steps or step == LAST_STEP:
        return None
    return kind.steps[kind.steps.index(step) + 1]


def describe(
    session: Session,
    application: ServiceApplication,
    *,
    now: datetime | None = None,
    catalogue: ApplicationCatalogue | None = None,
) -> ApplicationView:
    """Everything a customer or staff member is told about one application, computed consistently.

    Rows seeded before tracking existed have only a status and submitted_at: their step started
    at submission, their step deadline is unknown (never flagged), the whole deadline is computed.
    """
    books = _catalogue(catalogue)
    at = now or utcnow()
    kind = _type_of(application, books)
    account = session.get(Account, application.account_id) if application.account_id else None
    limit = _limit(application, account, books)
    step = books.canonical_step(application.status)
    started = application.step_started_at or application.submitted_at
    due = application.due_at or working_deadline(application.submitted_at, limit.working_days)
    completed = step == LAST_STEP
    nxt = _next_step(kind, step)
    step_due = application.step_due_at
    overdue_reason: str | None = None
    on_time: bool | None
    if completed:
        finished = application.completed_at
        on_time = None if finished is None else ensure_utc(finished) <= ensure_utc(due)
    else:
        if ensure_utc(at) > ensure_utc(due):
            overdue_reason = "whole"
        elif step_due is not None and ensure_utc(at) > ensure_utc(step_due):
            overdue_reason = "step"
        on_time = overdue_reason is None
    position = kind.steps.index(step) if step in kind.steps else 0
    steps = [
        StepView(
            code,
            books.step_label(code),
            "done" if index < position or completed else ("current" if index == position else "pending"),
        )
        for index, code in enumerate(kind.steps)
    ]
    return ApplicationView(
        application_no=application.application_no,
        business_type=application.business_type,
        status=step,
        current_step=step,
        current_step_label=books.step_label(step),
        step_started_at=ensure_utc(started),
        step_due_at=ensure_utc(step_due) if step_due else None,
        next_step=nxt,
        next_step_label=books.step_label(nxt) if nxt else None,
        next_step_due_at=ensure_utc(step_due) if step_due and nxt else None,
        arrangement=application.next_step,
        submitted_at=ensure_utc(application.submitted_at),
        due_at=ensure_utc(due),
        completed_at=ensure_utc(application.completed_at) if application.completed_at else None,
        completed=completed,
        on_time=on_time,
        overdue=overdue_reason is not None,
        overdue_reason=overdue_reason,
        time_limit_days=limit.working_days,
        time_limit_label=limit.label,
        time_limit_confirmed=limit.provenance.confirmed,
        time_limit_quotable=limit.quote_to_customer,
        time_limit_source=limit.provenance.source,
        supply_class=_supply_class(application, account),
        address_masked=mask_address(application.address),
        account_masked=mask_account_no(account.account_no) if account else None,
        contact_phone_masked=mask_phone(application.contact_phone) if application.contact_phone else None,
        steps=steps,
    )


def get_application(session: Session, application_no: str) -> ServiceApplication:
    found = session.scalars(
        select(ServiceApplication).where(ServiceApplication.application_no == application_no.strip())
    ).first()
    if found is None:
        raise ApplicationNotFound(application_no)
    return found


# ---------------------------------------------------------------- customer side


def _ttl(ttl_minutes: int | None) -> int:
    return get_settings().verification_ttl_minutes if ttl_minutes is None else ttl_minutes


def _verified_account(
    session: Session, conversation_id: str, account_no: str, now: datetime | None, ttl_minutes: int | None
) -> Account:
    try:
        canonical = normalise_account_no(account_no)
    except InvalidAccountNo as error:
        raise NotVerified("not verified for this account") from error
    if not is_verified(
        session, conversation_id=conversation_id, account_no=canonical, now=now, ttl_minutes=_ttl(ttl_minutes)
    ):
        raise NotVerified("not verified for this account")
    account = session.scalars(select(Account).where(Account.account_no == canonical)).first()
    if account is None:
        raise NotVerified("not verified for this account")
    return account


def _clean(value: str | None, limit: int = 255) -> str | None:
    text = (value or "").strip()
    return text[:limit] or None


def create_application(
    session: Session,
    *,
    business_type: str,
    conversation_id: str,
    channel: str,
    confirmed: bool,
    account_no: str | None = None,
    address: str | None = None,
    supply_class: str | None = None,
    contact_phone: str | None = None,
    capacity_kw: str | None = None,
    new_holder_name: str | None = None,
    preferred_survey_time: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
    catalogue: ApplicationCatalogue | None = None,
) -> ServiceApplication:
    """Accept (受理) an application the customer confirmed. The caller commits."""
    if confirmed is not True:
        raise NotConfirmed("the customer has not confirmed the summary")
    books = _catalogue(catalogue)
    if business_type not in books.types:
        raise InvalidApplication(f"unknown business type {business_type!r}")
    kind = books.get(business_type)
    at = now or utcnow()
    account = (
        _verified_account(session, conversation_id, account_no, now, ttl_minutes) if account_no else None
    )
    if kind.needs_account and account is None:
        raise InvalidApplication(f"{business_type} needs a verified existing account")
    place = _clean(address) or (account.address if account else None)
    if not place:
        raise InvalidApplication("address required")
    if supply_class is not None and supply_class not in books.supply_classes:
        raise InvalidApplication(f"unknown supply class {supply_class!r}")
    if "new_holder_name" in kind.fields and not _clean(new_holder_name):
        raise InvalidApplication("new holder name required")
    if "capacity_kw" in kind.fields and not _clean(capacity_kw):
        raise InvalidApplication("capacity required")
    if "contact_phone" in kind.fields and not _clean(contact_phone):
        raise InvalidApplication("contact phone required")

    application = ServiceApplication(
        application_no=issue_number(session, at),
        account_id=account.id if account else None,
        business_type=business_type,
        address=place[:255],
        status=FIRST_STEP,
        current_step=books.step_label(FIRST_STEP),
        next_step=None,
        submitted_at=at,
        conversation_id=conversation_id,
        channel=channel,
        supply_class=supply_class or (None if account else RESIDENTIAL),
        contact_phone=_clean(contact_phone, 20),
        details={
            key: value
            for key, value in {
                "capacity_kw": _clean(capacity_kw, 32),
                "new_holder_name": _clean(new_holder_name, 64),
                "preferred_survey_time": _clean(preferred_survey_time, 64),
            }.items()
            if value
        }
        or None,
        step_started_at=at,
        updated_at=at,
    )
    limit = _limit(application, account, books)
    application.supply_class = _supply_class(application, account)
    application.due_at = working_deadline(at, limit.working_days)
    application.step_due_at = working_deadline(at, limit.days_for_step(FIRST_STEP))
    survey = (application.details or {}).get("preferred_survey_time")
    nxt = _next_step(kind, FIRST_STEP)
    if nxt == "site_survey" and survey:
        application.next_step = f"{books.step_label(nxt)}，客户希望：{survey}"[:255]
    session.add(application)
    session.flush()
    session.add(
        ApplicationStepEvent(
            application_id=application.id,
            step=FIRST_STEP,
            label=books.step_label(FIRST_STEP),
            started_at=at,
            due_at=application.step_due_at,
            actor=actor or f"conversation:{conversation_id}",
            note=None,
        )
    )
    audit.record(
        session,
        actor=actor or f"conversation:{conversation_id}",
        action="application.create",
        entity_type=ENTITY,
        entity_id=application.application_no,
        channel=channel,
        after={
            "business_type": business_type,
            "status": FIRST_STEP,
            "account_masked": mask_account_no(account.account_no) if account else None,
            "supply_class": application.supply_class,
            "due_at": application.due_at.isoformat(),
            "time_limit_days": limit.working_days,
        },
    )
    session.flush()
    return application


def _visible(
    session: Session,
    application: ServiceApplication,
    conversation_id: str,
    now: datetime | None,
    ttl_minutes: int | None,
) -> bool:
    if application.conversation_id == conversation_id:
        return True
    if application.account_id is None:
        return False
    return application.account_id in verified_account_ids(
        session, conversation_id, now=now, ttl_minutes=_ttl(ttl_minutes)
    )


def customer_application(
    session: Session,
    *,
    conversation_id: str,
    application_no: str,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> ServiceApplication:
    """One application this conversation may see; ApplicationNotFound otherwise (no existence leak)."""
    application = get_application(session, application_no)
    if not _visible(session, application, conversation_id, now, ttl_minutes):
        raise ApplicationNotFound(application_no)
    return application


def customer_applications(
    session: Session,
    *,
    conversation_id: str,
    account_no: str | None = None,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> list[ServiceApplication]:
    """Applications made in this conversation plus those of its verified accounts, newest first.
    Naming an account narrows the list to it and needs its verification (NotVerified)."""
    if account_no:
        account = _verified_account(session, conversation_id, account_no, now, ttl_minutes)
        condition = ServiceApplication.account_id == account.id
    else:
        ids = verified_account_ids(session, conversation_id, now=now, ttl_minutes=_ttl(ttl_minutes))
        condition = or_(
            ServiceApplication.conversation_id == conversation_id,
            ServiceApplication.account_id.in_(ids) if ids else ServiceApplication.id.is_(None),
        )
    rows = session.scalars(
        select(ServiceApplication)
        .where(condition)
        .order_by(ServiceApplication.submitted_at.desc(), ServiceApplication.id.desc())
    )
    return list(rows)


# ---------------------------------------------------------------- staff side


def _notice_conversation(session: Session, application: ServiceApplication) -> Conversation | None:
    """Where the customer talked to us: the conversation that applied, else the latest one that
    verified the account."""
    if application.conversation_id:
        found = find_conversation(session, application.conversation_id)
        if found is not None:
            return found
    if application.account_id is None:
        return None
    latest = session.scalar(
        select(IdentityVerification.conversation_id)
        .where(
            IdentityVerification.account_id == application.account_id, IdentityVerification.success.is_(True)
        )
        .order_by(IdentityVerification.at.desc())
        .limit(1)
    )
    return find_conversation(session, latest) if latest else None


def notice_text(view: ApplicationView, note: str | None) -> str:
    lines = [f"【业务办理进度】您的{view.business_type}申请（编号{view.application_no}）"]
    if view.completed:
        lines[0] += "已办结。"
    else:
        lines[0] += f"已进入“{view.current_step_label}”环节。"
    if note:
        lines.append(f"说明：{note}")
    if view.next_step_label and view.next_step_due_at:
        day = view.next_step_due_at.astimezone(LOCAL_TZ).date() - timedelta(days=1)
        lines.append(f"下一环节：{view.next_step_label}，预计{day.month}月{day.day}日前。")
    elif view.next_step_label:
        lines.append(f"下一环节：{view.next_step_label}。")
    lines.append("查询进度请回复“查申请进度”。")
    return "\n".join(lines)


def advance(
    session: Session,
    application_no: str,
    *,
    actor: str,
    channel: str = "staff",
    note: str | None = None,
    to_step: str | None = None,
    arrangement: str | None = None,
    now: datetime | None = None,
    catalogue: ApplicationCatalogue | None = None,
) -> tuple[ServiceApplication, int | None]:
    """Move to the next step (or a later one of this type). Returns the application and the id of
    the transcript message that told the customer (None when no conversation is known)."""
    books = _catalogue(catalogue)
    at = now or utcnow()
    application = get_application(session, application_no)
    kind = _type_of(application, books)
    current = books.canonical_step(application.status)
    if current == LAST_STEP:
        raise InvalidStepChange("the application is already completed")
    target = to_step or _next_step(kind, current)
    if target is None or target not in kind.steps:
        raise InvalidStepChange(f"{target!r} is not a step of {kind.name}")
    position = kind.steps.index(current) if current in kind.steps else 0
    if kind.steps.index(target) <= position:
        raise InvalidStepChange(f"cannot go back from {current} to {target}")
    account = session.get(Account, application.account_id) if application.account_id else None
    limit = _limit(application, account, books)
    before = {
        "status": current,
        "step_started_at": (application.step_started_at or application.submitted_at).isoformat(),
        "arrangement": application.next_step,
    }
    open_step = session.scalars(
        select(ApplicationStepEvent)
        .where(ApplicationStepEvent.application_id == application.id, ApplicationStepEvent.ended_at.is_(None))
        .order_by(ApplicationStepEvent.id.desc())
        .limit(1)
    ).first()
    if open_step is not None:
        open_step.ended_at = at
    cleaned_note = _clean(note, MAX_NOTE)
    application.status = target
    application.current_step = books.step_label(target)
    application.step_started_at = at
    application.next_step = _clean(arrangement, 255)
    application.overdue_flagged_at = None
    application.updated_at = at
    if application.due_at is None:
        application.due_at = working_deadline(application.submitted_at, limit.working_days)
    if target == LAST_STEP:
        application.step_due_at = None
        application.completed_at = at
    else:
        application.step_due_at = working_deadline(at, limit.days_for_step(target))
    step_event = ApplicationStepEvent(
        application_id=application.id,
        step=target,
        label=books.step_label(target),
        started_at=at,
        due_at=application.step_due_at,
        ended_at=at if target == LAST_STEP else None,
        actor=actor,
        note=cleaned_note,
    )
    session.add(step_event)
    session.flush()

    view = describe(session, application, now=at, catalogue=books)
    conversation = _notice_conversation(session, application)
    message_id: int | None = None
    if conversation is not None:
        message = record_outbound(session, conversation, [notice_text(view, cleaned_note)], sender="system")[
            0
        ]
        message_id = message.id
        step_event.notice_message_id = message_id
    audit.record(
        session,
        actor=actor,
        action="application.advance",
        entity_type=ENTITY,
        entity_id=application.application_no,
        channel=channel,
        before=before,
        after={
            "status": target,
            "note": cleaned_note,
            "arrangement": application.next_step,
            "step_due_at": application.step_due_at.isoformat() if application.step_due_at else None,
            "notice_message_id": message_id,
        },
    )
    session.flush()
    return application, message_id


def history(session: Session, application: ServiceApplication) -> list[ApplicationStepEvent]:
    return list(
        session.scalars(
            select(ApplicationStepEvent)
            .where(ApplicationStepEvent.application_id == application.id)
            .order_by(ApplicationStepEvent.id)
        )
    )


def list_applications(
    session: Session,
    *,
    overdue_only: bool = False,
    status: str | None = None,
    limit: int = 100,
    now: datetime | None = None,
    catalogue: ApplicationCatalogue | None = None,
) -> list[tuple[ServiceApplication, ApplicationView]]:
    books = _catalogue(catalogue)
    query = select(ServiceApplication).order_by(ServiceApplication.submitted_at.desc())
    if status:
        query = query.where(ServiceApplication.status == status)
    if not overdue_only:
        query = query.limit(limit)
    rows: list[tuple[ServiceApplication, ApplicationView]] = []
    for application in session.scalars(query):
        view = describe(session, application, now=now, catalogue=books)
        if overdue_only and not view.overdue:
            continue
        rows.append((application, view))
        if len(rows) >= limit:
            break
    return rows


def flag_overdue(
    session: Session, *, now: datetime | None = None, catalogue: ApplicationCatalogue | None = None
) -> list[str]:
    """Mark every open application past a deadline, once per step, with an audit event.
    Meant for the scheduler; safe to run repeatedly."""
    books = _catalogue(catalogue)
    at = now or utcnow()
    flagged: list[str] = []
    candidates: Sequence[ServiceApplication] = list(
        session.scalars(
            select(ServiceApplication)
            .where(
                ServiceApplication.status != LAST_STEP,
                ServiceApplication.overdue_flagged_at.is_(None),
            )
            # Several scheduler copies may sweep at once: each application is flagged by one.
            .with_for_update(skip_locked=True)
        )
    )
    for application in candidates:
        view = describe(session, application, now=at, catalogue=books)
        if not view.overdue:
            continue
        application.overdue_flagged_at = at
        audit.record(
            session,
            actor="system",
            action="application.overdue",
            entity_type=ENTITY,
            entity_id=application.application_no,
            channel="system",
            after={
                "status": view.status,
                "reason": view.overdue_reason,
                "due_at": view.due_at.isoformat(),
                "step_due_at": view.step_due_at.isoformat() if view.step_due_at else None,
            },
        )
        flagged.append(application.application_no)
    session.flush()
    return flagged


def view_json(view: ApplicationView) -> dict[str, Any]:
    """Plain JSON-able mapping of a view (the API shapes it further)."""
    data = {name: getattr(view, name) for name in view.__dataclass_fields__}
    data["steps"] = [{"code": s.code, "label": s.label, "state": s.state} for s in view.steps]
    return data
