"""Bills, usage, payment status, tariff comparison (verified conversations) and tariff quotes (public).

Account endpoints answer only a conversation that verified the account within
VERIFICATION_TTL_MINUTES (403 otherwise), like the balance. Amounts are strings with two decimals.
The usage chart is served from a signed, short-lived link so that a web-chat browser can show it
without the service token.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import NOT_VERIFIED_MESSAGE, SessionDep, SettingsDep, require_service_token
from api.routes.accounts import (
    INVALID_ACCOUNT_NO_MESSAGE,
    NOT_FOUND_MESSAGE,
    ErrorDetail,
)
from backend.clock import first_of_month, local_today
from backend.services import accounts, billing
from backend.services.usage_chart import BadChartToken, make_chart_token, read_chart_token, usage_svg
from backend.tariff_engine import TariffError, UnknownTariff, kwh_text, load_tariffs

router = APIRouter(prefix="/api/v1", tags=["billing"], dependencies=[Depends(require_service_token)])
chart_router = APIRouter(tags=["billing"])

CENT = Decimal("0.01")
ACCOUNT_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorDetail, "description": "this conversation has not verified this account"},
    404: {"model": ErrorDetail, "description": "unknown account (only reachable after verification)"},
    422: {"model": ErrorDetail, "description": "malformed account number or month"},
}
ConversationId = Annotated[str, Query(min_length=1, max_length=40)]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-10"])]


def yuan(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(CENT))


def kwh(value: Decimal | None) -> str | None:
    return None if value is None else kwh_text(Decimal(value))


def month_text(value: date | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m")


def parse_month(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "月份格式应为YYYY-MM。") from error


def _canonical(account_no: str) -> str:
    try:
        return accounts.normalise_account_no(account_no)
    except accounts.InvalidAccountNo as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, INVALID_ACCOUNT_NO_MESSAGE) from error


class _AccountErrors:
    """Maps the service's access errors onto 403/404, the same answers as the balance endpoint."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        if isinstance(error, accounts.NotVerified):
            raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_VERIFIED_MESSAGE) from error
        if isinstance(error, accounts.AccountNotFound):
            raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE) from error


# ---------------------------------------------------------------- bills


class MonthFigureOut(BaseModel):
    period: str
    kwh: str
    amount_yuan: str | None
    top_tier: int | None


class TierCrossingOut(BaseModel):
    tier: int
    from_kwh: str
    up_to_kwh: str | None
    price: str
    kwh: str
    amount_yuan: str


class ComparisonOut(BaseModel):
    previous: MonthFigureOut | None
    same_month_last_year: MonthFigureOut | None
    kwh_change_vs_previous: str | None
    amount_change_vs_previous: str | None
    kwh_change_vs_last_year: str | None
    amount_change_vs_last_year: str | None
    tiers: list[TierCrossingOut]
    higher_tier_surcharge_yuan: str | None


class BillResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_masked": "****0007",
                    "period": "2026-10",
                    "available": True,
                    "kwh": "520.00",
                    "amount_yuan": "373.20",
                    "breakdown": {
                        "tariff_code": "residential_tiered",
                        "lines": [
                            {"tier": 1, "kwh": "180.00", "price": "0.56", "amount": "100.80"},
                            {"tier": 2, "kwh": "80.00", "price": "0.61", "amount": "48.80"},
                            {"tier": 3, "kwh": "260.00", "price": "0.86", "amount": "223.60"},
                        ],
                        "total": "373.20",
                        "confirmed": False,
                    },
                    "tariff_code": "residential_tiered",
                    "tariff_name": "居民阶梯电价（一户一表）",
                    "confirmed": False,
                    "notice": "以当地营业厅公布为准",
                    "due_date": "2026-11-15",
                    "paid": True,
                    "late_fee_yuan": "0.00",
                    "reason": None,
                    "missing": [],
                    "comparison": {
                        "previous": {
                            "period": "2026-09",
                            "kwh": "131.00",
                            "amount_yuan": "73.36",
                            "top_tier": 1,
                        },
                        "same_month_last_year": None,
                        "kwh_change_vs_previous": "389.00",
                        "amount_change_vs_previous": "299.84",
                        "kwh_change_vs_last_year": None,
                        "amount_change_vs_last_year": None,
                        "tiers": [],
                        "higher_tier_surcharge_yuan": "82.00",
                    },
                    "first_period": "2025-11",
                    "last_period": "2026-10",
                }
            ]
        }
    )

    account_masked: str
    period: str
    available: bool
    kwh: str | None
    amount_yuan: str | None
    breakdown: dict[str, Any] | None
    tariff_code: str
    tariff_name: str
    confirmed: bool
    notice: str | None
    due_date: date | None
    paid: bool | None
    late_fee_yuan: str
    reason: str | None = Field(description="why no bill: no_usage | tariff_unpriced")
    missing: list[str]
    comparison: ComparisonOut | None
    first_period: str | None
    last_period: str | None


def _figure(value: billing.MonthFigure | None) -> MonthFigureOut | None:
    if value is None:
        return None
    return MonthFigureOut(
        period=month_text(value.period) or "",
        kwh=kwh(value.kwh) or "",
        amount_yuan=yuan(value.amount),
        top_tier=value.top_tier,
    )


def _comparison(value: billing.BillComparison | None) -> ComparisonOut | None:
    if value is None:
        return None
    return ComparisonOut(
        previous=_figure(value.previous),
        same_month_last_year=_figure(value.same_month_last_year),
        kwh_change_vs_previous=kwh(value.kwh_change_vs_previous),
        amount_change_vs_previous=yuan(value.amount_change_vs_previous),
        kwh_change_vs_last_year=kwh(value.kwh_change_vs_last_year),
        amount_change_vs_last_year=yuan(value.amount_change_vs_last_year),
        tiers=[
            TierCrossingOut(
                tier=c.tier,
                from_kwh=kwh(c.from_kwh) or "",
                up_to_kwh=kwh(c.up_to_kwh),
                price=str(c.price),
                kwh=kwh(c.kwh) or "",
                amount_yuan=yuan(c.amount) or "",
            )
            for c in value.tiers
        ],
        higher_tier_surcharge_yuan=yuan(value.higher_tier_surcharge),
    )


@router.get("/accounts/{account_no}/bills", response_model=BillResponse, responses=ACCOUNT_ERRORS)
def get_bill(
    account_no: str,
    session: SessionDep,
    settings: SettingsDep,
    conversation_id: ConversationId,
    period: Month = None,
) -> BillResponse:
    """The bill of `period` (YYYY-MM; default the latest) with its breakdown per tier or time band,
    the comparison with the previous month and the same month last year, and late-payment charges."""
    canonical = _canonical(account_no)
    with _AccountErrors():
        report = billing.get_bill(
            session,
            conversation_id=conversation_id,
            account_no=canonical,
            period=parse_month(period),
            ttl_minutes=settings.verification_ttl_minutes,
        )
    return BillResponse(
        account_masked=report.account_masked,
        period=month_text(report.period) or "",
        available=report.available,
        kwh=kwh(report.kwh),
        amount_yuan=yuan(report.amount),
        breakdown=report.breakdown,
        tariff_code=report.tariff_code,
        tariff_name=report.tariff_name,
        confirmed=report.confirmed,
        notice=None if report.confirmed else billing.UNCONFIRMED_NOTICE,
        due_date=report.due_date,
        paid=report.paid,
        late_fee_yuan=yuan(report.late_fee) or "0.00",
        reason=report.reason,
        missing=list(report.missing),
        comparison=_comparison(report.comparison),
        first_period=month_text(report.first_period),
        last_period=month_text(report.last_period),
    )


# ---------------------------------------------------------------- usage


class UsagePointOut(BaseModel):
    period: str
    kwh: str
    bands: dict[str, str]
    amount_yuan: str | None


class UsageResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_masked": "****0001",
                    "start": "2025-11",
                    "end": "2026-10",
                    "points": [{"period": "2026-10", "kwh": "176.00", "bands": {}, "amount_yuan": "98.56"}],
                    "total_kwh": "2282.00",
                    "average_kwh": "190.17",
                    "highest": {"period": "2026-05", "kwh": "310.00", "bands": {}, "amount_yuan": "192.60"},
                    "lowest": {"period": "2025-12", "kwh": "128.00", "bands": {}, "amount_yuan": "71.68"},
                    "trend": "rising",
                    "trend_change_pct": "33.2",
                    "previous_total_kwh": None,
                    "missing_months": [],
                    "first_period": "2025-11",
                    "last_period": "2026-10",
                    "chart_url": "/charts/usage/eyJh...sig.svg",
                }
            ]
        }
    )

    account_masked: str
    start: str
    end: str
    points: list[UsagePointOut]
    total_kwh: str
    average_kwh: str | None
    highest: UsagePointOut | None
    lowest: UsagePointOut | None
    trend: str | None = Field(description="rising | falling | steady: second half of the range vs the first")
    trend_change_pct: str | None
    previous_total_kwh: str | None
    missing_months: list[str]
    first_period: str | None
    last_period: str | None
    chart_url: str = Field(description="signed link to an SVG bar chart, valid for a few minutes, no token")


def _point(point: billing.UsagePoint | None) -> UsagePointOut | None:
    if point is None:
        return None
    return UsagePointOut(
        period=month_text(point.period) or "",
        kwh=kwh(point.kwh) or "",
        bands={band: kwh(value) or "" for band, value in point.bands.items()},
        amount_yuan=yuan(point.amount),
    )


@router.get("/accounts/{account_no}/usage", response_model=UsageResponse, responses=ACCOUNT_ERRORS)
def get_usage(
    account_no: str,
    session: SessionDep,
    settings: SettingsDep,
    conversation_id: ConversationId,
    start: Month = None,
    end: Month = None,
) -> UsageResponse:
    """kWh per month over [start, end] (default: the last 12 months), with the trend and a chart link."""
    canonical = _canonical(account_no)
    with _AccountErrors():
        series = billing.usage_series(
            session,
            conversation_id=conversation_id,
            account_no=canonical,
            start=parse_month(start),
            end=parse_month(end),
            ttl_minutes=settings.verification_ttl_minutes,
        )
    token = make_chart_token(canonical, conversation_id, settings.service_token)
    return UsageResponse(
        account_masked=series.account_masked,
        start=month_text(series.start) or "",
        end=month_text(series.end) or "",
        points=[p for p in (_point(x) for x in series.points) if p is not None],
        total_kwh=kwh(series.total_kwh) or "0.00",
        average_kwh=kwh(series.average_kwh),
        highest=_point(series.highest),
        lowest=_point(series.lowest),
        trend=series.trend,
        trend_change_pct=None if series.trend_change_pct is None else str(series.trend_change_pct),
        previous_total_kwh=kwh(series.previous_total_kwh),
        missing_months=[month_text(m) or "" for m in series.missing_months],
        first_period=month_text(series.first_period),
        last_period=month_text(series.last_period),
        chart_url=f"/charts/usage/{token}.svg",
    )


@chart_router.get(
    "/charts/usage/{token}.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, 404: {"description": "bad or expired link"}},
)
def usage_chart(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    """The last 12 months of usage as an SVG bar chart, for a signed link issued by /usage."""
    try:
        grant = read_chart_token(token, settings.service_token)
    except BadChartToken as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "链接无效或已过期。") from error
    try:
        series = billing.usage_series(
            session,
            conversation_id=grant.conversation_id,
            account_no=grant.account_no,
            ttl_minutes=settings.verification_ttl_minutes,
        )
    except (accounts.NotVerified, accounts.AccountNotFound) as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "链接无效或已过期。") from error
    points = [(f"{p.period.month}月", p.kwh) for p in series.points]
    title = f"户号{series.account_masked} 近{len(points)}个月用电量"
    return Response(
        usage_svg(title, points), media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"}
    )


# ---------------------------------------------------------------- tariff comparison


class KnownAdjustmentOut(BaseModel):
    band: str
    kwh: str
    per_kwh: str
    amount_yuan: str


class TariffOptionOut(BaseModel):
    code: str
    overlay_code: str | None
    name: str
    current: bool
    available: bool
    total_yuan: str | None
    confirmed: bool
    missing: list[str]
    known_adjustments: list[KnownAdjustmentOut]
    break_even_band: str | None
    break_even_per_kwh: str | None


class TariffComparisonResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_masked": "****0005",
                    "start": "2025-11",
                    "end": "2026-10",
                    "months": 12,
                    "total_kwh": "3110.00",
                    "band_kwh": {"peak": "1617.20", "valley": "1492.80"},
                    "options": [
                        {
                            "code": "residential_tiered",
                            "overlay_code": None,
                            "name": "居民阶梯电价（一户一表）",
                            "current": False,
                            "available": True,
                            "total_yuan": "1878.60",
                            "confirmed": False,
                            "missing": [],
                            "known_adjustments": [],
                            "break_even_band": None,
                            "break_even_per_kwh": None,
                        },
                        {
                            "code": "residential_tiered",
                            "overlay_code": "residential_tou",
                            "name": "居民阶梯电价（一户一表）＋居民峰谷分时电价",
                            "current": True,
                            "available": False,
                            "total_yuan": None,
                            "confirmed": False,
                            "missing": ["peak adjustment"],
                            "known_adjustments": [
                                {
                                    "band": "valley",
                                    "kwh": "1492.80",
                                    "per_kwh": "-0.12",
                                    "amount_yuan": "-179.14",
                                }
                            ],
                            "break_even_band": "peak",
                            "break_even_per_kwh": "0.1108",
                        },
                    ],
                    "recommended": None,
                    "saving_yuan": None,
                    "months_in_top_tier": 4,
                    "top_tier_kwh": "405.00",
                    "top_tier_price": "0.86",
                    "notice": "以当地营业厅公布为准",
                }
            ]
        }
    )

    account_masked: str
    start: str
    end: str
    months: int
    total_kwh: str
    band_kwh: dict[str, str]
    options: list[TariffOptionOut]
    recommended: TariffOptionOut | None
    saving_yuan: str | None
    months_in_top_tier: int
    top_tier_kwh: str
    top_tier_price: str | None
    notice: str | None


def _option(option: billing.TariffOption | None) -> TariffOptionOut | None:
    if option is None:
        return None
    return TariffOptionOut(
        code=option.code,
        overlay_code=option.overlay_code,
        name=option.name,
        current=option.current,
        available=option.available,
        total_yuan=yuan(option.total),
        confirmed=option.confirmed,
        missing=list(option.missing),
        known_adjustments=[
            KnownAdjustmentOut(
                band=k.band, kwh=kwh(k.kwh) or "", per_kwh=str(k.per_kwh), amount_yuan=yuan(k.amount) or ""
            )
            for k in option.known_adjustments
        ],
        break_even_band=option.break_even_band,
        break_even_per_kwh=None if option.break_even_per_kwh is None else str(option.break_even_per_kwh),
    )


@router.get(
    "/accounts/{account_no}/tariff-comparison",
    response_model=TariffComparisonResponse,
    responses=ACCOUNT_ERRORS,
)
def tariff_comparison(
    account_no: str,
    session: SessionDep,
    settings: SettingsDep,
    conversation_id: ConversationId,
    months: Annotated[int, Query(ge=1, le=24)] = 12,
) -> TariffComparisonResponse:
    """The customer's cost over the last `months` months under the current tariff and each
    alternative open to them, from their own usage; partial figures where prices are missing."""
    canonical = _canonical(account_no)
    with _AccountErrors():
        try:
            result = billing.compare_tariffs(
                session,
                conversation_id=conversation_id,
                account_no=canonical,
                months=months,
                ttl_minutes=settings.verification_ttl_minutes,
            )
        except TariffError as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "该户没有用电记录。") from error
    return TariffComparisonResponse(
        account_masked=result.account_masked,
        start=month_text(result.start) or "",
        end=month_text(result.end) or "",
        months=result.months,
        total_kwh=kwh(result.total_kwh) or "0.00",
        band_kwh={band: kwh(value) or "" for band, value in result.band_kwh.items()},
        options=[o for o in (_option(x) for x in result.options) if o is not None],
        recommended=_option(result.recommended),
        saving_yuan=yuan(result.saving),
        months_in_top_tier=result.months_in_top_tier,
        top_tier_kwh=kwh(result.top_tier_kwh) or "0.00",
        top_tier_price=None if result.top_tier_price is None else str(result.top_tier_price),
        notice=result.notice,
    )


# ---------------------------------------------------------------- payment status


class QuotedOut(BaseModel):
    text: str
    effective_date: date | None
    source: str
    confirmed: bool


class PaymentOut(BaseModel):
    amount_yuan: str
    channel: str
    paid_at: datetime


class PaymentStatusResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_masked": "****0002",
                    "payment_mode": "prepaid",
                    "balance_yuan": "0.00",
                    "arrears_yuan": "45.20",
                    "supply_status": "suspended_for_arrears",
                    "suspended_since": "2026-11-25T00:00:00Z",
                    "last_payment": None,
                    "last_payment_recent": False,
                    "paid_after_suspension": False,
                    "amount_to_restore_yuan": "45.20",
                    "average_monthly_amount_yuan": "55.07",
                    "average_daily_amount_yuan": "1.80",
                    "days_left": 0,
                    "late_fee_yuan": "0.00",
                    "unpaid_bills": [],
                    "auto_restore": {
                        "text": "智能电表缴清欠费后一般会自动恢复供电",
                        "effective_date": "2024-03-06",
                        "source": "reference.md §4.5",
                        "confirmed": False,
                    },
                }
            ]
        }
    )

    account_masked: str
    payment_mode: str
    balance_yuan: str
    arrears_yuan: str
    supply_status: str
    suspended_since: datetime | None
    last_payment: PaymentOut | None
    last_payment_recent: bool
    paid_after_suspension: bool
    amount_to_restore_yuan: str
    average_monthly_amount_yuan: str | None
    average_daily_amount_yuan: str | None
    days_left: int | None
    late_fee_yuan: str
    unpaid_bills: list[str]
    auto_restore: QuotedOut
    restore_time_limit: QuotedOut
    prepaid_suspension: QuotedOut
    payment_posting: QuotedOut
    unconfirmed_notice: str = billing.UNCONFIRMED_NOTICE


def _quoted(value: billing.Quoted) -> QuotedOut:
    return QuotedOut(
        text=value.text, effective_date=value.effective_date, source=value.source, confirmed=value.confirmed
    )


@router.get(
    "/accounts/{account_no}/payment-status", response_model=PaymentStatusResponse, responses=ACCOUNT_ERRORS
)
def payment_status(
    account_no: str, session: SessionDep, settings: SettingsDep, conversation_id: ConversationId
) -> PaymentStatusResponse:
    """Last payment, what must be paid for supply to return, how long a prepaid balance lasts at
    recent usage, and the (sourced, possibly unconfirmed) restoration rules."""
    canonical = _canonical(account_no)
    with _AccountErrors():
        result = billing.payment_status(
            session,
            conversation_id=conversation_id,
            account_no=canonical,
            ttl_minutes=settings.verification_ttl_minutes,
        )
    last = result.last_payment
    return PaymentStatusResponse(
        account_masked=result.account_masked,
        payment_mode=result.payment_mode,
        balance_yuan=yuan(result.balance) or "0.00",
        arrears_yuan=yuan(result.arrears) or "0.00",
        supply_status=result.supply_status,
        suspended_since=result.suspended_since,
        last_payment=None
        if last is None
        else PaymentOut(amount_yuan=yuan(last.amount) or "", channel=last.channel, paid_at=last.paid_at),
        last_payment_recent=result.last_payment_recent,
        paid_after_suspension=result.paid_after_suspension,
        amount_to_restore_yuan=yuan(result.amount_to_restore) or "0.00",
        average_monthly_amount_yuan=yuan(result.average_monthly_amount),
        average_daily_amount_yuan=yuan(result.average_daily_amount),
        days_left=result.days_left,
        late_fee_yuan=yuan(result.late_fee) or "0.00",
        unpaid_bills=[month_text(p) or "" for p in result.unpaid_bills],
        auto_restore=_quoted(result.auto_restore),
        restore_time_limit=_quoted(result.restore_time_limit),
        prepaid_suspension=_quoted(result.prepaid_suspension),
        payment_posting=_quoted(result.payment_posting),
    )


# ---------------------------------------------------------------- public tariff quote


class QuoteResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "residential_tiered",
                    "overlay_code": None,
                    "name": "居民阶梯电价（一户一表）",
                    "period": "2026-10",
                    "kwh": "310.00",
                    "available": True,
                    "total_yuan": "192.60",
                    "breakdown": {
                        "lines": [{"tier": 1, "kwh": "180.00", "price": "0.56", "amount": "100.80"}]
                    },
                    "confirmed": False,
                    "missing": [],
                    "source": "reference.md §1.1",
                    "notice": "以当地营业厅公布为准",
                }
            ]
        }
    )

    code: str
    overlay_code: str | None
    name: str
    period: str
    kwh: str
    available: bool
    total_yuan: str | None
    breakdown: dict[str, Any] | None
    confirmed: bool
    missing: list[str]
    source: str
    notice: str | None


def _decimal_param(value: str | None, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"{what} must be a number") from error
    if not number.is_finite() or number < 0 or number > Decimal("10000000"):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"{what} out of range")
    return number


@router.get(
    "/tariffs/quote",
    response_model=QuoteResponse,
    responses={
        404: {"model": ErrorDetail, "description": "unknown tariff code"},
        422: {"model": ErrorDetail},
    },
)
def tariff_quote(
    settings: SettingsDep,
    code: Annotated[str, Query(examples=["residential_tiered"])],
    kwh_used: Annotated[str, Query(alias="kwh", examples=["310"])],
    period: Month = None,
    overlay: Annotated[str | None, Query(examples=["residential_tou"])] = None,
    peak_kwh: str | None = None,
    flat_kwh: str | None = None,
    valley_kwh: str | None = None,
    critical_peak_kwh: str | None = None,
) -> QuoteResponse:
    """What a month's consumption costs under a configured tariff (no account data: no verification).
    Time-of-use tariffs take the kWh of each band; unknown figures give `available: false` and list
    what is missing instead of a price."""
    amount = _decimal_param(kwh_used, "kwh")
    assert amount is not None
    given = {
        band: _decimal_param(value, f"{band}_kwh")
        for band, value in (
            ("peak", peak_kwh),
            ("flat", flat_kwh),
            ("valley", valley_kwh),
            ("critical_peak", critical_peak_kwh),
        )
    }
    bands = {band: value for band, value in given.items() if value is not None} or None
    month = parse_month(period) or first_of_month(local_today())
    book = load_tariffs(settings.tariff_config)
    try:
        result = billing.quote(book, code, amount, month, bands=bands, overlay_code=overlay)
    except UnknownTariff as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown tariff code {code!r}") from error
    except TariffError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from error
    return QuoteResponse(
        code=result.code,
        overlay_code=result.overlay_code,
        name=result.name,
        period=month_text(result.period) or "",
        kwh=kwh(result.kwh) or "",
        available=result.available,
        total_yuan=yuan(result.total),
        breakdown=result.breakdown,
        confirmed=result.confirmed,
        missing=list(result.missing),
        source=result.source,
        notice=result.notice,
    )
