"""`python -m backend.seed_bulk --n 100000`: synthetic customers for load tests and benchmarks.

Realistic but fictional: Chinese names, 新乡县 towns and villages, mobile numbers, a mix of
residential, commercial and agricultural accounts, a year of monthly usage and, where the tariff
is configured, bills computed by the tariff engine. Core bulk inserts in chunks keep 100 000
customers within a couple of minutes on SQLite.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text

from backend.clock import local_today, utcnow
from backend.db import make_engine
from backend.models import Account, Customer, Meter
from backend.seed import bill_due_date, usage_periods
from backend.settings import get_settings
from backend.tariff_engine import TariffBook, TariffNotConfigured, bill_for, load_tariffs

# Synthetic legacy numbers live in their own range so they never collide with the demo accounts.
SYNTHETIC_LEGACY_START = 3_200_000_000

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁"
    "魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = "建国秀兰伟芳明丽磊军红霞志强桂英玉兰海燕春梅小红淑珍丽娟长青德胜金凤保国书林新民振华永刚凤英俊杰晓东"
TOWNS: dict[str, list[str]] = {
    "七里营镇": ["七里营村", "东街村", "西街村", "刘庄村", "八柳树村", "龙泉村"],
    "朗公庙镇": ["朗公庙村", "毛庄村", "前营村", "后营村", "王庄村"],
    "小冀镇": ["小冀村", "东小冀村", "西小冀村", "北街村", "京华社区"],
    "翟坡镇": ["翟坡村", "东大阳堤村", "后辛庄村", "孟营村"],
    "古固寨镇": ["古固寨村", "祝楼村", "前董村", "后董村"],
    "大召营镇": ["大召营村", "小召营村", "张青村", "南曲村"],
    "合河乡": ["合河村", "东张村", "西张村", "孙庄村"],
}
PHONE_PREFIXES = [
    "138",
    "139",
    "135",
    "137",
    "150",
    "151",
    "152",
    "155",
    "158",
    "159",
    "131",
    "132",
    "185",
    "186",
    "187",
    "188",
    "182",
    "183",
    "189",
    "177",
    "199",
    "166",
]
# (category, tariff, payment_mode, weight)
CATEGORIES = [
    ("residential", "residential_tiered", "prepaid", 88),
    ("residential", "residential_tiered", "postpaid", 3),
    ("general_commercial", "commercial_tou", "postpaid", 5),
    ("agricultural", "agricultural", "prepaid", 4),
]
# Henan households peak in July/August (air conditioning) and January (heating).
SEASON = {
    1: 1.25,
    2: 1.1,
    3: 0.9,
    4: 0.85,
    5: 0.95,
    6: 1.2,
    7: 1.55,
    8: 1.5,
    9: 1.05,
    10: 0.9,
    11: 0.95,
    12: 1.15,
}
# Irrigation (机井) follows the wheat and maize seasons.
AGRICULTURE_SEASON = {
    1: 0.1,
    2: 0.1,
    3: 0.6,
    4: 1.2,
    5: 1.6,
    6: 1.7,
    7: 0.7,
    8: 0.4,
    9: 0.3,
    10: 0.8,
    11: 1.0,
    12: 0.2,
}


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


class BillCache:
    """Bills depend only on (tariff, period, kWh); computing each distinct one once keeps this fast."""

    def __init__(self, book: TariffBook) -> None:
        self.book = book
        self._cache: dict[tuple[str, date, int], tuple[Decimal, str] | None] = {}

    def get(self, code: str, period: date, kwh: int) -> tuple[Decimal, str] | None:
        """(amount, breakdown as JSON text) or None when the tariff has no configured prices."""
        key = (code, period, kwh)
        if key not in self._cache:
            try:
                breakdown = bill_for(kwh, self.book.for_period(code, period), period)
                self._cache[key] = (breakdown.total, json.dumps(breakdown.as_json(), ensure_ascii=False))
            except TariffNotConfigured:
                self._cache[key] = None
        return self._cache[key]


class RowWriter:
    """Driver-level executemany for the two big tables (usage, bills): with a million rows, the
    per-row type processing of an ORM/Core insert is most of the run time. Values are converted
    here exactly as SQLAlchemy would store them for this dialect."""

    USAGE_COLUMNS = ("account_id", "period", "kwh", "pv_feed_in_kwh")
    BILL_COLUMNS = (
        "account_id",
        "period",
        "kwh",
        "amount_yuan",
        "breakdown",
        "tariff_code",
        "due_date",
        "paid",
        "created_at",
    )

    def __init__(self, connection: Connection, now: datetime) -> None:
        self.sqlite = connection.dialect.name == "sqlite"
        marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"

        def statement(table: str, columns: tuple[str, ...]) -> str:
            return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"

        self.usage_sql = statement("monthly_usage", self.USAGE_COLUMNS)
        self.bill_sql = statement("bills", self.BILL_COLUMNS)
        # SQLite keeps naive UTC text (see models.UTCDateTime); PostgreSQL takes the aware value.
        self.now: object = now.astimezone(UTC).replace(tzinfo=None).isoformat(" ") if self.sqlite else now

    def day(self, value: date) -> object:
        return value.isoformat() if self.sqlite else value

    def money(self, value: Decimal) -> object:
        return float(value) if self.sqlite else value


def _monthly_kwh(rng: random.Random, category: str, base: float, month: int) -> int:
    if category == "agricultural":
        return max(0, int(base * AGRICULTURE_SEASON[month] * rng.uniform(0.6, 1.4)))
    return max(0, int(base * SEASON[month] * rng.uniform(0.85, 1.15)))


def _next_ids(connection: Connection) -> tuple[int, int, int]:
    customer_id = (connection.scalar(select(func.max(Customer.id))) or 0) + 1
    account_id = (connection.scalar(select(func.max(Account.id))) or 0) + 1
    highest_synthetic = connection.scalar(
        select(func.max(Account.legacy_no)).where(Account.legacy_no.like("32%"))
    )
    legacy = int(highest_synthetic) + 1 if highest_synthetic else SYNTHETIC_LEGACY_START
    return customer_id, account_id, legacy


def _fix_postgres_sequences(connection: Connection) -> None:
    """Explicit ids bypass PostgreSQL sequences; move them past the rows we wrote."""
    for table in ("customers", "accounts"):
        connection.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        )


def seed_bulk(
    engine: Engine,
    n: int,
    *,
    seed: int = 20261126,
    chunk: int = 5000,
    book: TariffBook | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    rng = random.Random(seed)
    bills = BillCache(book or load_tariffs(get_settings().tariff_config))
    now = now or utcnow()
    periods = usage_periods(local_today(now))
    weights = [c[3] for c in CATEGORIES]
    town_names = list(TOWNS)
    counts = {"customers": 0, "usage": 0, "bills": 0}

    with engine.begin() as connection:
        customer_id, account_id, legacy = _next_ids(connection)
        writer = RowWriter(connection, now)
    period_values = [(period, writer.day(period), writer.day(bill_due_date(period))) for period in periods]

    for _start, size in _chunks(n, chunk):
        customers: list[dict[str, Any]] = []
        accounts: list[dict[str, Any]] = []
        meters: list[dict[str, Any]] = []
        usage: list[tuple[object, ...]] = []
        bill_rows: list[tuple[object, ...]] = []
        for _ in range(size):
            category, tariff, payment_mode, _w = rng.choices(CATEGORIES, weights)[0]
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2, 2))))
            town = rng.choice(town_names)
            village = rng.choice(TOWNS[town])
            legacy_no = str(legacy)
            account_no = "410" + legacy_no
            address = f"新乡县{town}{village}{rng.randint(1, 9)}组{rng.randint(1, 60)}号"
            balance = Decimal(rng.randint(0, 40000)) / 100
            in_arrears = payment_mode == "prepaid" and rng.random() < 0.03
            customers.append(
                {
                    "id": customer_id,
                    "name": name,
                    "phone": rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}",
                    "category": category,
                    "business_name": None,
                    "created_at": now,
                }
            )
            accounts.append(
                {
                    "id": account_id,
                    "account_no": account_no,
                    "legacy_no": legacy_no,
                    "customer_id": customer_id,
                    "address": address,
                    "town": town,
                    "village": village,
                    "area_type": "remote" if category == "agricultural" else "rural",
                    "category": category,
                    "tariff_code": tariff,
                    "tou_enabled": category == "general_commercial",
                    "tou_share": None,
                    "payment_mode": payment_mode,
                    "balance_yuan": Decimal("0.00") if in_arrears else balance,
                    "arrears_yuan": Decimal(rng.randint(100, 20000)) / 100 if in_arrears else Decimal("0.00"),
                    "supply_status": "normal",
                    "suspended_since": None,
                    "created_at": now,
                }
            )
            meters.append(
                {
                    "meter_no": f"M{account_no}",
                    "account_id": account_id,
                    "kind": "single_phase" if category == "residential" else "three_phase",
                    "smart_prepay": payment_mode == "prepaid",
                    "installed_on": None,
                }
            )
            base = {
                "residential": rng.uniform(70, 260),
                "general_commercial": rng.uniform(800, 3000),
                "agricultural": rng.uniform(200, 700),
            }[category]
            for period, period_value, due_value in period_values:
                kwh = _monthly_kwh(rng, category, base, period.month)
                usage.append((account_id, period_value, kwh, None))
                bill = bills.get(tariff, period, kwh)
                if bill is not None:
                    bill_rows.append(
                        (
                            account_id,
                            period_value,
                            kwh,
                            writer.money(bill[0]),
                            bill[1],
                            tariff,
                            due_value,
                            True,
                            writer.now,
                        )
                    )
            customer_id, account_id, legacy = customer_id + 1, account_id + 1, legacy + 1
        with engine.begin() as connection:
            connection.execute(insert(Customer), customers)
            connection.execute(insert(Account), accounts)
            connection.execute(insert(Meter), meters)
            connection.exec_driver_sql(writer.usage_sql, usage)
            if bill_rows:
                connection.exec_driver_sql(writer.bill_sql, bill_rows)
        counts["customers"] += size
        counts["usage"] += len(usage)
        counts["bills"] += len(bill_rows)

    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            _fix_postgres_sequences(connection)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="number of synthetic customers")
    parser.add_argument("--database-url", default=None, help="defaults to DATABASE_URL")
    parser.add_argument("--seed", type=int, default=20261126, help="random seed (repeatable data)")
    parser.add_argument("--chunk", type=int, default=5000)
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url or get_settings().database_url)
    started = time.perf_counter()
    try:
        counts = seed_bulk(engine, args.n, seed=args.seed, chunk=args.chunk)
    finally:
        engine.dispose()
    elapsed = time.perf_counter() - started
    print(
        f"added {counts['customers']} customers, {counts['usage']} monthly usage rows, "
        f"{counts['bills']} bills in {elapsed:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
