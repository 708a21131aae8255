"""Service applications on SQLite and PostgreSQL: the confirmation gate, verification of existing
accounts, working-day deadlines, status by number and by account, overdue flags, step advance
with audit and a customer notice in the transcript."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.clock import LOCAL_TZ
from backend.models import AuditEvent, Message, ServiceApplication
from backend.services import applications as apps
from backend.services.accounts import NotVerified, verify_identity
from backend.services.conversations import get_or_create_conversation

CHEN_MING = "3100000006"  # demo customer with a 新装 at the site-survey step
CHEN_MING_LAST4 = "2468"
# Wednesday 30 September 2026, 10:00 in 新乡: the National Day holiday starts the next day.
BEFORE_NATIONAL_DAY = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)


def _conversation(session: Session, unique_id: str) -> str:
    return get_or_create_conversation(session, "wechat", f"openid-{unique_id}").public_id


def _new_connection(session: Session, conversation_id: str, **overrides: object) -> ServiceApplication:
    values: dict[str, object] = {
        "business_type": "新装",
        "conversation_id": conversation_id,
        "channel": "wechat",
        "confirmed": True,
        "address": "新乡县七里营镇刘庄村3组新房",
        "supply_class": "residential",
        "contact_phone": "13803731234",
        "preferred_survey_time": "明天上午",
        **overrides,
    }
    return apps.create_application(session, **values)  # type: ignore[arg-type]


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ServiceApplication)) or 0


def _audit(session: Session, action: str, number: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.entity_id == number)
            .order_by(AuditEvent.id)
        )
    )


def test_nothing_is_created_without_confirmation(session: Session, unique_id: str) -> None:
    conversation_id = _conversation(session, unique_id)
    before = _count(session)
    with pytest.raises(apps.NotConfirmed):
        _new_connection(session, conversation_id, confirmed=False)
    assert _count(session) == before


def test_create_issues_a_number_and_a_deadline_across_the_national_day_holiday(
    session: Session, unique_id: str
) -> None:
    conversation_id = _conversation(session, unique_id)
    application = _new_connection(session, conversation_id, now=BEFORE_NATIONAL_DAY)
    assert application.application_no.startswith("20260930") and len(application.application_no) == 14
    # 5 working days after Wed 30 Sep: Thu 8, Fri 9, Sat 10 (调休 working day), Mon 12, Tue 13 Oct.
    assert application.due_at is not None
    assert application.due_at.astimezone(LOCAL_TZ) == datetime(2026, 10, 14, 0, 0, tzinfo=LOCAL_TZ)
    view = apps.describe(session, application, now=BEFORE_NATIONAL_DAY + timedelta(hours=1))
    assert view.current_step_label == "受理" and view.next_step_label == "现场勘查"
    assert view.time_limit_days == 5 and view.time_limit_confirmed and view.on_time
    assert view.arrangement == "现场勘查，客户希望：明天上午"
    created = _audit(session, "application.create", application.application_no)
    assert len(created) == 1 and created[0].after["business_type"] == "新装"  # type: ignore[index]
    assert [e.step for e in apps.history(session, application)] == ["accepted"]


def test_non_residential_limit_is_six_working_days(session: Session, unique_id: str) -> None:
    application = _new_connection(
        session,
        _conversation(session, unique_id),
        supply_class="low_voltage_non_residential",
        now=BEFORE_NATIONAL_DAY,
    )
    assert application.due_at is not None
    assert application.due_at.astimezone(LOCAL_TZ).date() == datetime(2026, 10, 15).date()


def test_existing_account_types_need_a_verified_account(session: Session, unique_id: str) -> None:
    conversation_id = _conversation(session, unique_id)
    transfer = {"business_type": "过户", "new_holder_name": "陈小明", "address": None}
    with pytest.raises(apps.InvalidApplication):
        _new_connection(session, conversation_id, **transfer)
    with pytest.raises(NotVerified):
        _new_connection(session, conversation_id, account_no=CHEN_MING, **transfer)
    assert verify_identity(
        session,
        conversation_id=conversation_id,
        channel="wechat",
        account_no=CHEN_MING,
        phone_last4=CHEN_MING_LAST4,
    ).verified
    application = _new_connection(session, conversation_id, account_no=CHEN_MING, **transfer)
    assert application.address.startswith("新乡县古固寨镇")  # the account's address
    assert application.details == {"new_holder_name": "陈小明", "preferred_survey_time": "明天上午"}
    view = apps.describe(session, application)
    assert view.account_masked == "****0006" and view.next_step_label == "资料审核"
    assert not view.time_limit_quotable  # no sourced limit for 过户


def test_status_by_number_is_only_for_the_conversation_or_the_verified_account(
    session: Session, unique_id: str
) -> None:
    mine = _conversation(session, unique_id)
    application = _new_connection(session, mine)
    number = application.application_no
    assert apps.customer_application(session, conversation_id=mine, application_no=number) is application
    with pytest.raises(apps.ApplicationNotFound):
        apps.customer_application(
            session, conversation_id=_conversation(session, unique_id + "x"), application_no=number
        )
    with pytest.raises(apps.ApplicationNotFound):
        apps.customer_application(session, conversation_id=mine, application_no="20990101000001")


def test_status_by_verified_account_shows_chen_mings_site_survey(session: Session, unique_id: str) -> None:
    conversation_id = _conversation(session, unique_id)
    with pytest.raises(NotVerified):
        apps.customer_applications(session, conversation_id=conversation_id, account_no=CHEN_MING)
    assert apps.customer_applications(session, conversation_id=conversation_id) == []
    verify_identity(
        session,
        conversation_id=conversation_id,
        channel="wechat",
        account_no=CHEN_MING,
        phone_last4=CHEN_MING_LAST4,
    )
    found = apps.customer_applications(session, conversation_id=conversation_id, account_no=CHEN_MING)
    seeded = [a for a in found if a.business_type == "新装"]
    assert seeded, "the demo 新装 of 陈明 is listed"
    view = apps.describe(session, seeded[-1])
    assert view.current_step == "site_survey" and view.current_step_label == "现场勘查"
    assert view.arrangement == "现场勘查，预约明天上午"
    assert view.next_step_label == "供电方案答复"
    assert view.on_time and not view.overdue
    # The same list without naming the account: the verified account's applications are included.
    assert {a.id for a in seeded} <= {
        a.id for a in apps.customer_applications(session, conversation_id=conversation_id)
    }


def test_overdue_is_flagged_once_with_an_audit_event(session: Session, unique_id: str) -> None:
    application = _new_connection(session, _conversation(session, unique_id), now=BEFORE_NATIONAL_DAY)
    number = application.application_no
    still_fine = datetime(2026, 10, 13, 8, 0, tzinfo=UTC)  # Tue 13 Oct 16:00, last working day
    # Still within the whole limit; only the internal 受理 step budget has run out.
    assert apps.describe(session, application, now=still_fine).overdue_reason == "step"
    late = datetime(2026, 10, 14, 1, 0, tzinfo=UTC)
    view = apps.describe(session, application, now=late)
    assert view.overdue and view.overdue_reason == "whole" and view.on_time is False
    assert number in apps.flag_overdue(session, now=late)
    assert number not in apps.flag_overdue(session, now=late + timedelta(hours=1))
    events = _audit(session, "application.overdue", number)
    assert len(events) == 1 and events[0].after["reason"] == "whole"  # type: ignore[index]
    listed = [
        a.application_no for a, _ in apps.list_applications(session, overdue_only=True, now=late, limit=500)
    ]
    assert number in listed


def test_step_overdue_before_the_whole_deadline(session: Session, unique_id: str) -> None:
    application = _new_connection(session, _conversation(session, unique_id), now=BEFORE_NATIONAL_DAY)
    # 受理 has one working day (Thu 8 Oct); on Fri 9 Oct it is late, the whole process is not.
    view = apps.describe(session, application, now=datetime(2026, 10, 9, 2, 0, tzinfo=UTC))
    assert view.overdue and view.overdue_reason == "step"


def test_advance_audits_and_notifies_the_customer_in_the_transcript(session: Session, unique_id: str) -> None:
    conversation_id = _conversation(session, unique_id)
    application = _new_connection(session, conversation_id)
    number = application.application_no
    moved, message_id = apps.advance(
        session, number, actor="agent:agent-001", note="已联系客户", arrangement="现场勘查，预约周五上午"
    )
    assert moved.status == "site_survey" and moved.current_step == "现场勘查"
    assert message_id is not None
    notice = session.get(Message, message_id)
    assert notice is not None and notice.direction == "out" and notice.sender == "system"
    assert number in notice.text and "现场勘查" in notice.text and "已联系客户" in notice.text
    events = _audit(session, "application.advance", number)
    assert len(events) == 1
    assert events[0].before["status"] == "accepted"  # type: ignore[index]
    assert events[0].after["status"] == "site_survey" and events[0].actor == "agent:agent-001"  # type: ignore[index]
    view = apps.describe(session, moved)
    assert view.arrangement == "现场勘查，预约周五上午" and view.next_step_label == "供电方案答复"

    with pytest.raises(apps.InvalidStepChange):
        apps.advance(session, number, actor="agent:agent-001", to_step="accepted")
    apps.advance(session, number, actor="agent:agent-001", to_step="completed", note="已送电")
    done = apps.describe(session, moved)
    assert done.completed and done.on_time and done.completed_at is not None
    with pytest.raises(apps.InvalidStepChange):
        apps.advance(session, number, actor="agent:agent-001")
    steps = [(e.step, e.ended_at is not None) for e in apps.history(session, moved)]
    assert steps == [("accepted", True), ("site_survey", True), ("completed", True)]


def test_advancing_a_seeded_application_notifies_the_conversation_that_verified_it(
    session: Session, unique_id: str
) -> None:
    conversation_id = _conversation(session, unique_id)
    verify_identity(
        session,
        conversation_id=conversation_id,
        channel="wechat",
        account_no=CHEN_MING,
        phone_last4=CHEN_MING_LAST4,
    )
    seeded = next(
        a
        for a in apps.customer_applications(session, conversation_id=conversation_id, account_no=CHEN_MING)
        if a.business_type == "新装"
    )
    moved, message_id = apps.advance(session, seeded.application_no, actor="agent:agent-001", note="勘查完成")
    assert moved.status == "scheme_reply"
    notice = session.get(Message, message_id)
    assert notice is not None and notice.sender == "system" and "供电方案答复" in notice.text


def test_unknown_type_and_missing_fields_are_refused(session: Session, unique_id: str) -> None:
    conversation_id = _conversation(session, unique_id)
    with pytest.raises(apps.InvalidApplication):
        _new_connection(session, conversation_id, business_type="装空调")
    with pytest.raises(apps.InvalidApplication):
        _new_connection(session, conversation_id, address=" ")
    with pytest.raises(apps.InvalidApplication):
        _new_connection(session, conversation_id, business_type="光伏并网")  # no capacity
    pv = _new_connection(session, conversation_id, business_type="光伏并网", capacity_kw="8")
    assert apps.describe(session, pv).time_limit_quotable is False
