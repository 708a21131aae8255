"""Which months a customer means: 上个月, 10月份, 去年腊月, 今年夏天, 近半年 ...

Bills and usage are kept per calendar (Gregorian) month. Lunar months (腊月, 春节) are mapped to
the Gregorian month that holds most of them: 腊月 is the lunar month that ends the day before
春节, about 29–30 days long, so we take the month of the day 15 days before 春节 and tell the
customer the approximate dates. "去年腊月" is the 腊月 of the previous lunar year, i.e. the one
that ended at the latest 春节 already past (said in November 2026: 约2026年1月18日—2月16日,
mostly February 2026).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

# 春节 (first day of the lunar year), Gregorian dates. Astronomical calendar facts.
SPRING_FESTIVAL = {
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
}
LUNAR_MONTH_DAYS = 30
CN_NUMBERS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "十一": 11,
    "十二": 12,
    "元": 1,
    "正": 1,
    "冬": 11,
    "腊": 12,
}
SEASONS = {"春": (3, 5), "夏": (6, 8), "秋": (9, 11), "冬": (12, 2)}

_MONTH_NUMBER = r"(1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
_YEAR_MONTH = re.compile(r"(20\d{2})\s*年\s*" + _MONTH_NUMBER + r"\s*月")
_MONTH_RANGE = re.compile(
    r"(今年|去年|前年)?" + _MONTH_NUMBER + r"月份?\s*(?:到|至|-|—|~)\s*" + _MONTH_NUMBER + r"月"
)
_RELATIVE_YEAR_MONTH = re.compile(r"(今年|去年|前年)?\s*" + _MONTH_NUMBER + r"\s*月")
_SEASON = re.compile(r"(今年|去年|前年)?\s*([春夏秋冬])(?:天|季)")


@dataclass(frozen=True)
class MonthRange:
    start: date  # first day of the first month
    end: date  # first day of the last month (inclusive)
    label: str  # how the answer names it
    note: str | None = None  # e.g. how a lunar month was mapped
    kind: str = "month"  # month | range | latest | current

    @property
    def single(self) -> bool:
        return self.start == self.end


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_label(month: date) -> str:
    return f"{month.year}年{month.month}月"


def _number(text: str) -> int:
    return int(text) if text.isdigit() else CN_NUMBERS[text]


def _year_offset(word: str | None) -> int | None:
    return {"今年": 0, "去年": -1, "前年": -2}.get(word or "")


def lunar_year_of(day: date) -> int:
    festival = SPRING_FESTIVAL.get(day.year)
    if festival is None:
        raise KeyError(day.year)
    return day.year if day >= festival else day.year - 1


def la_yue(lunar_year: int) -> MonthRange:
    """腊月 of a lunar year: it ends the day before the next 春节."""
    festival = SPRING_FESTIVAL[lunar_year + 1]
    start, end = festival - timedelta(days=LUNAR_MONTH_DAYS), festival - timedelta(days=1)
    month = first_of_month(festival - timedelta(days=LUNAR_MONTH_DAYS // 2))
    other = first_of_month(start) if first_of_month(start) != month else first_of_month(end)
    note = (
        f"农历腊月是按农历算的，大约是公历{start.year}年{start.month}月{start.day}日到"
        f"{end.month}月{end.day}日；电费按公历月份出账，这段时间大部分在{month_label(month)}，"
        f"所以按{month_label(month)}的账单说"
    )
    if other != month:
        note += f"（前后还跨了{month_label(other)}的几天）"
    return MonthRange(month, month, month_label(month), note)


def parse_period(text: str, today: date) -> MonthRange | None:
    """The months named in `text`, or None when none is named (the caller uses the latest)."""
    text = text or ""
    current = first_of_month(today)
    if re.search(r"上上个?月", text):
        month = add_months(current, -2)
        return MonthRange(month, month, month_label(month))
    if re.search(r"上个?月|上月", text):
        month = add_months(current, -1)
        return MonthRange(month, month, month_label(month))
    if re.search(r"这个?月|本月|当月|本期|这期", text):
        return MonthRange(current, current, month_label(current), kind="current")
    if "腊月" in text:
        lunar_now = lunar_year_of(today)
        # "去年腊月" = last lunar year's 腊月; a bare "腊月" = the latest one that has begun.
        if "前年" in text:
            return la_yue(lunar_now - 2)
        if "去年" in text:
            return la_yue(lunar_now - 1)
        latest = la_yue(lunar_now)
        return latest if latest.start <= current else la_yue(lunar_now - 1)
    if re.search(r"春节|过年", text):
        year = today.year if SPRING_FESTIVAL[today.year] <= today else today.year - 1
        if "去年" in text:
            year -= 1
        festival = SPRING_FESTIVAL[year]
        month = first_of_month(festival)
        note = f"{year}年春节是公历{festival.month}月{festival.day}日，按{month_label(month)}的账单说"
        return MonthRange(month, month, month_label(month), note)
    if found := _YEAR_MONTH.search(text):
        month = date(int(found.group(1)), _number(found.group(2)), 1)
        return MonthRange(month, month, month_label(month))
    if found := _MONTH_RANGE.search(text):
        offset = _year_offset(found.group(1)) or 0
        first = date(today.year + offset, _number(found.group(2)), 1)
        last = date(today.year + offset, _number(found.group(3)), 1)
        if last < first:
            first = add_months(first, -12)
        return MonthRange(first, last, f"{month_label(first)}到{month_label(last)}", kind="range")
    if found := _SEASON.search(text):
        return _season(found.group(2), _year_offset(found.group(1)), today)
    if re.search(r"近半年|这半年|最近半年|半年", text):
        return _last_months(current, 6, "近半年")
    if re.search(r"近一年|近1年|这一年|最近一年|近12个月|一年来|全年|一年", text) and "去年" not in text:
        return _last_months(current, 12, "近一年")
    if found := _RELATIVE_YEAR_MONTH.search(text):
        number = _number(found.group(2))
        offset = _year_offset(found.group(1))
        if offset is None:
            # A month not yet reached this year means last year's ("12月" asked in November).
            offset = 0 if number <= today.month else -1
        month = date(today.year + offset, number, 1)
        return MonthRange(month, month, month_label(month))
    if "去年" in text:
        first, last = date(today.year - 1, 1, 1), date(today.year - 1, 12, 1)
        return MonthRange(first, last, f"{today.year - 1}年全年", kind="range")
    if "今年" in text:
        first, last = date(today.year, 1, 1), add_months(current, -1)  # this month is not complete
        return MonthRange(first, max(first, last), f"{today.year}年以来", kind="range")
    return None


def _last_months(current: date, count: int, label: str) -> MonthRange:
    last = add_months(current, -1)  # the current month is not complete yet
    return MonthRange(add_months(last, -(count - 1)), last, label, kind="range")


def _season(name: str, offset: int | None, today: date) -> MonthRange:
    first_month, last_month = SEASONS[name]
    current = first_of_month(today)
    year = today.year + (offset or 0)
    if name == "冬":
        # Winter spans the year end: the one that began last December, unless it is December now.
        start = date(year, 12, 1) if offset in (None, 0) and today.month == 12 else date(year - 1, 12, 1)
    else:
        start = date(year, first_month, 1)
        if offset is None and start > current:
            start = add_months(start, -12)  # not reached yet this year: last year's
    end = add_months(start, (last_month - first_month) % 12)
    label = {"春": "春天", "夏": "夏天", "秋": "秋天", "冬": "冬天"}[name]
    return MonthRange(start, end, f"{label}（{month_label(start)}到{month_label(end)}）", kind="range")
