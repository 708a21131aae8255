"""Tariff engine: pure functions over config/tariffs.yml. Decimal only, ROUND_HALF_UP to 0.01 元.

Four structures, each chosen by the entry's `kind`:

- `tiered`      residential tiers (阶梯), accounted monthly or annually (`accounting`);
- `tou_overlay` residential time-of-use on top of the tiers: every kWh pays its tier price plus
                the adjustment of its time band (`band_adjustments`, 元/kWh, e.g. valley -0.12);
- `tou`         general commercial time-of-use: band price = floating part of the flat price x
                the band's ratio + the non-floating part (基金附加 does not float, reference §1.2(a));
                the hours of each band by month (`structure.periods_by_month`, §1.2(b));
- `flat`        one price per kWh (agricultural).

A figure that is `null` in the configuration is unknown: billing it raises TariffNotConfigured
with the reason, never a guessed number. When an entry changes inside a billing period,
`bill_period` splits the period by days and bills each part under the entry in force.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

CENT = Decimal("0.01")
PER_MILLE = Decimal("0.001")
ZERO = Decimal(0)

BANDS = ("critical_peak", "peak", "flat", "valley")
BAND_LABELS = {"critical_peak": "尖峰", "peak": "高峰", "flat": "平段", "valley": "低谷"}
KINDS = ("tiered", "tou_overlay", "tou", "flat")


class TariffError(Exception):
    pass


class TariffNotConfigured(TariffError):
    """The tariff exists in the configuration but lacks a figure needed to bill with."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"tariff {code!r} cannot be billed: {reason}")
        self.code = code
        self.reason = reason


class UnknownTariff(TariffError):
    pass


@dataclass(frozen=True)
class Tier:
    tier: int
    up_to_kwh: Decimal | None  # None = no upper bound
    price: Decimal


@dataclass(frozen=True)
class BandWindow:
    """Hours of one band in some months: [start, end) local time; end 24:00 is written as '24:00'."""

    band: str
    months: frozenset[int]
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class Tariff:
    code: str
    name: str
    kind: str  # tiered | tou_overlay | tou | flat
    accounting: str  # monthly | annual
    effective_from: date | None
    source: str
    confirmed: bool
    tiers: tuple[Tier, ...] = ()
    note: str | None = None
    structure: dict[str, Any] = field(default_factory=dict)
    # tiered, annual accounting: the yearly upper bounds of every tier but the last (None = unknown)
    annual_bounds: tuple[Decimal | None, ...] | None = None
    # tou_overlay: which tiered code it sits on, and the per-band adjustment (None = unknown)
    applies_to: str | None = None
    band_adjustments: Mapping[str, Decimal | None] = field(default_factory=dict)
    # tou: flat price and its non-floating part, ratios per band (None = unknown)
    flat_price: Decimal | None = None
    non_floating_price: Decimal | None = None
    ratios: Mapping[str, Decimal | None] = field(default_factory=dict)
    windows: tuple[BandWindow, ...] = ()
    # flat
    price: Decimal | None = None

    @property
    def billable(self) -> bool:
        """True when every figure the kind needs is configured (bands with no kWh aside)."""
        return not self.missing_figures()

    def missing_figures(self) -> list[str]:
        """Names of the figures the configuration leaves unknown; empty when billable."""
        if self.kind == "tiered":
            if not self.tiers:
                return ["tiers"]
            if self.accounting == "annual" and (
                self.annual_bounds is None or any(b is None for b in self.annual_bounds)
            ):
                return ["annual tier bounds"]
            return []
        if self.kind == "tou_overlay":
            missing = [f"{band} adjustment" for band, v in self.band_adjustments.items() if v is None]
            return missing or ([] if self.band_adjustments else ["band adjustments"])
        if self.kind == "tou":
            missing = [] if self.flat_price is not None else ["flat price"]
            if self.non_floating_price is None:
                missing.append("non-floating part of the flat price")
            missing += [f"{band} ratio" for band, v in self.ratios.items() if v is None]
            return missing
        if self.kind == "flat":
            return [] if self.price is not None else ["price"]
        return [f"kind {self.kind!r}"]


@dataclass(frozen=True)
class BillLine:
    tier: int | None
    kwh: Decimal
    price: Decimal
    amount: Decimal
    band: str | None = None  # time band for tou lines and overlay adjustments
    kind: str = "energy"  # energy | tou_adjustment

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.tier is not None:
            data["tier"] = self.tier
        if self.band is not None:
            data["band"] = self.band
        if self.kind != "energy":
            data["kind"] = self.kind
        data.update({"kwh": kwh_text(self.kwh), "price": str(self.price), "amount": str(self.amount)})
        return data


@dataclass(frozen=True)
class BillBreakdown:
    tariff_code: str
    period: date
    kwh: Decimal
    lines: tuple[BillLine, ...]
    total: Decimal
    confirmed: bool
    # A period billed under several entries (a tariff change inside it): one breakdown per part.
    segments: tuple[BillSegment, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """JSON-safe form stored in bills.breakdown (money as strings, never floats)."""
        data: dict[str, Any] = {
            "tariff_code": self.tariff_code,
            "period": self.period.isoformat(),
            "kwh": kwh_text(self.kwh),
            "lines": [line.as_json() for line in self.lines],
            "total": str(self.total),
            "confirmed": self.confirmed,
        }
        if self.segments:
            data["segments"] = [segment.as_json() for segment in self.segments]
        return data


@dataclass(frozen=True)
class BillSegment:
    start: date
    end: date  # exclusive
    effective_from: date | None
    bill: BillBreakdown

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            **self.bill.as_json(),
        }


@dataclass(frozen=True)
class LatePaymentRules:
    residential_per_day: Decimal
    other_current_year_per_day: Decimal
    other_cross_year_per_day: Decimal
    minimum: Decimal
    effective_from: date | None
    source: str
    confirmed: bool


@dataclass(frozen=True)
class TariffBook:
    tariffs: tuple[Tariff, ...]
    late_payment: LatePaymentRules | None = None

    def codes(self) -> set[str]:
        return {tariff.code for tariff in self.tariffs}

    def for_period(self, code: str, period: date) -> Tariff:
        """The entry with this code in force for the period (latest effective_from not after it)."""
        candidates = [t for t in self.tariffs if t.code == code]
        if not candidates:
            raise UnknownTariff(f"no tariff with code {code!r} in the configuration")
        in_force = [t for t in candidates if t.effective_from is None or t.effective_from <= period]
        if not in_force:
            raise TariffNotConfigured(code, f"no entry in force for {period.isoformat()}")
        return max(in_force, key=lambda t: t.effective_from or date.min)

    def changes_within(self, code: str, start: date, end: date) -> list[date]:
        """Effective dates of entries for `code` strictly inside (start, end)."""
        return sorted(
            {
                t.effective_from
                for t in self.tariffs
                if t.code == code and t.effective_from is not None and start < t.effective_from < end
            }
        )


# ---------------------------------------------------------------- parsing


def kwh_text(value: Decimal) -> str:
    """Same text for 83, Decimal("83") and Decimal("83.00") read back from the database."""
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):f}"


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, float):
        # YAML floats would bring binary rounding into prices; the config writes them as strings.
        raise TariffError(f"{what} must be written as a string or integer, not a float: {value!r}")
    return Decimal(str(value))


def _optional_decimal(value: Any, what: str) -> Decimal | None:
    return None if value is None else _decimal(value, what)


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.strip().split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 24 * 60:
        raise TariffError(f"bad time of day {text!r}")
    return hours * 60 + minutes


def _windows(structure: Mapping[str, Any], code: str) -> tuple[BandWindow, ...]:
    """Band windows from structure.periods_by_month: each group has `months` and band -> ['HH:MM-HH:MM'].

    Keys starting with 'critical_peak' name the critical peak; `critical_peak_months` limits it."""
    windows: list[BandWindow] = []
    for group, spec in (structure.get("periods_by_month") or {}).items():
        if not isinstance(spec, Mapping) or "months" not in spec:
            raise TariffError(f"{code}: period group {group!r} needs its months")
        months = frozenset(int(m) for m in spec["months"])
        for key, ranges in spec.items():
            if key in ("months", "critical_peak_months") or not ranges:
                continue
            band = "critical_peak" if key.startswith("critical_peak") else key
            if band not in BANDS:
                raise TariffError(f"{code}: unknown band {key!r}")
            band_months = months
            if band == "critical_peak" and spec.get("critical_peak_months"):
                band_months = months & frozenset(int(m) for m in spec["critical_peak_months"])
            for text in ranges:
                start, end = (_minutes(part) for part in str(text).split("-"))
                if end <= start:
                    raise TariffError(f"{code}: window {text!r} must not wrap midnight; split it")
                windows.append(BandWindow(band, band_months, start, end))
    return tuple(windows)


def _parse_tariff(entry: dict[str, Any]) -> Tariff:
    code = str(entry["code"])
    kind = str(entry.get("kind", "tiered"))
    if kind not in KINDS:
        raise TariffError(f"{code}: unknown kind {kind!r}")
    effective = entry.get("effective_from")
    if effective is not None and not isinstance(effective, date):
        effective = date.fromisoformat(str(effective))
    tiers: tuple[Tier, ...] = ()
    if entry.get("tiers"):
        tiers = tuple(
            Tier(
                tier=int(raw["tier"]),
                up_to_kwh=None if raw.get("up_to_kwh") is None else _decimal(raw["up_to_kwh"], "up_to_kwh"),
                price=_decimal(raw["price"], f"{code} tier price"),
            )
            for raw in entry["tiers"]
        )
        bounds = [t.up_to_kwh for t in tiers]
        if bounds[-1] is not None or any(b is None for b in bounds[:-1]):
            raise TariffError(f"{code}: only the last tier may be open-ended, and it must be")
        finite = [b for b in bounds if b is not None]
        if finite != sorted(finite):
            raise TariffError(f"{code}: tier bounds must increase")
    annual_bounds: tuple[Decimal | None, ...] | None = None
    if entry.get("annual_tier_bounds_kwh") is not None:
        annual_bounds = tuple(
            _optional_decimal(b, f"{code} annual bound") for b in entry["annual_tier_bounds_kwh"]
        )
        if len(annual_bounds) != max(len(tiers) - 1, 0):
            raise TariffError(f"{code}: one annual bound per tier except the last")
    structure = dict(entry.get("structure") or {})
    ratios = {
        band: _optional_decimal(value, f"{code} {band} ratio")
        for band, value in (structure.get("ratios_to_flat") or {}).items()
    }
    adjustments = {
        band: _optional_decimal(value, f"{code} {band} adjustment")
        for band, value in (entry.get("band_adjustments") or {}).items()
    }
    for band in (*ratios, *adjustments):
        if band not in BANDS:
            raise TariffError(f"{code}: unknown band {band!r}")
    legacy_ratio = structure.get("ratio_peak_to_flat")
    if legacy_ratio is not None and ratios and ratios.get("peak") != _decimal(legacy_ratio, "ratio"):
        raise TariffError(f"{code}: ratio_peak_to_flat and ratios_to_flat.peak disagree")
    return Tariff(
        code=code,
        name=str(entry["name"]),
        kind=kind,
        accounting=str(entry.get("accounting", "monthly")),
        effective_from=effective,
        source=str(entry["source"]),
        confirmed=bool(entry["confirmed"]),
        tiers=tiers,
        note=entry.get("note"),
        structure=structure,
        annual_bounds=annual_bounds,
        applies_to=entry.get("applies_to"),
        band_adjustments=adjustments,
        flat_price=_optional_decimal(structure.get("flat_price"), f"{code} flat price"),
        non_floating_price=_optional_decimal(structure.get("non_floating_price"), f"{code} non-floating"),
        ratios=ratios,
        windows=_windows(structure, code),
        price=_optional_decimal(entry.get("price"), f"{code} price"),
    )


def _parse_late_payment(raw: Mapping[str, Any] | None) -> LatePaymentRules | None:
    if not raw:
        return None
    effective = raw.get("effective_from")
    return LatePaymentRules(
        residential_per_day=_decimal(raw["residential_per_mille_per_day"], "late fee") * PER_MILLE,
        other_current_year_per_day=_decimal(raw["other_current_year_per_mille_per_day"], "late fee")
        * PER_MILLE,
        other_cross_year_per_day=_decimal(raw["other_cross_year_per_mille_per_day"], "late fee") * PER_MILLE,
        minimum=_decimal(raw["minimum_yuan"], "late fee minimum"),
        effective_from=None if effective is None else date.fromisoformat(str(effective)),
        source=str(raw["source"]),
        confirmed=bool(raw["confirmed"]),
    )


def parse_tariffs(document: dict[str, Any]) -> TariffBook:
    return TariffBook(
        tuple(_parse_tariff(entry) for entry in document["tariffs"]),
        _parse_late_payment(document.get("late_payment")),
    )


@lru_cache(maxsize=8)
def load_tariffs(path: Path | str) -> TariffBook:
    with Path(path).open(encoding="utf-8") as handle:
        return parse_tariffs(yaml.safe_load(handle))


# ---------------------------------------------------------------- time bands


def band_at(tariff: Tariff, moment: datetime | time, month: int | None = None) -> str:
    """The time band of a local clock time (critical peak wins over peak; default flat)."""
    if isinstance(moment, datetime):
        month = moment.month if month is None else month
        moment = moment.time()
    if month is None:
        raise ValueError("month needed with a bare time of day")
    minute = moment.hour * 60 + moment.minute
    found = {w.band for w in tariff.windows if month in w.months and w.start_minute <= minute < w.end_minute}
    for band in BANDS:  # in priority order: critical_peak, peak, flat, valley
        if band in found:
            return band
    return "flat"


def band_hours(tariff: Tariff, month: int) -> dict[str, list[str]]:
    """Band -> ['HH:MM-HH:MM', ...] for one month, as configured (flat = the remaining hours)."""
    hours: dict[str, list[str]] = {}
    for window in tariff.windows:
        if month in window.months:
            text = f"{window.start_minute // 60:02d}:{window.start_minute % 60:02d}-"
            text += f"{window.end_minute // 60:02d}:{window.end_minute % 60:02d}"
            hours.setdefault(window.band, []).append(text)
    return hours


# ---------------------------------------------------------------- billing


def _require(tariff: Tariff, needed: list[str]) -> None:
    if needed:
        reason = "NOT configured: " + ", ".join(needed)
        raise TariffNotConfigured(tariff.code, f"{reason}. {tariff.note or ''}".strip())


def _tier_lines(
    tariff: Tariff, start_kwh: Decimal, usage: Decimal, bounds: list[Decimal | None]
) -> list[BillLine]:
    """Split the consumption interval [start_kwh, start_kwh + usage] over tiers with these bounds."""
    lines: list[BillLine] = []
    lower = ZERO
    end = start_kwh + usage
    for tier, upper_bound in zip(tariff.tiers, bounds, strict=True):
        upper = end if upper_bound is None else min(end, upper_bound)
        in_tier = upper - max(lower, start_kwh)
        if in_tier > 0:
            lines.append(BillLine(tier.tier, in_tier, tier.price, money(in_tier * tier.price)))
        if upper_bound is None or end <= upper_bound:
            break
        lower = upper_bound
    return lines


def _tiered_lines(tariff: Tariff, usage: Decimal, year_to_date_kwh: Decimal) -> list[BillLine]:
    if tariff.accounting == "monthly":
        return _tier_lines(tariff, ZERO, usage, [t.up_to_kwh for t in tariff.tiers])
    if tariff.accounting == "annual":
        # Annual accounting: this month's kWh continue where the year's earlier months stopped.
        assert tariff.annual_bounds is not None  # guarded by missing_figures()
        return _tier_lines(tariff, year_to_date_kwh, usage, [*tariff.annual_bounds, None])
    raise TariffNotConfigured(tariff.code, f"unknown accounting {tariff.accounting!r}")


def _bands_of(
    tariff: Tariff, usage: Decimal, bands: Mapping[str, Decimal | int] | None
) -> dict[str, Decimal]:
    if bands is None:
        raise TariffNotConfigured(tariff.code, "time-of-use billing needs the kWh of each time band")
    split = {band: Decimal(value) for band, value in bands.items() if value}
    if any(band not in BANDS for band in split):
        raise ValueError(f"unknown band in {sorted(split)}")
    if any(value < 0 for value in split.values()):
        raise ValueError("consumption cannot be negative")
    if sum(split.values(), ZERO) != usage:
        raise ValueError("the band kWh must add up to the total kWh")
    return split


def bill_for(
    kwh: Decimal | int,
    tariff: Tariff,
    period: date,
    *,
    bands: Mapping[str, Decimal | int] | None = None,
    year_to_date_kwh: Decimal | int = 0,
    base: Tariff | None = None,
) -> BillBreakdown:
    """One month's bill for one account, each line rounded to 0.01 元.

    bands: kWh per time band (tou and tou_overlay). year_to_date_kwh: consumption earlier in the
    same calendar year (annual tier accounting). base: the tiered entry a tou_overlay sits on.
    """
    usage = Decimal(kwh)
    if usage < 0:
        raise ValueError("consumption cannot be negative")
    _require(tariff, tariff.missing_figures())
    lines: list[BillLine]
    if tariff.kind == "tiered":
        lines = _tiered_lines(tariff, usage, Decimal(year_to_date_kwh))
    elif tariff.kind == "tou_overlay":
        if base is None or base.kind != "tiered":
            raise TariffNotConfigured(tariff.code, f"needs its tiered base tariff {tariff.applies_to!r}")
        _require(base, base.missing_figures())
        split = _bands_of(tariff, usage, bands)
        lines = _tiered_lines(base, usage, Decimal(year_to_date_kwh))
        for band in BANDS:
            adjustment = tariff.band_adjustments.get(band)
            if band in split and adjustment:
                lines.append(
                    BillLine(
                        None, split[band], adjustment, money(split[band] * adjustment), band, "tou_adjustment"
                    )
                )
    elif tariff.kind == "tou":
        split = _bands_of(tariff, usage, bands)
        assert tariff.flat_price is not None and tariff.non_floating_price is not None
        floating = tariff.flat_price - tariff.non_floating_price
        lines = []
        for band in BANDS:
            if band not in split:
                continue
            ratio = Decimal(1) if band == "flat" else tariff.ratios.get(band)
            if ratio is None:
                raise TariffNotConfigured(tariff.code, f"NOT configured: {band} ratio")
            price = floating * ratio + tariff.non_floating_price
            lines.append(BillLine(None, split[band], price, money(split[band] * price), band))
    else:  # flat
        assert tariff.price is not None
        lines = [BillLine(None, usage, tariff.price, money(usage * tariff.price))] if usage > 0 else []
    total = money(sum((line.amount for line in lines), ZERO))
    confirmed = tariff.confirmed and (base is None or base.confirmed)
    return BillBreakdown(tariff.code, period, usage, tuple(lines), total, confirmed)


def _scaled(tariff: Tariff, fraction: Decimal) -> Tariff:
    """Tier bounds pro rata temporis, for a part of a month billed under one entry."""
    if tariff.kind != "tiered" or tariff.accounting != "monthly":
        return tariff
    tiers = tuple(
        replace(t, up_to_kwh=None if t.up_to_kwh is None else t.up_to_kwh * fraction) for t in tariff.tiers
    )
    return replace(tariff, tiers=tiers)


def _share(value: Decimal, fraction: Decimal) -> Decimal:
    return (value * fraction).quantize(CENT, rounding=ROUND_HALF_UP)


def bill_period(
    book: TariffBook,
    code: str,
    kwh: Decimal | int,
    start: date,
    end: date | None = None,
    *,
    bands: Mapping[str, Decimal | int] | None = None,
    year_to_date_kwh: Decimal | int = 0,
    overlay_code: str | None = None,
) -> BillBreakdown:
    """Bill the days [start, end) (default: start's whole month). When an entry of `code` (or of
    the overlay) takes effect inside, the period is split by days: kWh and monthly tier bounds
    are shared in proportion to the days of each part, the last part taking the remainder so the
    parts add up exactly; the bill is the sum of the parts."""
    end = end or (start.replace(day=1) + timedelta(days=calendar.monthrange(start.year, start.month)[1]))
    if end <= start:
        raise ValueError("the period must end after it starts")
    usage = Decimal(kwh)
    cuts = book.changes_within(code, start, end)
    if overlay_code:
        cuts = sorted(set(cuts) | set(book.changes_within(overlay_code, start, end)))
    edges = [start, *cuts, end]
    total_days = Decimal((end - start).days)
    # Tier bounds are per calendar month; a shorter period gets its share of them.
    month_days = Decimal(calendar.monthrange(start.year, start.month)[1])

    def one(
        part_start: date,
        part_end: date,
        part_kwh: Decimal,
        part_bands: dict[str, Decimal] | None,
        ytd: Decimal,
    ) -> BillBreakdown:
        fraction = Decimal((part_end - part_start).days) / month_days
        entry = _scaled(book.for_period(code, part_start), fraction)
        if overlay_code:
            overlay = book.for_period(overlay_code, part_start)
            return bill_for(part_kwh, overlay, start, bands=part_bands, year_to_date_kwh=ytd, base=entry)
        return bill_for(part_kwh, entry, start, bands=part_bands, year_to_date_kwh=ytd)

    if len(edges) == 2:
        split_bands = None if bands is None else {b: Decimal(v) for b, v in bands.items()}
        return one(start, end, usage, split_bands, Decimal(year_to_date_kwh))

    segments: list[BillSegment] = []
    used = ZERO
    used_bands = dict.fromkeys(bands or {}, ZERO)
    ytd = Decimal(year_to_date_kwh)
    for index, (part_start, part_end) in enumerate(pairwise(edges)):
        last = index == len(edges) - 2
        fraction = Decimal((part_end - part_start).days) / total_days
        part_kwh = usage - used if last else _share(usage, fraction)
        part_bands: dict[str, Decimal] | None = None
        if bands is not None:
            if last:
                part_bands = {b: Decimal(v) - used_bands[b] for b, v in bands.items()}
            else:
                part_bands = {b: _share(Decimal(v), fraction) for b, v in bands.items()}
                # Keep the band split consistent with the part's total kWh.
                drift = part_kwh - sum(part_bands.values(), ZERO)
                if part_bands and drift:
                    largest = max(part_bands, key=lambda b: part_bands[b] if part_bands else ZERO)
                    part_bands[largest] += drift
            for band, value in part_bands.items():
                used_bands[band] += value
        bill = one(part_start, part_end, part_kwh, part_bands, ytd)
        entry = book.for_period(overlay_code or code, part_start)
        segments.append(BillSegment(part_start, part_end, entry.effective_from, bill))
        used += part_kwh
        ytd += part_kwh
    lines = tuple(line for segment in segments for line in segment.bill.lines)
    total = money(sum((segment.bill.total for segment in segments), ZERO))
    return BillBreakdown(
        overlay_code or code,
        start,
        usage,
        lines,
        total,
        all(segment.bill.confirmed for segment in segments),
        tuple(segments),
    )


# ---------------------------------------------------------------- late-payment charges (违约金)


def late_payment_fee(
    rules: LatePaymentRules,
    *,
    arrears: Decimal,
    due_date: date,
    on: date,
    residential: bool,
) -> Decimal:
    """违约金 from the day after the due date up to and including `on`, accumulated daily.

    Residents pay one daily rate; others pay the current-year rate for days in the due date's
    year and the cross-year rate once the arrears have crossed into a later year. A positive
    total below the minimum is charged as the minimum (reference §4.3)."""
    if arrears <= 0 or on <= due_date:
        return ZERO.quantize(CENT)
    days = (on - due_date).days
    if residential:
        raw = arrears * rules.residential_per_day * days
    else:
        year_end = date(due_date.year, 12, 31)
        current_days = max(0, (min(on, year_end) - due_date).days)
        cross_days = days - current_days
        raw = arrears * (
            rules.other_current_year_per_day * current_days + rules.other_cross_year_per_day * cross_days
        )
    fee = money(raw)
    return max(fee, rules.minimum) if fee > 0 or raw > 0 else fee
