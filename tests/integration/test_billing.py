"""Billing service on the seeded demo data, on SQLite and PostgreSQL (db_url fixture)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backend.clock import add_months, first_of_month, local_today, utcnow
from backend.models import Account, AuditEvent, Bill, Payment
from backend.seed import usage_periods
from backend.services import billing
from backend.services.accounts import AccountNotFound, NotVerified, verify_identity

SUN_LI, WANG, LI, ZHANG, LIU, ZHAO = (
    "4103100000007",
    "4103100000001",
    "4103100000002",
    "4103100000003",
    "4103100000005",
    "4103100000004",
)
PHONE_LAST4 = {SUN_LI: "1357", WANG: "1234", LI: "5678", ZHANG: "9012", LIU: "7890", ZHAO: "3456"}


def verified(session, unique_id: str, account_no: str) -> str:
    conversation = f"wx-{unique_id}"
    result = verify_identity(
        session,
        conversation_id=conversation,
        channel="wechat",
        account_no=account_no,
        phone_last4=PHONE_LAST4[account_no],
    )
    assert result.verified
    return conversation


def last_month() -> date:
    return usage_periods(local_today())[-1]


def test_bill_needs_verification(session, unique_id):
    with pytest.raises(NotVerified):
        billing.get_bill(session, conversation_id=f"wx-{unique_id}", account_no=SUN_LI)
    with pytest.raises(NotVerified):
        billing.get_bill(session, conversation_id=f"wx-{unique_id}", account_no="12")


def test_sun_li_why_so_high(session, unique_id):
    conversation = verified(session, unique_id, SUN_LI)
    report = billing.get_bill(session, conversation_id=conversation, account_no=SUN_LI)
    assert report.available and report.period == last_month()
    assert (report.kwh, report.amount) == (Decimal(520), Decimal("373.20"))
    comparison = report.comparison
    assert comparison is not None and comparison.previous is not None
    assert (comparison.previous.kwh, comparison.previous.amount) == (Decimal(131), Decimal("73.36"))
    assert comparison.previous.top_tier == 1
    assert comparison.kwh_change_vs_previous == Decimal(389)
    assert comparison.amount_change_vs_previous == Decimal("299.84")
    # Twelve months of data: the same month last year is not on record, and is said to be missing.
    assert comparison.same_month_last_year is None and comparison.amount_change_vs_last_year is None
    assert [(c.tier, c.kwh, c.amount) for c in comparison.tiers] == [
        (1, Decimal(180), Decimal("100.80")),
        (2, Decimal(80), Decimal("48.80")),
        (3, Decimal(260), Decimal("223.60")),
    ]
    assert comparison.tiers[2].from_kwh == Decimal(260) and comparison.tiers[2].up_to_kwh is None
    # (0.61-0.56)*80 + (0.86-0.56)*260 = 4.00 + 78.00
    assert comparison.higher_tier_surcharge == Decimal("82.00")
    assert report.confirmed is False  # figures graded C/D: the answer must add the notice


def test_named_month_and_unknown_month(session, unique_id):
    conversation = verified(session, unique_id, SUN_LI)
    previous = add_months(last_month(), -1)
    report = billing.get_bill(session, conversation_id=conversation, account_no=SUN_LI, period=previous)
    assert (report.kwh, report.amount) == (Decimal(131), Decimal("73.36"))
    far = billing.get_bill(session, conversation_id=conversation, account_no=SUN_LI, period=date(2001, 1, 1))
    assert not far.available and far.reason == "no_usage"
    assert far.first_period == add_months(last_month(), -11)


def test_unpriced_tariff_reports_missing_figures_instead_of_an_amount(session, unique_id):
    conversation = verified(session, unique_id, ZHANG)
    report = billing.get_bill(session, conversation_id=conversation, account_no=ZHANG)
    assert not report.available and report.reason == "tariff_unpriced"
    assert report.kwh == Decimal(2350) and report.amount is None
    assert "flat price" in report.missing


def test_views_are_audited(session, unique_id):
    conversation = verified(session, unique_id, WANG)
    billing.usage_series(session, conversation_id=conversation, account_no=WANG)
    event = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.actor == f"conversation:{conversation}")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None and event.action == "billing.view_usage"
    assert event.entity_id == "****0001" and event.channel == "wechat"


def test_wang_usage_year_with_trend(session, unique_id):
    conversation = verified(session, unique_id, WANG)
    series = billing.usage_series(session, conversation_id=conversation, account_no=WANG)
    kwh = [142, 128, 135, 160, 190, 245, 310, 298, 210, 150, 138, 176]
    assert [p.kwh for p in series.points] == [Decimal(v) for v in kwh]
    assert series.total_kwh == Decimal(sum(kwh))
    assert series.highest is not None and series.highest.kwh == Decimal(310)
    assert series.lowest is not None and series.lowest.kwh == Decimal(128)
    # second half (310, 298, 210, 150, 138, 176) against first half (142 ... 245)
    assert series.trend == "rising"
    assert series.previous_total_kwh is None  # the year before is not on record
    assert series.points[-1].amount == Decimal("98.56")  # 176 kWh, all tier 1


def test_usage_of_a_season(session, unique_id):
    conversation = verified(session, unique_id, WANG)
    end = last_month()
    start = add_months(end, -2)
    series = billing.usage_series(
        session, conversation_id=conversation, account_no=WANG, start=start, end=end
    )
    assert [p.kwh for p in series.points] == [Decimal(150), Decimal(138), Decimal(176)]
    assert series.previous_total_kwh == Decimal(310 + 298 + 210)
    assert series.trend == "rising"


def test_liu_fang_tariff_comparison_with_and_without_tou(session, unique_id):
    conversation = verified(session, unique_id, LIU)
    result = billing.compare_tariffs(session, conversation_id=conversation, account_no=LIU)
    usage = [320, 290, 240, 180, 170, 260, 380, 365, 220, 175, 210, 300]
    assert result.months == 12 and result.total_kwh == Decimal(sum(usage))
    tiers_only, with_tou = result.options
    assert tiers_only.overlay_code is None and tiers_only.available
    expected = sum(
        (
            Decimal("0.56") * min(k, 180)
            + Decimal("0.61") * max(0, min(k, 260) - 180)
            + Decimal("0.86") * max(0, k - 260)
            for k in usage
        ),
        Decimal(0),
    )
    assert tiers_only.total == expected.quantize(Decimal("0.01"))
    assert with_tou.current is True and tiers_only.current is False
    assert not with_tou.available and with_tou.total is None
    assert "peak adjustment" in with_tou.missing
    valley_kwh = sum((Decimal(k) * Decimal("0.48") for k in usage), Decimal(0))
    assert with_tou.known_adjustments[0].band == "valley"
    assert with_tou.known_adjustments[0].amount == (valley_kwh * Decimal("-0.12")).quantize(Decimal("0.01"))
    peak_kwh = Decimal(sum(usage)) - valley_kwh
    assert with_tou.break_even_band == "peak"
    assert abs(with_tou.break_even_per_kwh - valley_kwh * Decimal("0.12") / peak_kwh) < Decimal("0.0002")
    assert result.recommended is None and result.notice == billing.UNCONFIRMED_NOTICE
    assert result.months_in_top_tier == 5  # 320, 290, 380, 365, 300
    assert result.top_tier_kwh == Decimal(60 + 30 + 120 + 105 + 40)


def test_li_xiulan_suspended_prepaid_payment_status(session, unique_id):
    conversation = verified(session, unique_id, LI)
    status = billing.payment_status(session, conversation_id=conversation, account_no=LI)
    assert status.supply_status == "suspended_for_arrears"
    assert status.amount_to_restore == Decimal("45.20")
    assert status.days_left == 0
    assert status.last_payment is None and not status.paid_after_suspension
    # the three latest bills: 99, 92, 104 kWh all in tier 1
    amounts = [Decimal(k) * Decimal("0.56") for k in (99, 92, 104)]
    assert status.average_monthly_amount == (sum(amounts, Decimal(0)) / 3).quantize(Decimal("0.01"))
    assert status.restore_time_limit.confirmed is False and "24" in status.restore_time_limit.text


def test_prepaid_days_left_from_recent_usage(session, unique_id):
    conversation = verified(session, unique_id, WANG)
    status = billing.payment_status(session, conversation_id=conversation, account_no=WANG)
    periods = usage_periods(local_today())[-3:]
    spent = sum((Decimal(k) * Decimal("0.56") for k in (150, 138, 176)), Decimal(0))
    days = sum((add_months(p, 1) - p).days for p in periods)
    assert status.days_left == int(Decimal("86.50") / (spent / days))
    assert status.late_fee == Decimal("0.00")


def test_last_payment_after_suspension_is_seen(session, unique_id):
    conversation = verified(session, unique_id, LI)
    account = session.scalars(select(Account).where(Account.account_no == LI)).one()
    session.add(
        Payment(
            account_id=account.id,
            amount_yuan=Decimal("50.00"),
            channel="wechat",
            paid_at=utcnow() - timedelta(hours=1),
        )
    )
    session.flush()
    status = billing.payment_status(session, conversation_id=conversation, account_no=LI)
    assert status.last_payment is not None and status.last_payment.amount == Decimal("50.00")
    assert status.last_payment_recent and status.paid_after_suspension


def test_postpaid_overdue_bill_carries_a_late_fee(session, unique_id):
    conversation = verified(session, unique_id, ZHANG)
    account = session.scalars(select(Account).where(Account.account_no == ZHANG)).one()
    due = local_today() - timedelta(days=10)
    session.add(
        Bill(
            account_id=account.id,
            period=first_of_month(date(2001, 1, 1)),
            kwh=Decimal(100),
            amount_yuan=Decimal("500.00"),
            breakdown={},
            tariff_code="commercial_tou",
            due_date=due,
            paid=False,
        )
    )
    session.flush()
    status = billing.payment_status(session, conversation_id=conversation, account_no=ZHANG)
    # 工商业 (non-resident), same year: 500 * 2‰ * 10 days = 10.00 元 (if the 10 days cross a new
    # year, the cross-year days cost 3‰)
    year_end = date(due.year, 12, 31)
    current_days = min(10, (year_end - due).days)
    expected = Decimal("500") * (Decimal("0.002") * current_days + Decimal("0.003") * (10 - current_days))
    assert status.late_fee == expected.quantize(Decimal("0.01"))
    assert status.days_left is None  # postpaid


def test_unknown_account_after_verification_is_not_found(session, unique_id, monkeypatch):
    conversation = verified(session, unique_id, WANG)
    with pytest.raises(NotVerified):
        billing.get_bill(session, conversation_id=conversation, account_no="4103100099999")
    assert AccountNotFound  # imported for the API mapping; unreachable without verification
