"""Repair orders: no duplicate inside a known outage, arrival commitment by area type, grouping
of several reports from one village into a probable area fault, hazards, crew progress.

Each test works in its own transaction (rolled back by the `session` fixture) and, where it
counts recent reports, at its own moment in the future so other tests' orders are not "recent".
"""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from backend.clock import LOCAL_TZ, local_today, utcnow
from backend.commitments import load_commitments
from backend.models import AuditEvent, Ticket
from backend.models_workorders import SupervisorNotification
from backend.services import repairs

_moments = itertools.count(1)


def fresh_now() -> datetime:
    """A moment far enough from every other test's that grouping windows never overlap."""
    return utcnow() + timedelta(days=400 + next(_moments) * 3)


def report(session, text, *, conversation="c", now=None, fault_type="全户停电"):
    return repairs.report_fault(
        session,
        place=repairs.place_from_text(text),
        fault_type=fault_type,
        contact_phone="13800001111",
        description="就俺一家没电",
        channel="wechat",
        actor="customer",
        conversation_id=conversation,
        now=now or fresh_now(),
    )


def count_tickets(session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket)) or 0


# ---------------------------------------------------------------- duplicate suppression


@pytest.mark.parametrize("place", ["小冀镇工业路18号", "小冀镇小冀村2组"])
def test_no_order_inside_an_active_fault(session, place):
    before = count_tickets(session)
    result = report(session, place, now=utcnow())
    assert result.outcome == "known_outage"
    assert result.known is not None and result.known.kind == "fault"
    assert result.ticket is None
    assert count_tickets(session) == before


def test_no_order_inside_a_planned_outage_window(session):
    during = datetime.combine(local_today() + timedelta(days=1), time(10, 0), tzinfo=LOCAL_TZ)
    result = report(session, "七里营镇七里营村3组", now=during)
    assert result.outcome == "known_outage" and result.known.kind == "planned"
    after = datetime.combine(local_today() + timedelta(days=1), time(19, 0), tzinfo=LOCAL_TZ)
    assert report(session, "七里营镇七里营村3组", now=after).outcome == "created"


def test_same_reporter_same_place_gets_the_open_order_back(session):
    now = fresh_now()
    first = report(session, "合河乡合河村4组", conversation="same", now=now)
    again = report(session, "合河乡合河村4组15号", conversation="same", now=now + timedelta(minutes=5))
    assert first.outcome == "created"
    assert again.outcome == "existing_order" and again.ticket.ticket_no == first.ticket.ticket_no


# ---------------------------------------------------------------- arrival commitment


@pytest.mark.parametrize(
    ("place", "area_type", "minutes"),
    [
        ("县城金穗大道幸福小区3号楼", "urban", 45),
        ("合河乡合河村4组", "rural", 90),
        ("翟坡镇翟坡村东地3号机井", "remote", 120),
        ("翟坡镇滩区新村", "remote", 120),
    ],
)
def test_arrival_commitment_by_area_type(session, place, area_type, minutes):
    now = fresh_now()
    ticket = report(session, place, now=now).ticket
    detail = repairs.repair_details(ticket)
    assert (detail["area_type"], detail["arrival_minutes"]) == (area_type, minutes)
    check = repairs.arrival_check(ticket, now=now)
    assert check.due_at == now + timedelta(minutes=minutes) and check.state == "on_track"
    assert repairs.arrival_check(ticket, now=now + timedelta(minutes=minutes + 1)).state == "overdue"
    # The work-order service's contact limit (config/sla.yml) must promise the same arrival.
    assert ticket.contact_due_at == now + timedelta(minutes=minutes)


def test_commitments_config_is_dated_and_sourced():
    commitments = load_commitments()
    assert commitments.arrival_minutes == {"urban": 45, "rural": 90, "remote": 120}
    assert "十项承诺" in commitments.source and commitments.grade == "A"
    assert commitments.caveat == "以当地营业厅公布为准"


def test_verified_account_address_and_area_type(session):
    place = repairs.place_from_account(session, "3100000004")  # 翟坡镇 机井: remote
    assert place.area_type == "remote" and place.account_id is not None
    ticket = repairs.report_fault(
        session, place=place, fault_type="全户停电", contact_phone=None, description=None,
        channel="wechat", actor="customer", conversation_id="acc", now=fresh_now(),
    ).ticket  # fmt: skip
    assert ticket.account_id == place.account_id
    assert repairs.repair_details(ticket)["arrival_minutes"] == 120


# ---------------------------------------------------------------- grouping


def test_three_reports_from_one_village_in_the_window_are_a_probable_area_fault(session):
    now = fresh_now()
    first = report(session, "大召营镇孙庄村1组", conversation="g1", now=now).ticket
    second = report(session, "孙庄村3组", conversation="g2", now=now + timedelta(minutes=10)).ticket
    assert not repairs.repair_details(second)["probable_area_fault"]
    third = report(session, "大召营镇孙庄", conversation="g3", now=now + timedelta(minutes=20)).ticket
    group = [first.ticket_no, second.ticket_no, third.ticket_no]
    for ticket in (first, second, third):
        session.refresh(ticket)
        detail = repairs.repair_details(ticket)
        assert detail["probable_area_fault"] is True and detail["area_fault_group"] == group
        assert ticket.priority == "high"
    flagged = session.scalars(
        select(AuditEvent.entity_id).where(
            AuditEvent.action == "repair.group_area_fault", AuditEvent.entity_id.in_(group)
        )
    ).all()
    assert sorted(flagged) == sorted(group)


def test_reports_outside_the_window_or_village_are_not_grouped(session):
    now = fresh_now()
    window = load_commitments().grouping_window_minutes
    report(session, "古固寨镇祝楼村", conversation="w1", now=now)
    report(session, "古固寨镇祝楼村", conversation="w2", now=now + timedelta(minutes=5))
    other_village = report(
        session, "古固寨镇新庄村", conversation="w3", now=now + timedelta(minutes=6)
    ).ticket
    late = report(
        session, "古固寨镇祝楼村", conversation="w4", now=now + timedelta(minutes=window + 10)
    ).ticket
    assert not repairs.repair_details(other_village)["probable_area_fault"]
    assert not repairs.repair_details(late)["probable_area_fault"]


# ---------------------------------------------------------------- hazards and progress


def test_hazard_is_urgent_and_flagged_for_a_person(session):
    ticket = repairs.report_hazard(
        session, location="七里营镇刘庄村村口", description="电线掉地上了", channel="wechat",
        actor="customer", conversation_id="hz",
    )  # fmt: skip
    assert ticket.priority == "urgent" and ticket.kind == "repair" and ticket.category == "险情"
    assert (ticket.details or {})["needs_immediate_human"] is True
    note = session.scalars(
        select(SupervisorNotification).where(SupervisorNotification.ticket_id == ticket.id)
    ).one()
    assert note.reason == "hazard" and ticket.ticket_no in note.message
    assert session.scalar(
        select(AuditEvent.action).where(
            AuditEvent.entity_id == ticket.ticket_no, AuditEvent.action == "workorder.create"
        )
    )


def test_crew_progress_and_arrival_met_or_late(session):
    now = fresh_now()
    ticket = report(session, "合河乡塔铺村", now=now).ticket
    steps = [("dispatched", 5), ("on_the_way", 10), ("arrived", 80), ("fixed", 200)]
    for step, minutes in steps:
        repairs.record_progress(
            session, ticket.ticket_no, step, actor="staff:wang", channel="console",
            assignee="合河供电所" if step == "dispatched" else None, now=now + timedelta(minutes=minutes),
        )  # fmt: skip
    assert ticket.status == "answered"
    assert repairs.arrival_check(ticket).state == "met"
    assert set(repairs.repair_details(ticket)["progress"]) == {f"{s}_at" for s, _ in steps}

    late = report(session, "合河乡南曲里村", now=now).ticket
    repairs.record_progress(
        session, late.ticket_no, "dispatched", actor="s", channel="console", assignee="所", now=now
    )
    repairs.record_progress(session, late.ticket_no, "on_the_way", actor="s", channel="console", now=now)
    repairs.record_progress(
        session, late.ticket_no, "arrived", actor="s", channel="console", now=now + timedelta(minutes=95)
    )
    assert repairs.arrival_check(late).state == "late"


def test_unknown_place_is_refused_not_guessed():
    with pytest.raises(repairs.RepairError):
        repairs.place_from_text("郑州市金水区")
