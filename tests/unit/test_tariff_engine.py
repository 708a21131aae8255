from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.settings import get_settings
from backend.tariff_engine import (
    TariffError,
    TariffNotConfigured,
    UnknownTariff,
    bill_for,
    load_tariffs,
    parse_tariffs,
)

PERIOD = date(2026, 10, 1)


@pytest.fixture(scope="module")
def book():
    return load_tariffs(get_settings().tariff_config)


@pytest.fixture(scope="module")
def residential(book):
    return book.for_period("residential_tiered", PERIOD)


@pytest.mark.parametrize(
    ("kwh", "total"),
    [(310, "192.60"), (520, "373.20"), (131, "73.36"), (0, "0.00"), (180, "100.80"), (260, "149.60")],
)
def test_worked_examples(residential, kwh, total):
    assert bill_for(kwh, residential, PERIOD).total == Decimal(total)


def test_lines_split_consumption_over_tiers(residential):
    bill = bill_for(310, residential, PERIOD)
    assert [(line.tier, line.kwh, line.price, line.amount) for line in bill.lines] == [
        (1, Decimal(180), Decimal("0.56"), Decimal("100.80")),
        (2, Decimal(80), Decimal("0.61"), Decimal("48.80")),
        (3, Decimal(50), Decimal("0.86"), Decimal("43.00")),
    ]
    assert bill.tariff_code == "residential_tiered"
    assert bill.confirmed is False


def test_just_above_a_boundary_starts_the_next_tier(residential):
    bill = bill_for(181, residential, PERIOD)
    assert [line.tier for line in bill.lines] == [1, 2]
    assert bill.total == Decimal("101.41")


def test_rounding_is_half_up_to_the_cent(residential):
    # 0.1875 kWh * 0.56 = 0.105: half up gives 0.11 where banker's rounding would give 0.10.
    assert bill_for(Decimal("0.1875"), residential, PERIOD).total == Decimal("0.11")
    assert bill_for(Decimal("0.1875"), residential, PERIOD).total.as_tuple().exponent == -2


def test_breakdown_json_has_money_as_strings(residential):
    data = bill_for(520, residential, PERIOD).as_json()
    assert data["total"] == "373.20"
    assert data["kwh"] == "520.00"
    assert data["lines"][2] == {"tier": 3, "kwh": "260.00", "price": "0.86", "amount": "223.60"}
    assert data["confirmed"] is False


def test_configuration_states_monthly_accounting_and_source(residential):
    assert residential.accounting == "monthly"
    assert "reference.md §1.1" in residential.source
    assert residential.effective_from is not None


@pytest.mark.parametrize("code", ["commercial_tou", "agricultural", "residential_tou"])
def test_unpriced_tariffs_refuse_to_bill(book, code):
    tariff = book.for_period(code, PERIOD)
    assert tariff.confirmed is False
    with pytest.raises(TariffNotConfigured) as raised:
        bill_for(1000, tariff, PERIOD)
    assert raised.value.code == code


def test_unknown_code_is_an_error(book):
    with pytest.raises(UnknownTariff):
        book.for_period("industrial_two_part", PERIOD)


def test_period_before_the_effective_date_is_not_billed(book):
    with pytest.raises(TariffNotConfigured):
        book.for_period("residential_tiered", date(2020, 1, 1))


def test_latest_entry_in_force_is_chosen():
    book = parse_tariffs(
        {
            "tariffs": [
                {
                    "code": "t",
                    "name": "old",
                    "effective_from": "2020-01-01",
                    "source": "s",
                    "confirmed": True,
                    "tiers": [{"tier": 1, "up_to_kwh": None, "price": "0.50"}],
                },
                {
                    "code": "t",
                    "name": "new",
                    "effective_from": "2025-01-01",
                    "source": "s",
                    "confirmed": True,
                    "tiers": [{"tier": 1, "up_to_kwh": None, "price": "0.60"}],
                },
            ]
        }
    )
    assert bill_for(100, book.for_period("t", date(2024, 12, 1)), date(2024, 12, 1)).total == Decimal("50.00")
    assert bill_for(100, book.for_period("t", date(2025, 1, 1)), date(2025, 1, 1)).total == Decimal("60.00")


def test_float_prices_are_rejected():
    with pytest.raises(TariffError):
        parse_tariffs(
            {
                "tariffs": [
                    {
                        "code": "t",
                        "name": "n",
                        "effective_from": "2020-01-01",
                        "source": "s",
                        "confirmed": False,
                        "tiers": [{"tier": 1, "up_to_kwh": None, "price": 0.56}],
                    }
                ]
            }
        )


def test_negative_consumption_is_rejected(residential):
    with pytest.raises(ValueError, match="negative"):
        bill_for(-1, residential, PERIOD)


@given(st.integers(min_value=0, max_value=20_000))
def test_total_is_the_sum_of_lines_and_lines_cover_consumption(kwh):
    tariff = load_tariffs(get_settings().tariff_config).for_period("residential_tiered", PERIOD)
    bill = bill_for(kwh, tariff, PERIOD)
    assert sum(line.kwh for line in bill.lines) == kwh
    assert bill.total == sum((line.amount for line in bill.lines), Decimal(0))


@given(st.integers(min_value=0, max_value=20_000))
def test_one_more_kwh_never_costs_less_than_the_tier1_price(kwh):
    tariff = load_tariffs(get_settings().tariff_config).for_period("residential_tiered", PERIOD)
    step = bill_for(kwh + 1, tariff, PERIOD).total - bill_for(kwh, tariff, PERIOD).total
    assert Decimal("0.56") <= step <= Decimal("0.86")


# ---------------------------------------------------------------- structures beyond monthly tiers
# These configurations are test fixtures with made-up prices: they exercise the engine's rules,
# they are not figures the product quotes (config/tariffs.yml leaves unknown figures null).

FIXTURE_TIERS = [
    {"tier": 1, "up_to_kwh": 180, "price": "0.56"},
    {"tier": 2, "up_to_kwh": 260, "price": "0.61"},
    {"tier": 3, "up_to_kwh": None, "price": "0.86"},
]


def fixture_book(**overrides):
    tiered = {
        "code": "res",
        "name": "tiers",
        "kind": "tiered",
        "effective_from": "2020-01-01",
        "source": "test",
        "confirmed": True,
        "tiers": FIXTURE_TIERS,
        "annual_tier_bounds_kwh": ["2160", "3120"],
    }
    tiered.update(overrides.get("tiered", {}))
    return parse_tariffs(
        {
            "tariffs": [
                tiered,
                {
                    "code": "res_tou",
                    "name": "tou",
                    "kind": "tou_overlay",
                    "applies_to": "res",
                    "effective_from": "2020-01-01",
                    "source": "test",
                    "confirmed": True,
                    "band_adjustments": {"peak": "0.03", "valley": "-0.12"},
                },
                {
                    "code": "biz",
                    "name": "commercial",
                    "kind": "tou",
                    "effective_from": "2024-06-01",
                    "source": "test",
                    "confirmed": False,
                    "structure": {
                        "periods_by_month": {
                            "jan_feb_dec": {
                                "months": [1, 2, 12],
                                "peak": ["16:00-24:00"],
                                "critical_peak_jan_dec": ["17:00-18:00"],
                                "critical_peak_months": [1, 12],
                                "valley": ["00:00-06:00"],
                            },
                            "mar_may_sep_nov": {
                                "months": [3, 4, 5, 9, 10, 11],
                                "peak": ["16:00-24:00"],
                                "valley": ["00:00-06:00", "11:00-14:00"],
                            },
                        },
                        "ratios_to_flat": {"peak": "1.69", "valley": "0.5", "critical_peak": "2"},
                        "flat_price": "0.70",
                        "non_floating_price": "0.10",
                    },
                },
                {
                    "code": "farm",
                    "name": "agri",
                    "kind": "flat",
                    "effective_from": "2020-01-01",
                    "source": "test",
                    "confirmed": True,
                    "price": "0.50",
                },
            ],
            "late_payment": {
                "residential_per_mille_per_day": 1,
                "other_current_year_per_mille_per_day": 2,
                "other_cross_year_per_mille_per_day": 3,
                "minimum_yuan": 1,
                "source": "test",
                "confirmed": False,
            },
        }
    )


def test_annual_accounting_continues_from_the_year_so_far():
    book = fixture_book(tiered={"accounting": "annual"})
    tariff = book.for_period("res", PERIOD)
    # 2100 kWh already this year: 60 more at tier 1, then 240 at tier 2 (bound 3120 not reached).
    bill = bill_for(300, tariff, PERIOD, year_to_date_kwh=2100)
    assert [(line.tier, line.kwh) for line in bill.lines] == [(1, Decimal(60)), (2, Decimal(240))]
    assert bill.total == Decimal("33.60") + Decimal("146.40")
    # Early in the year a 520 kWh month stays in tier 1: that is what annual accounting changes.
    assert bill_for(520, tariff, PERIOD, year_to_date_kwh=0).total == Decimal("291.20")


def test_annual_accounting_with_an_unknown_bound_refuses(book):
    tariff = book.for_period("residential_tiered", PERIOD)
    annual = parse_tariffs(
        {
            "tariffs": [
                {
                    "code": "x",
                    "name": "n",
                    "kind": "tiered",
                    "accounting": "annual",
                    "effective_from": "2020-01-01",
                    "source": "s",
                    "confirmed": False,
                    "tiers": FIXTURE_TIERS,
                    "annual_tier_bounds_kwh": ["2160", None],
                }
            ]
        }
    ).for_period("x", PERIOD)
    with pytest.raises(TariffNotConfigured, match="annual"):
        bill_for(100, annual, PERIOD)
    assert tariff.annual_bounds == (Decimal(2160), None)  # the product config: tier-2 bound NOT FOUND


def test_residential_tou_on_top_of_tiers():
    book = fixture_book()
    base, overlay = book.for_period("res", PERIOD), book.for_period("res_tou", PERIOD)
    bill = bill_for(300, overlay, PERIOD, bands={"peak": 156, "valley": 144}, base=base)
    tiered_total = bill_for(300, base, PERIOD).total  # 100.80 + 48.80 + 34.40
    assert tiered_total == Decimal("184.00")
    # peak +0.03 x 156 = 4.68; valley -0.12 x 144 = -17.28
    assert bill.total == tiered_total + Decimal("4.68") - Decimal("17.28")
    adjustments = [line.as_json() for line in bill.lines if line.kind == "tou_adjustment"]
    assert adjustments == [
        {"band": "peak", "kind": "tou_adjustment", "kwh": "156.00", "price": "0.03", "amount": "4.68"},
        {"band": "valley", "kind": "tou_adjustment", "kwh": "144.00", "price": "-0.12", "amount": "-17.28"},
    ]


def test_residential_tou_needs_band_kwh_that_add_up():
    book = fixture_book()
    base, overlay = book.for_period("res", PERIOD), book.for_period("res_tou", PERIOD)
    with pytest.raises(TariffNotConfigured):
        bill_for(300, overlay, PERIOD, base=base)
    with pytest.raises(ValueError, match="add up"):
        bill_for(300, overlay, PERIOD, bands={"peak": 100, "valley": 100}, base=base)


def test_product_residential_tou_knows_only_the_valley_figure(book):
    overlay = book.for_period("residential_tou", PERIOD)
    assert overlay.band_adjustments == {"valley": Decimal("-0.12"), "peak": None}
    assert overlay.missing_figures() == ["peak adjustment"]
    assert overlay.confirmed is False


def test_commercial_tou_band_prices_keep_the_non_floating_part_fixed():
    tariff = fixture_book().for_period("biz", PERIOD)
    bill = bill_for(1000, tariff, PERIOD, bands={"peak": 460, "flat": 380, "valley": 160})
    prices = {line.band: line.price for line in bill.lines}
    # floating 0.60: peak 0.60 x 1.69 + 0.10 = 1.114; valley 0.60 x 0.5 + 0.10 = 0.40
    assert prices == {"peak": Decimal("1.1140"), "flat": Decimal("0.70"), "valley": Decimal("0.400")}
    assert bill.total == Decimal("512.44") + Decimal("266.00") + Decimal("64.00")
    assert bill.confirmed is False


@pytest.mark.parametrize(
    ("month", "clock", "band"),
    [
        (1, "17:30", "critical_peak"),
        (2, "17:30", "peak"),  # February: peak but no 尖峰
        (12, "23:59", "peak"),
        (1, "03:00", "valley"),
        (4, "12:00", "valley"),  # midday valley in spring and autumn
        (1, "12:00", "flat"),
        (10, "06:00", "flat"),
        (10, "16:00", "peak"),
    ],
)
def test_2024_henan_commercial_periods(book, month, clock, band):
    from datetime import time

    from backend.tariff_engine import band_at

    tariff = book.for_period("commercial_tou", PERIOD)
    assert band_at(tariff, time.fromisoformat(clock), month=month) == band


def test_product_commercial_periods_cover_july_critical_peak(book):
    from datetime import datetime

    from backend.tariff_engine import band_at, band_hours

    tariff = book.for_period("commercial_tou", PERIOD)
    assert band_at(tariff, datetime(2026, 7, 15, 21, 0)) == "critical_peak"
    assert band_at(tariff, datetime(2026, 6, 15, 21, 0)) == "peak"
    assert band_hours(tariff, 4)["valley"] == ["00:00-06:00", "11:00-14:00"]
    assert set(tariff.missing_figures()) == {
        "flat price",
        "non-floating part of the flat price",
        "valley ratio",
        "critical_peak ratio",
    }


def test_agricultural_flat_price():
    tariff = fixture_book().for_period("farm", PERIOD)
    assert bill_for(880, tariff, PERIOD).total == Decimal("440.00")
    assert bill_for(0, tariff, PERIOD).lines == ()


def test_tariff_change_inside_a_month_splits_the_bill():
    from backend.tariff_engine import bill_period

    book = parse_tariffs(
        {
            "tariffs": [
                {
                    "code": "t",
                    "name": "old",
                    "effective_from": "2020-01-01",
                    "source": "s",
                    "confirmed": True,
                    "tiers": [
                        {"tier": 1, "up_to_kwh": 180, "price": "0.50"},
                        {"tier": 2, "up_to_kwh": None, "price": "0.80"},
                    ],
                },
                {
                    "code": "t",
                    "name": "new",
                    "effective_from": "2026-06-11",
                    "source": "s",
                    "confirmed": True,
                    "tiers": [
                        {"tier": 1, "up_to_kwh": 180, "price": "0.60"},
                        {"tier": 2, "up_to_kwh": None, "price": "0.90"},
                    ],
                },
            ]
        }
    )
    bill = bill_period(book, "t", 300, date(2026, 6, 1))
    first, second = bill.segments
    # June has 30 days: 10 under the old entry, 20 under the new one; kWh and tier bounds share alike.
    assert (first.start, first.end, second.start, second.end) == (
        date(2026, 6, 1),
        date(2026, 6, 11),
        date(2026, 6, 11),
        date(2026, 7, 1),
    )
    assert (first.bill.kwh, second.bill.kwh) == (Decimal("100.00"), Decimal("200.00"))
    # old: bound 60 -> 60 x 0.50 + 40 x 0.80 = 62.00; new: bound 120 -> 120 x 0.60 + 80 x 0.90 = 144.00
    assert (first.bill.total, second.bill.total) == (Decimal("62.00"), Decimal("144.00"))
    assert bill.total == Decimal("206.00")
    assert bill.as_json()["segments"][1]["effective_from"] == "2026-06-11"
    # A month without a change is one bill, equal to bill_for.
    assert bill_period(book, "t", 300, date(2026, 7, 1)).segments == ()
    assert bill_period(book, "t", 300, date(2026, 7, 1)).total == Decimal("216.00")  # 108 + 108


def test_late_payment_fee_rules():
    from backend.tariff_engine import late_payment_fee

    rules = fixture_book().late_payment
    assert rules is not None
    due = date(2026, 10, 15)
    # Residential 1‰ a day: 200 x 0.001 x 10 = 2.00
    assert late_payment_fee(
        rules, arrears=Decimal(200), due_date=due, on=date(2026, 10, 25), residential=True
    ) == Decimal("2.00")
    # Under 1 元 is charged as 1 元
    assert late_payment_fee(
        rules, arrears=Decimal(50), due_date=due, on=date(2026, 10, 17), residential=True
    ) == Decimal("1")
    # Nothing before or on the due date
    assert late_payment_fee(rules, arrears=Decimal(50), due_date=due, on=due, residential=True) == Decimal(
        "0.00"
    )
    # Others: 2‰ for days in the due date's year, 3‰ once across the year end
    fee = late_payment_fee(
        rules, arrears=Decimal(1000), due_date=date(2026, 12, 21), on=date(2027, 1, 5), residential=False
    )
    assert fee == Decimal(1000) * (Decimal("0.002") * 10 + Decimal("0.003") * 5)


def test_product_late_payment_rules_are_graded_unconfirmed(book):
    assert book.late_payment is not None
    assert book.late_payment.residential_per_day == Decimal("0.001")
    assert book.late_payment.confirmed is False and "§4.3" in book.late_payment.source


def test_inconsistent_peak_ratios_are_rejected():
    with pytest.raises(TariffError, match="disagree"):
        parse_tariffs(
            {
                "tariffs": [
                    {
                        "code": "x",
                        "name": "n",
                        "kind": "tou",
                        "effective_from": "2020-01-01",
                        "source": "s",
                        "confirmed": False,
                        "structure": {"ratio_peak_to_flat": "1.64", "ratios_to_flat": {"peak": "1.69"}},
                    }
                ]
            }
        )
