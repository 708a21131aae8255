"""Bills, usage, payments and tariff comparison for a verified conversation.

Every function that shows account data first checks that this conversation verified this account
(accounts.is_verified, the same rule as the balance) and records the view in the audit chain.
Amounts come from the tariff engine and the stored bills; where a figure is unconfirmed or missing
the result says so (`confirmed`, `missing`), and nothing is computed that the figures cannot justify.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clock import add_months, first_of_month, local_today, utcnow
from backend.masking import mask_account_no
from backend.models import Account, Bill, MonthlyUsage, Payment
from backend.services import audit
from backend.services.accounts import (
    AccountNotFound,
    InvalidAccountNo,
    NotVerified,
    is_verified,
    normalise_account_no,
)
from backend.settings import REPO_ROOT, get_settings
from backend.tariff_engine import (
    BANDS,
    ZERO,
    BillBreakdown,
    Tariff,
    TariffBook,
    TariffError,
    TariffNotConfigured,
    bill_for,
    late_payment_fee,
    load_tariffs,
    money,
)

DEFAULT_BILLING_CONFIG = REPO_ROOT / "config" / "billing.yml"
UNCONFIRMED_NOTICE = "以当地营业厅公布为准"
# Trend words: a change of less than this share between the halves of a series is "steady".
# A product choice for plain-language summaries, not a rule from the reference.
TREND_THRESHOLD = Decimal("0.10")
# Options open to each customer category (reference §1.2(a): 工商业 users must use TOU).
OPTIONS_BY_CATEGORY: dict[str, tuple[tuple[str, str | None], ...]] = {
    "residential": (("residential_tiered", None), ("residential_tiered", "residential_tou")),
    "general_commercial": (("commercial_tou", None),),
    "agricultural": (("agricultural", None),),
}


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Quoted:
    text: str
    effective_date: date | None
    source: str
    confirmed: bool


@dataclass(frozen=True)
class BillingConfig:
    auto_restore: Quoted
    restore_time_limit: Quoted
    prepaid_suspension: Quoted
    payment_posting: Quoted
    days_left_recent_months: int
    payment_look_back_days: int


def _quoted(raw: dict[str, Any]) -> Quoted:
    effective = raw.get("effective_date")
    return Quoted(
        text=str(raw["text"]),
        effective_date=None if effective is None else date.fromisoformat(str(effective)),
        source=str(raw["source"]),
        confirmed=bool(raw["confirmed"]),
    )


@lru_cache(maxsize=4)
def load_billing_config(path: Path | str = DEFAULT_BILLING_CONFIG) -> BillingConfig:
    with Path(path).open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return BillingConfig(
        auto_restore=_quoted(raw["restoration"]["smart_meter_auto"]),
        restore_time_limit=_quoted(raw["restoration"]["time_limit"]),
        prepaid_suspension=_quoted(raw["prepaid"]["suspension"]),
        payment_posting=_quoted(raw["payment_posting"]),
        days_left_recent_months=int(raw["prepaid"]["days_left_recent_months"]),
        payment_look_back_days=int(raw["payment_posting"]["look_back_days"]),
    )


def _book() -> TariffBook:
    return load_tariffs(get_settings().tariff_config)


# ---------------------------------------------------------------- access


def channel_of(conversation_id: str) -> str | None:
    for prefix, channel in (("wx-", "wechat"), ("web-", "web"), ("ivr-", "ivr")):
        if conversation_id.startswith(prefix):
            return channel
    return None


def verified_account(
    session: Session,
    *,
    conversation_id: str,
    account_no: str,
    what: str,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> Account:
    """The account, if this conversation verified it; the view is recorded in the audit chain."""
    try:
        canonical = normalise_account_no(account_no)
    except InvalidAccountNo as error:
        raise NotVerified("not verified for this account") from error
    if not is_verified(
        session, conversation_id=conversation_id, account_no=canonical, now=now, ttl_minutes=ttl_minutes
    ):
        raise NotVerified("not verified for this account")
    account = session.scalars(select(Account).where(Account.account_no == canonical)).first()
    if account is None:
        raise AccountNotFound(canonical)
    audit.record(
        session,
        actor=f"conversation:{conversation_id}",
        action=f"billing.view_{what}",
        entity_type="account",
        entity_id=mask_account_no(canonical),
        channel=channel_of(conversation_id),
        after={"what": what, **(details or {})},
    )
    return account


# ---------------------------------------------------------------- bills


@dataclass(frozen=True)
class MonthFigure:
    period: date
    kwh: Decimal
    amount: Decimal | None  # None: no bill (tariff without configured prices)
    top_tier: int | None


@dataclass(frozen=True)
class TierCrossing:
    tier: int
    from_kwh: Decimal
    up_to_kwh: Decimal | None
    price: Decimal
    kwh: Decimal  # this month's kWh in the tier
    amount: Decimal


@dataclass(frozen=True)
class BillComparison:
    previous: MonthFigure | None
    same_month_last_year: MonthFigure | None
    kwh_change_vs_previous: Decimal | None
    amount_change_vs_previous: Decimal | None
    kwh_change_vs_last_year: Decimal | None
    amount_change_vs_last_year: Decimal | None
    tiers: tuple[TierCrossing, ...]  # this month's consumption per tier (tiered tariffs only)
    # Part of the increase over the previous month that is due to the higher tiers' surcharge.
    higher_tier_surcharge: Decimal | None


@dataclass(frozen=True)
class BillReport:
    account_masked: str
    period: date
    available: bool
    kwh: Decimal | None
    amount: Decimal | None
    breakdown: dict[str, Any] | None
    tariff_code: str
    tariff_name: str
    confirmed: bool
    due_date: date | None
    paid: bool | None
    late_fee: Decimal
    reason: str | None  # why no bill: "no_usage" | "tariff_unpriced"
    missing: tuple[str, ...]
    comparison: BillComparison | None
    first_period: date | None
    last_period: date | None


def _usage_rows(session: Session, account_id: int) -> dict[date, MonthlyUsage]:
    rows = session.scalars(select(MonthlyUsage).where(MonthlyUsage.account_id == account_id))
    return {row.period: row for row in rows}


def _bill_rows(session: Session, account_id: int) -> dict[date, Bill]:
    rows = session.scalars(select(Bill).where(Bill.account_id == account_id))
    return {row.period: row for row in rows}


def _top_tier(breakdown: dict[str, Any] | None) -> int | None:
    tiers = [int(line["tier"]) for line in (breakdown or {}).get("lines", []) if "tier" in line]
    return max(tiers) if tiers else None


def _figure(period: date, usage: dict[date, MonthlyUsage], bills: dict[date, Bill]) -> MonthFigure | None:
    row = usage.get(period)
    if row is None:
        return None
    bill = bills.get(period)
    return MonthFigure(
        period,
        row.kwh,
        bill.amount_yuan if bill else None,
        _top_tier(bill.breakdown) if bill else None,
    )


def _tier_crossings(tariff: Tariff, breakdown: dict[str, Any]) -> tuple[TierCrossing, ...]:
    bounds: dict[int, tuple[Decimal, Decimal | None]] = {}
    lower = ZERO
    for tier in tariff.tiers:
        bounds[tier.tier] = (lower, tier.up_to_kwh)
        lower = tier.up_to_kwh if tier.up_to_kwh is not None else lower
    crossings = []
    for line in breakdown.get("lines", []):
        if "tier" not in line or line.get("kind") == "tou_adjustment":
            continue
        low, high = bounds.get(int(line["tier"]), (ZERO, None))
        crossings.append(
            TierCrossing(
                int(line["tier"]),
                low,
                high,
                Decimal(line["price"]),
                Decimal(line["kwh"]),
                Decimal(line["amount"]),
            )
        )
    return tuple(crossings)


def _late_fee(account: Account, bills: dict[date, Bill], today: date, book: TariffBook) -> Decimal:
    if account.payment_mode != "postpaid" or book.late_payment is None:
        return ZERO.quantize(Decimal("0.01"))
    residential = account.category == "residential"
    return money(
        sum(
            (
                late_payment_fee(
                    book.late_payment,
                    arrears=b.amount_yuan,
                    due_date=b.due_date,
                    on=today,
                    residential=residential,
                )
                for b in bills.values()
                if not b.paid
            ),
            ZERO,
        )
    )


def get_bill(
    session: Session,
    *,
    conversation_id: str,
    account_no: str,
    period: date | None = None,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> BillReport:
    """The bill of a month (default: the latest), with the comparison a "why so high" needs."""
    account = verified_account(
        session,
        conversation_id=conversation_id,
        account_no=account_no,
        what="bill",
        details={"period": period.isoformat() if period else "latest"},
        now=now,
        ttl_minutes=ttl_minutes,
    )
    book = _book()
    today = local_today(now or utcnow())
    usage, bills = _usage_rows(session, account.id), _bill_rows(session, account.id)
    known = sorted(usage)
    target = first_of_month(period) if period else (max(bills) if bills else (known[-1] if known else None))
    in_data = target is not None and target in usage
    tariff = book.for_period(
        account.tariff_code, target if in_data and target else (known[-1] if known else today)
    )
    report = partial(
        BillReport,
        account_masked=mask_account_no(account.account_no),
        tariff_code=account.tariff_code,
        tariff_name=tariff.name,
        first_period=known[0] if known else None,
        last_period=known[-1] if known else None,
        late_fee=_late_fee(account, bills, today, book),
    )
    if target is None or not in_data:
        return report(
            period=target or first_of_month(today),
            available=False,
            kwh=None,
            amount=None,
            breakdown=None,
            confirmed=tariff.confirmed,
            due_date=None,
            paid=None,
            reason="no_usage",
            missing=(),
            comparison=None,
        )
    bill = bills.get(target)
    previous = _figure(add_months(target, -1), usage, bills)
    last_year = _figure(add_months(target, -12), usage, bills)
    current = _figure(target, usage, bills)
    assert current is not None

    def change(a: Decimal | None, b: Decimal | None) -> Decimal | None:
        return None if a is None or b is None else a - b

    crossings = _tier_crossings(tariff, bill.breakdown) if bill and tariff.kind == "tiered" else ()
    surcharge = None
    if crossings and tariff.tiers:
        base_price = tariff.tiers[0].price
        surcharge = money(sum(((c.price - base_price) * c.kwh for c in crossings), ZERO))
    comparison = BillComparison(
        previous=previous,
        same_month_last_year=last_year,
        kwh_change_vs_previous=change(current.kwh, previous.kwh if previous else None),
        amount_change_vs_previous=change(current.amount, previous.amount if previous else None),
        kwh_change_vs_last_year=change(current.kwh, last_year.kwh if last_year else None),
        amount_change_vs_last_year=change(current.amount, last_year.amount if last_year else None),
        tiers=crossings,
        higher_tier_surcharge=surcharge,
    )
    if bill is None:
        return report(
            period=target,
            available=False,
            kwh=usage[target].kwh,
            amount=None,
            breakdown=None,
            confirmed=False,
            due_date=None,
            paid=None,
            reason="tariff_unpriced",
            missing=tuple(tariff.missing_figures()),
            comparison=comparison,
        )
    return report(
        period=target,
        available=True,
        kwh=bill.kwh,
        amount=bill.amount_yuan,
        breakdown=bill.breakdown,
        confirmed=bool(bill.breakdown.get("confirmed", tariff.confirmed)),
        due_date=bill.due_date,
        paid=bill.paid,
        reason=None,
        missing=(),
        comparison=comparison,
    )


# ---------------------------------------------------------------- usage series


@dataclass(frozen=True)
class UsagePoint:
    period: date
    kwh: Decimal
    bands: dict[str, Decimal]
    amount: Decimal | None


@dataclass(frozen=True)
class UsageSeries:
    account_masked: str
    start: date
    end: date  # last month included
    points: tuple[UsagePoint, ...]
    total_kwh: Decimal
    average_kwh: Decimal | None
    highest: UsagePoint | None
    lowest: UsagePoint | None
    trend: str | None  # rising | falling | steady (second half vs first half of the range)
    trend_change_pct: Decimal | None
    previous_total_kwh: Decimal | None  # the same number of months just before, when all known
    missing_months: tuple[date, ...]
    first_period: date | None
    last_period: date | None


def _months(start: date, end: date) -> list[date]:
    months, current = [], first_of_month(start)
    while current <= end:
        months.append(current)
        current = add_months(current, 1)
    return months


def _bands(row: MonthlyUsage) -> dict[str, Decimal]:
    found = {band: getattr(row, f"{band}_kwh") for band in ("peak", "flat", "valley")}
    return {band: value for band, value in found.items() if value is not None}


def describe_trend(values: list[Decimal]) -> tuple[str | None, Decimal | None]:
    """Second half of the series against the first half (the middle month left out when odd)."""
    if len(values) < 2:
        return None, None
    half = len(values) // 2
    first, second = values[:half], values[-half:]
    before = sum(first, ZERO) / len(first)
    after = sum(second, ZERO) / len(second)
    if before == 0:
        return ("rising" if after > 0 else "steady"), None
    change = (after - before) / before
    pct = (change * 100).quantize(Decimal("0.1"))
    if change > TREND_THRESHOLD:
        return "rising", pct
    if change < -TREND_THRESHOLD:
        return "falling", pct
    return "steady", pct


def usage_series(
    session: Session,
    *,
    conversation_id: str,
    account_no: str,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> UsageSeries:
    """kWh per month over [start, end] (default: the last 12 months with data), with the trend."""
    account = verified_account(
        session,
        conversation_id=conversation_id,
        account_no=account_no,
        what="usage",
        details={"start": start.isoformat() if start else None, "end": end.isoformat() if end else None},
        now=now,
        ttl_minutes=ttl_minutes,
    )
    usage, bills = _usage_rows(session, account.id), _bill_rows(session, account.id)
    known = sorted(usage)
    last = first_of_month(end) if end else (known[-1] if known else first_of_month(local_today(now)))
    first = first_of_month(start) if start else add_months(last, -11)
    months = _months(first, last)
    points = tuple(
        UsagePoint(m, usage[m].kwh, _bands(usage[m]), bills[m].amount_yuan if m in bills else None)
        for m in months
        if m in usage
    )
    total = sum((p.kwh for p in points), ZERO)
    trend, pct = describe_trend([p.kwh for p in points])
    previous_months = [add_months(first, -offset) for offset in range(len(months), 0, -1)]
    previous_total = (
        sum((usage[m].kwh for m in previous_months), ZERO)
        if all(m in usage for m in previous_months)
        else None
    )
    return UsageSeries(
        account_masked=mask_account_no(account.account_no),
        start=first,
        end=last,
        points=points,
        total_kwh=total,
        average_kwh=(total / len(points)).quantize(Decimal("0.01")) if points else None,
        highest=max(points, key=lambda p: p.kwh) if points else None,
        lowest=min(points, key=lambda p: p.kwh) if points else None,
        trend=trend,
        trend_change_pct=pct,
        previous_total_kwh=previous_total,
        missing_months=tuple(m for m in months if m not in usage),
        first_period=known[0] if known else None,
        last_period=known[-1] if known else None,
    )


# ---------------------------------------------------------------- quotes and comparisons


@dataclass(frozen=True)
class Quote:
    code: str
    name: str
    overlay_code: str | None
    period: date
    kwh: Decimal
    available: bool
    total: Decimal | None
    breakdown: dict[str, Any] | None
    confirmed: bool
    missing: tuple[str, ...]
    source: str
    notice: str | None


def quote(
    book: TariffBook,
    code: str,
    kwh: Decimal,
    period: date,
    *,
    bands: dict[str, Decimal] | None = None,
    overlay_code: str | None = None,
) -> Quote:
    """What `kwh` in a month would cost under a tariff (public: no account data). Raises
    UnknownTariff for a code not in the configuration and ValueError for inconsistent input."""
    tariff = book.for_period(code, period)
    overlay = book.for_period(overlay_code, period) if overlay_code else None
    shown = overlay or tariff
    sources = tariff.source + (f"; {overlay.source}" if overlay else "")
    try:
        if overlay is not None:
            bill = bill_for(kwh, overlay, period, bands=bands, base=tariff)
        else:
            bill = bill_for(kwh, tariff, period, bands=bands)
    except TariffNotConfigured:
        missing = tariff.missing_figures() + (overlay.missing_figures() if overlay else [])
        if not missing:
            missing = ["time band kWh"]
        return Quote(
            code,
            shown.name,
            overlay_code,
            period,
            kwh,
            False,
            None,
            None,
            False,
            tuple(missing),
            sources,
            UNCONFIRMED_NOTICE,
        )
    return Quote(
        code,
        shown.name,
        overlay_code,
        period,
        kwh,
        True,
        bill.total,
        bill.as_json(),
        bill.confirmed,
        (),
        sources,
        None if bill.confirmed else UNCONFIRMED_NOTICE,
    )


@dataclass(frozen=True)
class KnownAdjustment:
    band: str
    kwh: Decimal
    per_kwh: Decimal
    amount: Decimal


@dataclass(frozen=True)
class TariffOption:
    code: str
    overlay_code: str | None
    name: str
    current: bool
    available: bool
    total: Decimal | None
    confirmed: bool
    missing: tuple[str, ...]
    # For an overlay whose figures are only partly known: the effect of the known ones, and the
    # uplift per kWh of the one unknown band at which the option would cost the same.
    known_adjustments: tuple[KnownAdjustment, ...] = ()
    break_even_band: str | None = None
    break_even_per_kwh: Decimal | None = None


@dataclass(frozen=True)
class TariffComparison:
    account_masked: str
    start: date
    end: date
    months: int
    total_kwh: Decimal
    band_kwh: dict[str, Decimal]
    options: tuple[TariffOption, ...]
    recommended: TariffOption | None
    saving: Decimal | None  # of the recommended option against the current one, over the months
    months_in_top_tier: int
    top_tier_kwh: Decimal
    top_tier_price: Decimal | None
    notice: str | None


def _bands_for_bill(row: MonthlyUsage) -> dict[str, Decimal] | None:
    bands = _bands(row)
    if not bands:
        return None
    drift = row.kwh - sum(bands.values(), ZERO)
    if drift:  # shares rounded per band: give the cents to the largest band
        largest = max(bands, key=lambda b: bands[b])
        bands[largest] += drift
    return bands


def _option(
    book: TariffBook, code: str, overlay_code: str | None, rows: list[MonthlyUsage], current: bool
) -> TariffOption:
    name = book.for_period(overlay_code or code, rows[-1].period).name
    if overlay_code:
        name = f"{book.for_period(code, rows[-1].period).name}＋{name}"
    totals: list[BillBreakdown] = []
    missing: set[str] = set()
    for row in rows:
        try:
            tariff = book.for_period(code, row.period)
            bands = _bands_for_bill(row)
            if overlay_code:
                overlay = book.for_period(overlay_code, row.period)
                totals.append(bill_for(row.kwh, overlay, row.period, bands=bands, base=tariff))
            else:
                totals.append(bill_for(row.kwh, tariff, row.period, bands=bands))
        except TariffNotConfigured as error:
            entry = book.for_period(overlay_code or code, row.period)
            missing.update(entry.missing_figures() or [error.reason])
    if missing:
        option = TariffOption(code, overlay_code, name, current, False, None, False, tuple(sorted(missing)))
        return _partial_overlay(book, option, rows) if overlay_code else option
    return TariffOption(
        code,
        overlay_code,
        name,
        current,
        True,
        money(sum((b.total for b in totals), ZERO)),
        all(b.confirmed for b in totals),
        (),
    )


def _partial_overlay(book: TariffBook, option: TariffOption, rows: list[MonthlyUsage]) -> TariffOption:
    """Known band adjustments applied to the customer's band kWh; break-even for one unknown band."""
    assert option.overlay_code is not None
    overlay = book.for_period(option.overlay_code, rows[-1].period)
    band_totals = dict.fromkeys(BANDS, ZERO)
    for row in rows:
        for band, value in (_bands_for_bill(row) or {}).items():
            band_totals[band] += value
    known = tuple(
        KnownAdjustment(band, band_totals[band], adj, money(band_totals[band] * adj))
        for band, adj in overlay.band_adjustments.items()
        if adj is not None and band_totals[band] > 0
    )
    unknown = [
        band for band, adj in overlay.band_adjustments.items() if adj is None and band_totals[band] > 0
    ]
    break_even_band = break_even = None
    if known and len(unknown) == 1:
        break_even_band = unknown[0]
        effect = sum((k.amount for k in known), ZERO)
        # The unknown uplift u makes the option cost the same when u * kWh(band) + effect = 0.
        break_even = (-effect / band_totals[break_even_band]).quantize(Decimal("0.0001"))
    return TariffOption(
        option.code,
        option.overlay_code,
        option.name,
        option.current,
        False,
        None,
        False,
        option.missing,
        known,
        break_even_band,
        break_even,
    )


def compare_tariffs(
    session: Session,
    *,
    conversation_id: str,
    account_no: str,
    months: int = 12,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> TariffComparison:
    """Cost over the last `months` months of usage under the current tariff and each alternative."""
    account = verified_account(
        session,
        conversation_id=conversation_id,
        account_no=account_no,
        what="tariff_comparison",
        details={"months": months},
        now=now,
        ttl_minutes=ttl_minutes,
    )
    book = _book()
    usage = _usage_rows(session, account.id)
    rows = [usage[p] for p in sorted(usage)][-months:]
    if not rows:
        raise TariffError("no usage on record for this account")
    has_tou = bool(account.tou_enabled)
    options = tuple(
        _option(book, code, overlay, rows, current=(code == account.tariff_code and bool(overlay) == has_tou))
        for code, overlay in OPTIONS_BY_CATEGORY.get(account.category, ((account.tariff_code, None),))
    )
    band_kwh = dict.fromkeys(("peak", "flat", "valley"), ZERO)
    for row in rows:
        for band, value in _bands(row).items():
            band_kwh[band] += value
    current = next((o for o in options if o.current), None)
    priced = [o for o in options if o.available and o.total is not None]
    recommended = saving = None
    if len(priced) == len(options) and priced:
        recommended = min(priced, key=lambda o: (o.total, not o.current))
        if current is not None and current.total is not None and recommended.total is not None:
            saving = current.total - recommended.total
    top_price = None
    top_months, top_kwh = 0, ZERO
    tiered = book.for_period(account.tariff_code, rows[-1].period)
    if tiered.kind == "tiered" and tiered.tiers and tiered.accounting == "monthly":
        top = tiered.tiers[-1]
        top_floor = tiered.tiers[-2].up_to_kwh if len(tiered.tiers) > 1 else ZERO
        top_price = top.price
        for row in rows:
            if top_floor is not None and row.kwh > top_floor:
                top_months += 1
                top_kwh += row.kwh - top_floor
    confirmed = all(o.confirmed for o in options if o.available)
    return TariffComparison(
        account_masked=mask_account_no(account.account_no),
        start=rows[0].period,
        end=rows[-1].period,
        months=len(rows),
        total_kwh=sum((r.kwh for r in rows), ZERO),
        band_kwh={b: v for b, v in band_kwh.items() if v},
        options=options,
        recommended=recommended,
        saving=saving,
        months_in_top_tier=top_months,
        top_tier_kwh=top_kwh,
        top_tier_price=top_price,
        notice=None if confirmed and all(o.available for o in options) else UNCONFIRMED_NOTICE,
    )


# ---------------------------------------------------------------- payments and prepaid


@dataclass(frozen=True)
class PaymentView:
    amount: Decimal
    channel: str
    paid_at: datetime


@dataclass(frozen=True)
class PaymentStatus:
    account_masked: str
    payment_mode: str
    balance: Decimal
    arrears: Decimal
    supply_status: str
    suspended_since: datetime | None
    last_payment: PaymentView | None
    last_payment_recent: bool  # within the look-back window
    paid_after_suspension: bool
    amount_to_restore: Decimal  # what must be paid for supply to return (0 if supplied)
    average_monthly_amount: Decimal | None  # over the recent months with bills
    average_daily_amount: Decimal | None
    days_left: int | None  # prepaid: how long the balance lasts at recent usage
    late_fee: Decimal
    unpaid_bills: tuple[date, ...]
    auto_restore: Quoted
    restore_time_limit: Quoted
    prepaid_suspension: Quoted
    payment_posting: Quoted


def _days_in(period: date) -> int:
    return calendar.monthrange(period.year, period.month)[1]


def recent_daily_amount(bills: dict[date, Bill], months: int) -> tuple[Decimal | None, Decimal | None]:
    """(average per month, average per day) over the last `months` billed months."""
    recent = [bills[p] for p in sorted(bills)][-months:]
    if not recent:
        return None, None
    spent = sum((b.amount_yuan for b in recent), ZERO)
    days = sum(_days_in(b.period) for b in recent)
    return money(spent / len(recent)), (spent / days)


def days_left(balance: Decimal, daily: Decimal | None) -> int | None:
    if daily is None or daily <= 0:
        return None
    if balance <= 0:
        return 0
    return int((balance / daily).to_integral_value(rounding=ROUND_FLOOR))


def payment_status(
    session: Session,
    *,
    conversation_id: str,
    account_no: str,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
    config: BillingConfig | None = None,
) -> PaymentStatus:
    account = verified_account(
        session,
        conversation_id=conversation_id,
        account_no=account_no,
        what="payment_status",
        now=now,
        ttl_minutes=ttl_minutes,
    )
    config = config or load_billing_config()
    moment = now or utcnow()
    book = _book()
    bills = _bill_rows(session, account.id)
    last = session.scalars(
        select(Payment).where(Payment.account_id == account.id).order_by(Payment.paid_at.desc()).limit(1)
    ).first()
    last_view = PaymentView(last.amount_yuan, last.channel, last.paid_at) if last else None
    recent = bool(last and last.paid_at >= moment - timedelta(days=config.payment_look_back_days))
    monthly, daily = recent_daily_amount(bills, config.days_left_recent_months)
    suspended = account.supply_status != "normal"
    return PaymentStatus(
        account_masked=mask_account_no(account.account_no),
        payment_mode=account.payment_mode,
        balance=account.balance_yuan,
        arrears=account.arrears_yuan,
        supply_status=account.supply_status,
        suspended_since=account.suspended_since,
        last_payment=last_view,
        last_payment_recent=recent,
        paid_after_suspension=bool(
            last and account.suspended_since is not None and last.paid_at >= account.suspended_since
        ),
        amount_to_restore=account.arrears_yuan if suspended else ZERO.quantize(Decimal("0.01")),
        average_monthly_amount=monthly,
        average_daily_amount=None if daily is None else daily.quantize(Decimal("0.01")),
        days_left=days_left(account.balance_yuan, daily) if account.payment_mode == "prepaid" else None,
        late_fee=_late_fee(account, bills, local_today(moment), book),
        unpaid_bills=tuple(sorted(p for p, b in bills.items() if not b.paid)),
        auto_restore=config.auto_restore,
        restore_time_limit=config.restore_time_limit,
        prepaid_suspension=config.prepaid_suspension,
        payment_posting=config.payment_posting,
    )
