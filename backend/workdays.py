"""Working-day calendar (工作日) for Chinese public holidays and 调休 weekends (config/holidays.yml).

Used by every time limit counted in working days: work-order answers (backend/sla.py) and
application steps (issue 6). Dates are local (Asia/Shanghai); a datetime is first turned into its
local date.

Conventions, so that counting agrees everywhere:
- `add_working_days(start, n)` is the n-th working day AFTER `start` (start itself never counts):
  an order accepted on Friday with a 1-working-day limit is due on Monday (if Monday works).
- `working_days_between(a, b)` counts the working days in (a, b], so
  `working_days_between(a, add_working_days(a, n)) == n`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from backend.clock import LOCAL_TZ

logger = logging.getLogger(__name__)

DEFAULT_HOLIDAY_CONFIG = Path(__file__).resolve().parent.parent / "config" / "holidays.yml"
SATURDAY = 5


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date]
    working_weekends: frozenset[date]
    years: frozenset[int]
    _warned: set[int] = field(default_factory=set, compare=False, hash=False)

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.years and day.year not in self._warned:
            # Not fatal: a limit must still be computed, but someone must add the year.
            self._warned.add(day.year)
            logger.warning("no holiday calendar for %s: counting Monday to Friday only", day.year)
        if day in self.working_weekends:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < SATURDAY

    def add_working_days(self, start: date, n: int) -> date:
        if n < 0:
            raise ValueError("n must be zero or more")
        day = start
        remaining = n
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, a: date, b: date) -> int:
        if b < a:
            return -self.working_days_between(b, a)
        count, day = 0, a
        while day < b:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def _expand(entry: Any) -> list[date]:
    """A date, or a range written "2025-01-28..2025-02-04" (both ends included)."""
    if isinstance(entry, date):
        return [entry]
    text = str(entry).strip()
    if ".." in text:
        first, last = (date.fromisoformat(part.strip()) for part in text.split("..", 1))
        if last < first:
            raise ValueError(f"holiday range ends before it starts: {text}")
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    return [date.fromisoformat(text)]


def load_calendar(path: Path | str | None = None) -> WorkCalendar:
    raw = yaml.safe_load(Path(path or DEFAULT_HOLIDAY_CONFIG).read_text(encoding="utf-8"))
    holidays: set[date] = set()
    working: set[date] = set()
    years: set[int] = set()
    for year, spec in (raw.get("years") or {}).items():
        years.add(int(year))
        for entry in spec.get("holidays") or []:
            holidays.update(_expand(entry))
        for entry in spec.get("working_weekends") or []:
            working.update(_expand(entry))
    clash = holidays & working
    if clash:
        raise ValueError(f"dates both holiday and working day: {sorted(clash)}")
    return WorkCalendar(frozenset(holidays), frozenset(working), frozenset(years))


@lru_cache(maxsize=4)
def _cached_calendar(path: str) -> WorkCalendar:
    return load_calendar(path)


def default_calendar() -> WorkCalendar:
    from backend.settings import get_settings  # late: settings import must stay cheap here

    return _cached_calendar(str(get_settings().holiday_config))


def _local_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware values")
        return value.astimezone(LOCAL_TZ).date()
    return value


def is_working_day(d: date | datetime, calendar: WorkCalendar | None = None) -> bool:
    return (calendar or default_calendar()).is_working_day(_local_date(d))


def add_working_days(start: date | datetime, n: int, calendar: WorkCalendar | None = None) -> date:
    """The n-th working day after `start` (local date); start itself is not counted."""
    return (calendar or default_calendar()).add_working_days(_local_date(start), n)


def working_days_between(a: date | datetime, b: date | datetime, calendar: WorkCalendar | None = None) -> int:
    """Working days in (a, b]; negative when b is before a."""
    return (calendar or default_calendar()).working_days_between(_local_date(a), _local_date(b))
