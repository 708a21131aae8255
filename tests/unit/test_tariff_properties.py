"""Properties of the tariff engine (hypothesis): monotone in usage, continuous at tier bounds,
and a bill split at a tariff change adds up to its parts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.settings import get_settings
from backend.tariff_engine import bill_for, bill_period, load_tariffs, parse_tariffs

PERIOD = date(2026, 10, 1)
CENT = Decimal("0.01")
kwh_values = st.decimals(min_value=0, max_value=20_000, places=2, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=Decimal("0.10"), max_value=Decimal("2.00"), places=2)


def product_tiers():
    return load_tariffs(get_settings().tariff_config).for_period("residential_tiered", PERIOD)


@st.composite
def tier_tables(draw):
    """Increasing bounds and increasing prices (a tier table as tariffs are written)."""
    count = draw(st.integers(min_value=1, max_value=4))
    bounds = sorted(
        draw(st.sets(st.integers(min_value=1, max_value=2000), min_size=count - 1, max_size=count - 1))
    )
    price_list = sorted(draw(st.lists(prices, min_size=count, max_size=count)))
    tiers = [
        {"tier": index + 1, "up_to_kwh": bound, "price": str(price)}
        for index, (bound, price) in enumerate(zip([*bounds, None], price_list, strict=True))
    ]
    return tiers


def book_with(tiers, *changes):
    entries = [
        {
            "code": "t",
            "name": "n",
            "effective_from": "2020-01-01",
            "source": "s",
            "confirmed": True,
            "tiers": tiers,
        }
    ]
    for effective, changed in changes:
        entries.append(
            {
                "code": "t",
                "name": "n",
                "effective_from": effective.isoformat(),
                "source": "s",
                "confirmed": True,
                "tiers": changed,
            }
        )
    return parse_tariffs({"tariffs": entries})


@given(kwh_values, kwh_values)
def test_amount_never_falls_when_usage_rises(a, b):
    tariff = product_tiers()
    low, high = sorted((a, b))
    assert bill_for(low, tariff, PERIOD).total <= bill_for(high, tariff, PERIOD).total


@given(tier_tables(), kwh_values, kwh_values)
def test_amount_never_falls_for_any_increasing_tier_table(tiers, a, b):
    tariff = book_with(tiers).for_period("t", PERIOD)
    low, high = sorted((a, b))
    assert bill_for(low, tariff, PERIOD).total <= bill_for(high, tariff, PERIOD).total


@given(tier_tables(), st.data())
def test_tier_boundaries_are_continuous(tiers, data):
    """Just across a bound the amount moves by at most the dearer price times the step (+ rounding)."""
    tariff = book_with(tiers).for_period("t", PERIOD)
    finite = [t.up_to_kwh for t in tariff.tiers if t.up_to_kwh is not None]
    if not finite:
        return
    bound = data.draw(st.sampled_from(finite))
    step = Decimal("0.01")
    at = bill_for(bound, tariff, PERIOD).total
    above = bill_for(bound + step, tariff, PERIOD).total
    below = bill_for(bound - step, tariff, PERIOD).total
    top_price = max(t.price for t in tariff.tiers)
    # per-line rounding may add a cent per line on each side
    slack = step * top_price + CENT * len(tariff.tiers)
    assert Decimal(0) <= above - at <= slack
    assert Decimal(0) <= at - below <= slack


@given(
    tier_tables(),
    tier_tables(),
    st.integers(min_value=0, max_value=20_000),
    st.integers(min_value=1, max_value=29),
)
@settings(max_examples=150)
def test_split_bill_sums_to_its_parts(old, new, kwh, change_day):
    start = date(2026, 6, 1)
    change = start + timedelta(days=change_day)
    bill = bill_period(book_with(old, (change, new)), "t", kwh, start)
    assert len(bill.segments) == 2
    assert sum(s.bill.kwh for s in bill.segments) == kwh
    assert bill.total == sum(s.bill.total for s in bill.segments)
    assert bill.total == sum(line.amount for line in bill.lines)
    assert bill.segments[0].end == bill.segments[1].start == change


@given(tier_tables(), st.integers(min_value=0, max_value=20_000), st.integers(min_value=1, max_value=29))
@settings(max_examples=150)
def test_a_change_to_the_same_prices_costs_what_no_change_costs(tiers, kwh, change_day):
    """Splitting alone must not change the bill beyond a cent per line of rounding."""
    start = date(2026, 6, 1)
    unsplit = bill_period(book_with(tiers), "t", kwh, start)
    split = bill_period(book_with(tiers, (start + timedelta(days=change_day), tiers)), "t", kwh, start)
    top_price = max(Decimal(t["price"]) for t in tiers)
    # kWh shares are rounded to 0.01 kWh and each line to the cent
    slack = CENT * (len(split.lines) + len(unsplit.lines)) + CENT * top_price
    assert abs(split.total - unsplit.total) <= slack


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=100))
def test_residential_tou_overlay_rises_with_usage(total, valley_pct):
    book = parse_tariffs(
        {
            "tariffs": [
                {
                    "code": "r",
                    "name": "n",
                    "effective_from": "2020-01-01",
                    "source": "s",
                    "confirmed": True,
                    "tiers": [
                        {"tier": 1, "up_to_kwh": 180, "price": "0.56"},
                        {"tier": 2, "up_to_kwh": 260, "price": "0.61"},
                        {"tier": 3, "up_to_kwh": None, "price": "0.86"},
                    ],
                },
                {
                    "code": "o",
                    "name": "n",
                    "kind": "tou_overlay",
                    "applies_to": "r",
                    "effective_from": "2020-01-01",
                    "source": "s",
                    "confirmed": True,
                    "band_adjustments": {"peak": "0.05", "valley": "-0.12"},
                },
            ]
        }
    )
    base, overlay = book.for_period("r", PERIOD), book.for_period("o", PERIOD)
    valley = total * valley_pct // 100

    def cost(peak_kwh: int, valley_kwh: int) -> Decimal:
        return bill_for(
            peak_kwh + valley_kwh, overlay, PERIOD, bands={"peak": peak_kwh, "valley": valley_kwh}, base=base
        ).total

    here = cost(total - valley, valley)
    assert cost(total - valley + 1, valley) >= here
    assert cost(total - valley, valley + 1) >= here
