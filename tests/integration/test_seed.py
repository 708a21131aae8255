from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from backend.clock import LOCAL_TZ, add_months, first_of_month, local_today
from backend.models import (
    Account,
    ActiveFault,
    Bill,
    Customer,
    MonthlyUsage,
    PlannedOutage,
    ServiceApplication,
    ServiceHall,
    Ticket,
)
from backend.seed import load_demo_data, seed_demo
from backend.services.accounts import find_account
from backend.settings import get_settings
from backend.tariff_engine import bill_for, load_tariffs


def _demo():
    return load_demo_data(get_settings().demo_data)


def test_every_demo_customer_is_seeded_once(session):
    demo_names = sorted(entry["name"] for entry in _demo()["customers"])
    seeded = sorted(
        session.scalars(
            select(Customer.name)
            .join(Account)
            .where(Account.legacy_no.in_([entry["account_no"] for entry in _demo()["customers"]]))
        )
    )
    assert seeded == demo_names


def test_seeding_again_changes_nothing(session):
    before = session.scalar(select(func.count()).select_from(Customer))
    result = seed_demo(session)
    assert result.seeded is False
    assert session.scalar(select(func.count()).select_from(Customer)) == before


def test_wang_jianguo_balance(session):
    account = find_account(session, "3100000001")
    assert account is not None
    assert account.customer.name == "王建国"
    assert account.balance_yuan == Decimal("86.50")
    assert account.arrears_yuan == Decimal("0.00")
    assert account.payment_mode == "prepaid"
    assert account.supply_status == "normal"


def test_li_xiulan_is_suspended_for_arrears_since_yesterday_8am_local(session):
    account = find_account(session, "4103100000002")
    assert account is not None
    assert account.customer.name == "李秀兰"
    assert account.arrears_yuan == Decimal("45.20")
    assert account.balance_yuan == Decimal("0.00")
    assert account.supply_status == "suspended_for_arrears"
    assert account.suspended_since is not None
    local = account.suspended_since.astimezone(LOCAL_TZ)
    assert (local.hour, local.minute) == (8, 0)
    assert local.date() == local_today() - timedelta(days=1)


def test_both_number_forms_resolve_to_the_same_account(session):
    for entry in _demo()["customers"]:
        legacy = entry["account_no"]
        by_legacy, by_current = find_account(session, legacy), find_account(session, "410" + legacy)
        assert by_legacy is not None
        assert by_legacy.id == by_current.id  # type: ignore[union-attr]
        assert by_legacy.account_no == "410" + legacy
        assert by_legacy.legacy_no == legacy
    assert find_account(session, "3999999999") is None
    assert find_account(session, "not a number") is None


def test_twelve_months_of_usage_ending_last_month(session):
    last_month = add_months(first_of_month(local_today()), -1)
    for entry in _demo()["customers"]:
        account = find_account(session, entry["account_no"])
        assert account is not None
        rows = session.scalars(
            select(MonthlyUsage).where(MonthlyUsage.account_id == account.id).order_by(MonthlyUsage.period)
        ).all()
        assert [row.period for row in rows] == [add_months(last_month, k) for k in range(-11, 1)]
        assert [row.kwh for row in rows] == [Decimal(v) for v in entry["usage_kwh"]]
        if entry.get("pv_feed_in_kwh"):
            assert [row.pv_feed_in_kwh for row in rows] == [Decimal(v) for v in entry["pv_feed_in_kwh"]]


def test_seeded_bills_equal_the_tariff_engine(session):
    book = load_tariffs(get_settings().tariff_config)
    checked = 0
    for entry in _demo()["customers"]:
        account = find_account(session, entry["account_no"])
        assert account is not None
        bills = session.scalars(select(Bill).where(Bill.account_id == account.id).order_by(Bill.period)).all()
        usage = session.scalars(
            select(MonthlyUsage).where(MonthlyUsage.account_id == account.id).order_by(MonthlyUsage.period)
        ).all()
        if entry["tariff"] != "residential_tiered":
            assert bills == []  # commercial and agricultural prices are not configured: no invented bills
            continue
        assert len(bills) == 12
        for bill, month in zip(bills, usage, strict=True):
            expected = bill_for(month.kwh, book.for_period(entry["tariff"], month.period), month.period)
            assert bill.period == month.period
            assert bill.amount_yuan == expected.total
            assert bill.breakdown == expected.as_json()
            assert bill.tariff_code == "residential_tiered"
            checked += 1
    assert checked == 12 * 6


def test_sun_li_last_bill_for_520_kwh(session):
    account = find_account(session, "3100000007")
    assert account is not None
    last = session.scalars(
        select(Bill).where(Bill.account_id == account.id).order_by(Bill.period.desc())
    ).first()
    assert last is not None
    assert last.kwh == Decimal(520)
    assert last.amount_yuan == Decimal("373.20")


def test_applications_tickets_outages_faults_and_halls(session):
    chen = find_account(session, "3100000006")
    assert chen is not None
    application = session.scalars(
        select(ServiceApplication).where(ServiceApplication.account_id == chen.id)
    ).one()
    assert (application.business_type, application.status) == ("新装", "site_survey_scheduled")
    assert application.next_step == "现场勘查，预约明天上午"
    assert datetime.now(UTC) - application.submitted_at > timedelta(days=1, hours=23)

    sun = find_account(session, "3100000007")
    assert sun is not None
    ticket = session.scalars(select(Ticket).where(Ticket.account_id == sun.id)).one()
    assert (ticket.kind, ticket.category, ticket.status) == ("complaint", "营业投诉", "in_progress")
    assert ticket.assigned_to == "大召营供电所"

    outage = session.scalars(select(PlannedOutage).where(PlannedOutage.area == "七里营镇")).one()
    assert outage.villages == ["七里营村", "东街村", "西街村"]
    start = outage.starts_at.astimezone(LOCAL_TZ)
    assert start.date() == local_today() + timedelta(days=1)
    assert (start.hour, start.minute) == (8, 0)
    assert (start.date() - outage.notice_date).days >= 7

    fault = session.scalars(select(ActiveFault).where(ActiveFault.area == "小冀镇")).one()
    assert fault.status == "active"
    assert fault.expected_restore_at is not None and fault.expected_restore_at > fault.started_at

    assert session.scalar(select(func.count()).select_from(ServiceHall)) == len(_demo()["service_halls"])
