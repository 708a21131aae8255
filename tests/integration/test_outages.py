"""Outages and faults: which cover a place (many spellings) and a time; create/update with audit.

Demo data (shared/spec/demo_customers.yml): 七里营镇 [七里营村, 东街村, 西街村] planned tomorrow
08:00–18:00; 小冀镇 [小冀村, 工业路沿线] active fault; 合河乡 nothing. Rows a test creates stay
in its own transaction, which the `session` fixture rolls back.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from backend.address import parse_address
from backend.clock import LOCAL_TZ, local_today, utcnow
from backend.models import AuditEvent
from backend.services import outages

TOMORROW = local_today() + timedelta(days=1)


def kinds(session, text, **when):
    return [(m.kind, m.match) for m in outages.find_covering(session, parse_address(text), **when)]


def local(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    "spelling",
    [
        "七里营镇七里营村3组",
        "七里营镇七里营村三组12号",
        "新乡县七里营镇西街村",
        "七里营村3组",  # town inferred from the village
        "七里营镇东街",  # village alias
        "俺是七里营东街的",
        "七里英镇七里营村",  # hotline ASR rendering of the town
        "七里营镇 七里营村 ３组",  # spaces and a full-width digit
    ],
)
def test_planned_outage_covers_villages_however_written(session, spelling):
    assert kinds(session, spelling, day=TOMORROW) == [("planned", "covered")]


@pytest.mark.parametrize("spelling", ["七里营", "七里营镇", "新乡县七里营镇"])
def test_town_only_is_told_as_partial(session, spelling):
    assert kinds(session, spelling, day=TOMORROW) == [("planned", "town_only")]


@pytest.mark.parametrize(
    "spelling",
    ["七里营镇刘庄村", "七里营镇刘庄村3组", "合河乡", "合河乡合河村4组15号", "郑州市金水区", "随便哪里"],
)
def test_places_outside_the_outage_are_not_covered(session, spelling):
    assert kinds(session, spelling, day=TOMORROW) == []


def test_planned_outage_window_is_respected(session):
    place = "七里营镇七里营村3组"
    assert kinds(session, place, day=local_today()) == []
    assert kinds(session, place, at=local(TOMORROW, 7, 59)) == []
    assert kinds(session, place, at=local(TOMORROW, 8, 0)) == [("planned", "covered")]
    assert kinds(session, place, at=local(TOMORROW, 17, 59)) == [("planned", "covered")]
    assert kinds(session, place, at=local(TOMORROW, 18, 0)) == []


@pytest.mark.parametrize("spelling", ["小冀镇工业路18号", "新乡县小冀镇工业路", "小冀镇小冀村", "小冀"])
def test_active_fault_covers_now_and_today_only(session, spelling):
    expected = "town_only" if spelling == "小冀" else "covered"
    assert kinds(session, spelling) == [("fault", expected)]
    assert kinds(session, spelling, day=local_today()) == [("fault", expected)]
    assert kinds(session, spelling, day=TOMORROW) == []


def test_create_update_cancel_planned_outage_with_audit(session):
    start = local(local_today() + timedelta(days=40), 9)
    outage = outages.create_planned_outage(
        session,
        area="合河",  # alias of 合河乡
        villages=["合河村"],
        line="10kV合河线",
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        reason="线路改造",
        actor="staff:zhang",
        channel="console",
    )
    assert outage.area == "合河乡"
    day = start.date()
    assert kinds(session, "合河乡合河村4组", day=day) == [("planned", "covered")]

    outages.update_planned_outage(
        session, outage.id, actor="staff:zhang", channel="console", changes={"status": "cancelled"}
    )
    assert kinds(session, "合河乡合河村4组", day=day) == []
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity_type == "planned_outage", AuditEvent.entity_id == str(outage.id)
        )
    ).all()
    assert [e.action for e in events] == ["outage.create", "outage.update"]
    assert events[1].before["status"] == "scheduled" and events[1].after["status"] == "cancelled"
    assert events[0].actor == "staff:zhang" and events[0].channel == "console"


def test_fault_restored_no_longer_covers(session):
    fault = outages.create_fault(
        session,
        area="大块镇",
        villages=[],
        cause="雷击跳闸",
        expected_restore_at=utcnow() + timedelta(hours=1),
        actor="staff:li",
        channel="console",
    )
    assert kinds(session, "大块镇任意村") == [("fault", "covered")]  # empty list: the whole town
    outages.update_fault(
        session, fault.id, actor="staff:li", channel="console", changes={"status": "restored"}
    )
    assert fault.restored_at is not None
    assert kinds(session, "大块镇任意村") == []
    actions = session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.entity_type == "active_fault", AuditEvent.entity_id == str(fault.id)
        )
    ).all()
    assert actions == ["fault.create", "fault.restore"]


def test_invalid_outages_are_refused(session):
    start = utcnow() + timedelta(days=50)
    with pytest.raises(outages.OutageError):
        outages.create_planned_outage(
            session, area="郑州市", villages=[], line="x", starts_at=start,
            ends_at=start + timedelta(hours=1), reason="x", actor="staff", channel="console",
        )  # fmt: skip
    with pytest.raises(outages.OutageError):
        outages.create_planned_outage(
            session, area="七里营镇", villages=[], line="x", starts_at=start, ends_at=start,
            reason="x", actor="staff", channel="console",
        )  # fmt: skip
    with pytest.raises(outages.OutageNotFound):
        outages.update_fault(
            session, 999_999, actor="staff", channel="console", changes={"status": "restored"}
        )
