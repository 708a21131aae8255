"""Small formatting helpers shared by the bill, usage, payment and tariff-advice answers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

UNCONFIRMED_NOTICE = "以当地营业厅公布为准"
UNCONFIRMED_PRICES = f"（电价资料尚未与国网河南现行电价表核对，{UNCONFIRMED_NOTICE}。）"
BEIJING = timezone(timedelta(hours=8))
BAND_WORDS = {"peak": "峰段", "flat": "平段", "valley": "谷段", "critical_peak": "尖峰"}


def kwh(value: str | Decimal | None) -> str:
    """'180.00' -> '180'; keeps real fractions ('1492.80' -> '1492.8')."""
    if value is None:
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if number == number.to_integral_value():
        return str(int(number))
    return f"{number.normalize():f}"


def yuan(value: str | Decimal | None) -> str:
    return "" if value is None else f"{Decimal(str(value)):.2f}"


def month(text: str | None) -> str:
    """'2026-10' -> '2026年10月'."""
    if not text:
        return ""
    year, number = text.split("-")[:2]
    return f"{int(year)}年{int(number)}月"


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def short_month(text: str) -> str:
    return f"{int(text.split('-')[1])}月"


def beijing_time(value: str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(BEIJING)
    return f"{local.year}年{local.month}月{local.day}日{local:%H:%M}"


def quoted(entry: Mapping[str, Any]) -> str:
    """A configured fact in words, with the notice when it is not confirmed."""
    text = str(entry["text"])
    return text if entry.get("confirmed") else f"{text}（{UNCONFIRMED_NOTICE}）"
