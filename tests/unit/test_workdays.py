"""Working-day arithmetic against the 2025/2026 State Council holiday arrangements (config/holidays.yml)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.workdays import (
    add_working_days,
    default_calendar,
    is_working_day,
    load_calendar,
    working_days_between,
)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 1, 1), False),  # 元旦
        (date(2025, 1, 26), True),  # Sunday, 春节调休 working day
        (date(2025, 1, 28), False),  # 除夕
        (date(2025, 2, 4), False),  # last day of 春节
        (date(2025, 2, 5), True),
        (date(2025, 2, 8), True),  # Saturday, 调休
        (date(2025, 4, 27), True),  # Sunday before 劳动节
        (date(2025, 5, 5), False),
        (date(2025, 10, 8), False),
        (date(2025, 10, 11), True),  # Saturday, 调休
        (date(2026, 1, 4), True),  # Sunday, 元旦调休
        (date(2026, 2, 16), False),  # 春节
        (date(2026, 2, 28), True),  # Saturday, 调休
        (date(2026, 10, 7), False),
        (date(2026, 10, 10), True),
        (date(2026, 11, 26), True),  # an ordinary Thursday
        (date(2026, 11, 28), False),  # an ordinary Saturday
    ],
)
def test_holidays_and_makeup_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_adding_working_days_skips_weekends_and_holidays() -> None:
    assert add_working_days(date(2026, 11, 26), 4) == date(2026, 12, 2)  # Thu + 4 over a weekend
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)  # over 国庆
    assert add_working_days(date(2026, 9, 30), 2) == date(2026, 10, 9)
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)  # the 调休 Saturday works
    assert add_working_days(date(2025, 1, 24), 1) == date(2025, 1, 26)  # Friday -> the 调休 Sunday
    assert add_working_days(date(2026, 11, 27), 0) == date(2026, 11, 27)


def test_a_datetime_counts_from_its_beijing_date() -> None:
    # Thursday 17:30 UTC is already Friday 01:30 in 新乡: one working day later is Monday, not Friday.
    late_thursday_utc = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)
    assert add_working_days(late_thursday_utc, 1) == date(2026, 11, 30)
    # Friday 17:30 UTC is Saturday in 新乡.
    assert is_working_day(datetime(2026, 11, 27, 17, 30, tzinfo=UTC)) is False


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        add_working_days(datetime(2026, 11, 26, 8, 0), 1)


def test_between_counts_the_half_open_interval() -> None:
    assert working_days_between(date(2026, 11, 26), date(2026, 12, 2)) == 4
    assert working_days_between(date(2026, 12, 2), date(2026, 11, 26)) == -4
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2  # 14th (调休) and 24th
    assert working_days_between(date(2026, 11, 26), date(2026, 11, 26)) == 0


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2026, 11, 26), -1)


@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 11, 30)),
    n=st.integers(min_value=0, max_value=40),
)
def test_between_inverts_add(start: date, n: int) -> None:
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    if n:
        assert is_working_day(end)
        assert end > start


def test_the_calendar_names_its_years_and_rejects_contradictions(tmp_path) -> None:
    calendar = default_calendar()
    assert {2025, 2026, 2027} <= set(calendar.years)
    bad = tmp_path / "holidays.yml"
    bad.write_text(
        "years:\n  2030:\n    holidays: [2030-01-05]\n    working_weekends: [2030-01-05]\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="both holiday and working day"):
        load_calendar(bad)


def test_an_uncovered_year_falls_back_to_weekdays(caplog) -> None:
    calendar = load_calendar()
    monday = date(2031, 1, 6)
    with caplog.at_level("WARNING"):
        assert calendar.is_working_day(monday)
    assert "no holiday calendar for 2031" in caplog.text
    assert not calendar.is_working_day(monday + timedelta(days=5))
