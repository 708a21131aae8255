"""Time limits from config/sla.yml: due times per kind/channel/category and the at-risk stages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.sla import Limit, SlaConfigError, compute_due_times, default_book, due_at, load_sla_book, stage

# Thursday 2026-11-26 14:00 in 新乡 (06:00 UTC).
THURSDAY = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def local_end_of(year: int, month: int, day: int) -> datetime:
    # 23:59:59 Beijing time is 15:59:59 UTC.
    return datetime(year, month, day, 15, 59, 59, tzinfo=UTC)


def test_complaint_contact_in_24_hours_and_answer_in_4_working_days() -> None:
    due = compute_due_times("complaint", channel="wechat", category="服务投诉", start=THURSDAY)
    assert due.contact_due_at == THURSDAY + timedelta(hours=24)
    assert due.answer_due_at == local_end_of(2026, 12, 2)  # Fri, Mon, Tue, Wed
    assert due.rule.grade == "B"
    assert due.rule.confirmed is False  # 淮安 proxy, to be confirmed for 国网河南


def test_report_answer_in_9_working_days() -> None:
    due = compute_due_times("report", channel="wechat", category="举报", start=THURSDAY)
    assert due.contact_due_at == THURSDAY + timedelta(hours=24)
    assert due.answer_due_at == local_end_of(2026, 12, 9)


def test_channel_refines_the_complaint_rule() -> None:
    nea = compute_due_times("complaint", channel="12398", category="营业投诉", start=THURSDAY)
    assert nea.answer_due_at == local_end_of(2026, 12, 10)  # 10 working days
    gov = compute_due_times("complaint", channel="12345", category="营业投诉", start=THURSDAY)
    assert gov.answer_due_at == local_end_of(2026, 12, 3)  # 7 calendar days


def test_working_days_cross_the_national_day_holiday() -> None:
    sept_30 = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    due = compute_due_times("complaint", channel="wechat", category="服务投诉", start=sept_30)
    # 10-08 Thu, 10-09 Fri, 10-10 Sat (调休 working day), 10-12 Mon
    assert due.answer_due_at == local_end_of(2026, 10, 12)


def test_category_refines_service_requests_and_praise_has_no_limit() -> None:
    meter = compute_due_times("service_request", channel="wechat", category="抄表数据异常", start=THURSDAY)
    assert meter.contact_due_at is None
    assert meter.answer_due_at == local_end_of(2026, 12, 4)  # 6 working days
    other = compute_due_times("service_request", channel="wechat", category="其他", start=THURSDAY)
    assert other.answer_due_at == local_end_of(2026, 12, 3)  # 5 working days
    praise = compute_due_times("praise", channel="wechat", category="表扬", start=THURSDAY)
    assert praise.contact_due_at is None and praise.answer_due_at is None


def test_repairs_depend_on_the_area() -> None:
    urban = compute_due_times("repair", channel="wechat", category="停电", start=THURSDAY, area_type="urban")
    rural = compute_due_times("repair", channel="wechat", category="停电", start=THURSDAY, area_type="rural")
    assert urban.contact_due_at == THURSDAY + timedelta(minutes=45)
    assert rural.contact_due_at == THURSDAY + timedelta(minutes=90)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(SlaConfigError):
        compute_due_times("gossip", channel="wechat", category="x", start=THURSDAY)


def test_calendar_days_end_with_the_local_day() -> None:
    late = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # already Friday 01:00 in 新乡
    assert due_at(late, Limit(1, "days")) == local_end_of(2026, 11, 28)


@pytest.mark.parametrize(
    ("elapsed_hours", "expected"),
    [(0, "ok"), (17.9, "ok"), (18, "at_risk"), (24, "at_risk"), (24.01, "breached")],
)
def test_stages(elapsed_hours: float, expected: str) -> None:
    due = THURSDAY + timedelta(hours=24)
    assert stage(THURSDAY, due, THURSDAY + timedelta(hours=elapsed_hours), 0.75) == expected


def test_every_rule_names_its_source() -> None:
    book = default_book()
    for kind, spec in book.kinds.items():
        rules = [
            spec["default"],
            *[r for s in ("areas", "channels", "categories") for r in (spec.get(s) or {}).values()],
        ]
        for rule in rules:
            assert rule.get("source"), kind
            assert "grade" in rule and "confirmed" in rule, kind


def test_a_malformed_limit_fails_at_load_time(tmp_path) -> None:
    bad = tmp_path / "sla.yml"
    bad.write_text(
        "effective_from: 2026-11-26\nkinds:\n  complaint:\n    default:\n      answer: {weeks: 2}\n",
        encoding="utf-8",
    )
    with pytest.raises(SlaConfigError):
        load_sla_book(bad)
