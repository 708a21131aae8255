"""Time limits (SLA) of work orders, from config/sla.yml: due times and how close an order is to them.

Pure functions apart from reading the configuration; times are timezone-aware, due times UTC.
A rule is looked up by kind, then refined by (in increasing precedence) area type, channel and
category, each refinement replacing the whole rule it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from backend.clock import LOCAL_TZ, ensure_utc
from backend.workdays import WorkCalendar, default_calendar

Unit = Literal["minutes", "hours", "days", "working_days"]
UNITS: tuple[Unit, ...] = ("minutes", "hours", "days", "working_days")
Stage = Literal["ok", "at_risk", "breached"]
END_OF_DAY = time(23, 59, 59)


class SlaConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: Unit

    def describe(self) -> str:
        words = {"minutes": "分钟", "hours": "小时", "days": "天", "working_days": "个工作日"}
        return f"{self.amount}{words[self.unit]}"


@dataclass(frozen=True)
class SlaRule:
    kind: str
    contact: Limit | None
    answer: Limit | None
    grade: str
    confirmed: bool
    source: str


@dataclass(frozen=True)
class DueTimes:
    contact_due_at: datetime | None
    answer_due_at: datetime | None
    rule: SlaRule


@dataclass(frozen=True)
class SlaBook:
    effective_from: date
    at_risk_fraction: float
    kinds: dict[str, dict[str, Any]]

    def rule_for(
        self,
        kind: str,
        *,
        channel: str | None = None,
        category: str | None = None,
        area_type: str | None = None,
    ) -> SlaRule:
        spec = self.kinds.get(kind)
        if spec is None:
            raise SlaConfigError(f"no time-limit rule for work-order kind {kind!r}")
        chosen: dict[str, Any] = spec["default"]
        for section, key in (("areas", area_type), ("channels", channel), ("categories", category)):
            refinement = (spec.get(section) or {}).get(key) if key else None
            if refinement is not None:
                chosen = refinement
        return SlaRule(
            kind=kind,
            contact=_limit(chosen.get("contact")),
            answer=_limit(chosen.get("answer")),
            grade=str(chosen.get("grade", "none")),
            confirmed=bool(chosen.get("confirmed", False)),
            source=str(chosen.get("source", "")),
        )


def _limit(raw: Any) -> Limit | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) != 1:
        raise SlaConfigError(f"a limit is one of {UNITS} with an amount, got {raw!r}")
    ((unit, amount),) = raw.items()
    if unit not in UNITS or not isinstance(amount, int) or amount <= 0:
        raise SlaConfigError(f"bad limit {raw!r}")
    return Limit(amount=amount, unit=unit)


def load_sla_book(path: Path | str) -> SlaBook:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    kinds = raw.get("kinds") or {}
    for kind, spec in kinds.items():
        if "default" not in spec:
            raise SlaConfigError(f"kind {kind} has no default rule")
        # Parse every rule once so that a typo fails at load time, not at the first order.
        for rule in [
            spec["default"],
            *[v for s in ("areas", "channels", "categories") for v in (spec.get(s) or {}).values()],
        ]:
            _limit(rule.get("contact"))
            _limit(rule.get("answer"))
    fraction = float(raw.get("at_risk_fraction", 0.75))
    if not 0 < fraction < 1:
        raise SlaConfigError("at_risk_fraction must be between 0 and 1")
    return SlaBook(
        effective_from=date.fromisoformat(str(raw["effective_from"])),
        at_risk_fraction=fraction,
        kinds=kinds,
    )


@lru_cache(maxsize=4)
def _cached_book(path: str) -> SlaBook:
    return load_sla_book(path)


def default_book() -> SlaBook:
    from backend.settings import get_settings

    return _cached_book(str(get_settings().sla_config))


def _end_of_local_day(day: date) -> datetime:
    return ensure_utc(datetime.combine(day, END_OF_DAY, tzinfo=LOCAL_TZ))


def due_at(start: datetime, limit: Limit, calendar: WorkCalendar | None = None) -> datetime:
    """When a step started at `start` must be done. Calendar units end with the local day."""
    start = ensure_utc(start)
    if limit.unit == "minutes":
        return start + timedelta(minutes=limit.amount)
    if limit.unit == "hours":
        return start + timedelta(hours=limit.amount)
    local_day = start.astimezone(LOCAL_TZ).date()
    if limit.unit == "days":
        return _end_of_local_day(local_day + timedelta(days=limit.amount))
    return _end_of_local_day((calendar or default_calendar()).add_working_days(local_day, limit.amount))


def compute_due_times(
    kind: str,
    *,
    channel: str | None,
    category: str | None,
    start: datetime,
    area_type: str | None = None,
    book: SlaBook | None = None,
    calendar: WorkCalendar | None = None,
) -> DueTimes:
    rule = (book or default_book()).rule_for(kind, channel=channel, category=category, area_type=area_type)
    return DueTimes(
        contact_due_at=due_at(start, rule.contact, calendar) if rule.contact else None,
        answer_due_at=due_at(start, rule.answer, calendar) if rule.answer else None,
        rule=rule,
    )


def stage(start: datetime, due: datetime, now: datetime, at_risk_fraction: float) -> Stage:
    """ok, at_risk once `at_risk_fraction` of the window has passed, breached after the due time."""
    start, due, now = ensure_utc(start), ensure_utc(due), ensure_utc(now)
    if now > due:
        return "breached"
    if now >= start + (due - start) * at_risk_fraction:
        return "at_risk"
    return "ok"
