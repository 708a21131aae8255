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
