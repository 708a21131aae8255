"""Seed the demo data (DEMO_DATA, shared/spec/demo_customers.yml) into an empty database.

Dates in the file are relative to the day of seeding. Bills are not in the file: they are computed
by the tariff engine from the usage, and only where the tariff has configured prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.clock import LOCAL_TZ, add_months, first_of_month, local_today, utcnow
from backend.models import (
    Account,
    ActiveFault,
    Bill,
    Customer,
    Meter,
    MonthlyUsage,
    PlannedOutage,
    ServiceApplication,
    ServiceHall,
    Ticket,
)
from backend.services.accounts import normalise_account_no
from backend.services.numbering import issue_number
from backend.settings import get_settings
from backend.tariff_engine import TariffBook, TariffNotConfigured, bill_for, load_tariffs

USAGE_MONTHS = 12
# Demo convention, not a sourced rule: a monthly bill falls due on the 15th of the next month.
BILL_DUE_DAY = 15
# Outage notices go out 7 days ahead (十项承诺 #2, reference.md §2.1).
OUTAGE_NOTICE_DAYS = 7
# Prepaid meters suspend supply at about 08:00 the day after the balance runs out (reference.md §4.5).
SUSPENSION_HOUR = time(8, 0)

APPLICATION_STEPS = {
    "submitted": "已受理",
    "site_survey_scheduled": "现场勘查",
    "scheme_replied": "供电方案答复",
    "construction": "工程施工",
    "metering_connection": "装表接电",
    "completed": "已归档",
}


@dataclass(frozen=True)
class SeedResult:
    seeded: bool
    customers: int
    bills: int


def usage_periods(today: date, months: int = USAGE_MONTHS) -> list[date]:
    """The last `months` complete months, oldest first (the last one is last month)."""
    last_month = add_months(first_of_month(today), -1)
    return [add_months(last_month, offset) for offset in range(-(months - 1), 1)]


def bill_due_date(period: date) -> date:
    return add_months(period, 1).replace(day=BILL_DUE_DAY)


def local_datetime(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=LOCAL_TZ)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _split(kwh: Decimal, share: dict[str, Any] | None, band: str) -> Decimal | None:
    if not share or band not in share:
        return None
    return (kwh * Decimal(str(share[band]))).quantize(Decimal("0.01"))


def _village(address: str, town: str) -> str | None:
    rest = address.split(town, 1)[-1]
    return rest[: rest.index("村") + 1] if "村" in rest else None


def _add_customer(
    session: Session, entry: dict[str, Any], book: TariffBook, today: date, now: datetime, serial: int
) -> int:
    customer = Customer(
        name=entry["name"],
        phone=str(entry["phone"]),
        category=entry["category"],
        business_name=entry.get("business_name"),
    )
    legacy = str(entry["account_no"])
    canonical = normalise_account_no(legacy)
    suspended = entry.get("supply_status") == "suspended_for_arrears"
    account = Account(
        account_no=canonical,
        legacy_no=legacy if len(legacy) == 10 else None,
        customer=customer,
        address=entry["address"],
        town=entry["town"],
        village=_village(entry["address"], entry["town"]),
        area_type=entry["area_type"],
        category=entry["category"],
        tariff_code=entry["tariff"],
        tou_enabled=bool(entry.get("tou_enabled", False)),
        tou_share=entry.get("tou_share"),
        payment_mode=entry["payment_mode"],
        balance_yuan=_money(entry.get("balance_yuan", 0)),
        arrears_yuan=_money(entry.get("arrears_yuan", 0)),
        supply_status=entry.get("supply_status", "normal"),
        suspended_since=local_datetime(today - timedelta(days=1), SUSPENSION_HOUR) if suspended else None,
    )
    session.add_all([customer, account])
    session.add(
        Meter(
            meter_no=f"M{canonical}",
            account=account,
            kind="three_phase" if entry["category"] != "residential" else "single_phase",
            smart_prepay=entry["payment_mode"] == "prepaid",
        )
    )
    session.flush()

    bills = 0
    periods = usage_periods(today)
    feed_in = entry.get("pv_feed_in_kwh") or [None] * USAGE_MONTHS
    share = entry.get("tou_share")
    for index, (period, raw_kwh, raw_pv) in enumerate(zip(periods, entry["usage_kwh"], feed_in, strict=True)):
        kwh = Decimal(str(raw_kwh))
        session.add(
            MonthlyUsage(
                account_id=account.id,
                period=period,
                kwh=kwh,
                peak_kwh=_split(kwh, share, "peak"),
                flat_kwh=_split(kwh, share, "flat"),
                valley_kwh=_split(kwh, share, "valley"),
                pv_feed_in_kwh=None if raw_pv is None else Decimal(str(raw_pv)),
            )
        )
        try:
            breakdown = bill_for(kwh, book.for_period(account.tariff_code, period), period)
        except TariffNotConfigured:
            continue  # no confirmed prices: no bill rather than an invented one
        is_latest = index == len(periods) - 1
        session.add(
            Bill(
                account_id=account.id,
                period=period,
                kwh=kwh,
                amount_yuan=breakdown.total,
                breakdown=breakdown.as_json(),
                tariff_code=breakdown.tariff_code,
                due_date=bill_due_date(period),
                # Prepaid (费控) bills are settled from the balance; postpaid ones stay open until due.
                paid=account.payment_mode == "prepaid" or not is_latest or bill_due_date(period) < today,
            )
        )
        bills += 1

    for application in entry.get("applications") or []:
        submitted = now - timedelta(days=int(application["submitted_days_ago"]))
        status = application["status"]
        session.add(
            ServiceApplication(
                application_no=issue_number(session, submitted),
                account_id=account.id,
                business_type=application["business_type"],
                address=application.get("for_address") or entry["address"],
                status=status,
                current_step=APPLICATION_STEPS.get(status, status),
                next_step=application.get("next_step"),
                submitted_at=submitted,
            )
        )
    for ticket in entry.get("tickets") or []:
        created = now - timedelta(days=int(ticket["created_days_ago"]))
        session.add(
            Ticket(
                ticket_no=issue_number(session, created),
                kind=ticket["kind"],
                category=ticket["category"],
                account_id=account.id,
                summary=ticket["summary"],
                status=ticket["status"],
                assigned_to=ticket.get("assigned_to"),
                priority=ticket.get("priority", "normal"),
                created_at=created,
                updated_at=created,
            )
        )
    return bills


def _add_outages_and_faults(session: Session, data: dict[str, Any], today: date, now: datetime) -> None:
    for outage in data.get("planned_outages") or []:
        day = today + timedelta(days=int(outage["starts_in_days"]))
        session.add(
            PlannedOutage(
                area=outage["area"],
                villages=list(outage["villages"]),
                line=outage["line"],
                starts_at=local_datetime(day, time.fromisoformat(outage["start"])),
                ends_at=local_datetime(day, time.fromisoformat(outage["end"])),
                reason=outage["reason"],
                notice_date=day - timedelta(days=OUTAGE_NOTICE_DAYS),
            )
        )
    for fault in data.get("active_faults") or []:
        session.add(
            ActiveFault(
                area=fault["area"],
                villages=list(fault["villages"]),
                started_at=now - timedelta(hours=float(fault["started_hours_ago"])),
                expected_restore_at=now + timedelta(hours=float(fault["expected_restore_in_hours"])),
                cause=fault["cause"],
                status="active",
            )
        )
    for hall in data.get("service_halls") or []:
        session.add(ServiceHall(name=hall["name"], address=hall["address"], hours=hall["hours"]))


def load_demo_data(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def seed_demo(
    session: Session,
    *,
    demo_path: Path | None = None,
    tariff_path: Path | None = None,
    now: datetime | None = None,
) -> SeedResult:
    """Seed once: does nothing when the database already has customers. The caller commits."""
    existing = session.scalar(select(func.count()).select_from(Customer)) or 0
    if existing:
        return SeedResult(False, existing, 0)
    settings = get_settings()
    data = load_demo_data(demo_path or settings.demo_data)
    book = load_tariffs(tariff_path or settings.tariff_config)
    now = now or utcnow()
    today = local_today(now)
    bills = sum(
        _add_customer(session, entry, book, today, now, serial)
        for serial, entry in enumerate(data["customers"], start=1)
    )
    _add_outages_and_faults(session, data, today, now)
    # Demo console logins (issue 8); passwords documented in the README, demo seed only.
    from backend.services.staff import seed_demo_staff

    seed_demo_staff(session)
    session.flush()
    return SeedResult(True, len(data["customers"]), bills)
