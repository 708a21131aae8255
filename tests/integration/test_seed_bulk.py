from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from backend.models import Account, Bill, Customer, MonthlyUsage
from backend.seed_bulk import seed_bulk
from backend.services.accounts import find_account
from backend.settings import get_settings
from backend.tariff_engine import bill_for, load_tariffs

REPO = Path(__file__).resolve().parents[2]


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_bulk_customers_have_a_year_of_usage_and_engine_bills(engine, session):
    before = _count(session, Customer)
    counts = seed_bulk(engine, 300, chunk=128, seed=7)
    again = seed_bulk(engine, 50, chunk=128, seed=7)  # a second run continues, no collisions
    session.expire_all()
    assert counts["customers"] == 300 and again["customers"] == 50
    assert _count(session, Customer) == before + 350
    assert counts["usage"] == 300 * 12

    book = load_tariffs(get_settings().tariff_config)
    synthetic = session.scalars(select(Account).where(Account.legacy_no.like("32%"))).all()
    assert len(synthetic) >= 350
    categories = {account.category for account in synthetic}
    assert {"residential", "general_commercial", "agricultural"} <= categories
    for account in synthetic[:60]:
        assert find_account(session, account.legacy_no) is not None  # type: ignore[arg-type]
        assert account.address.startswith("新乡县")
        usage = session.scalars(select(MonthlyUsage).where(MonthlyUsage.account_id == account.id)).all()
        assert len(usage) == 12
        bills = {b.period: b for b in session.scalars(select(Bill).where(Bill.account_id == account.id))}
        if account.tariff_code != "residential_tiered":
            assert bills == {}
            continue
        assert len(bills) == 12
        for month in usage:
            expected = bill_for(month.kwh, book.for_period(account.tariff_code, month.period), month.period)
            assert bills[month.period].amount_yuan == expected.total
            assert bills[month.period].breakdown == expected.as_json()


def test_ordinary_inserts_still_work_after_bulk_ids(engine, session, unique_id):
    seed_bulk(engine, 20, seed=11)
    session.add(Customer(name="测试", phone="13800000000", category="residential", business_name=unique_id))
    session.commit()  # on PostgreSQL this fails unless the id sequence was moved past the bulk rows


def test_cli_prints_elapsed_time(db_url):
    done = subprocess.run(
        [sys.executable, "-m", "backend.seed_bulk", "--n", "30", "--database-url", db_url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "added 30 customers" in done.stdout and done.stdout.rstrip().endswith(" s")
