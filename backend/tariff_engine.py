"""Tariff engine: pure functions over config/tariffs.yml. Decimal only, ROUND_HALF_UP to 0.01 元."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CENT = Decimal("0.01")


class TariffError(Exception):
    pass


class TariffNotConfigured(TariffError):
    """The tariff exists in the configuration but has no confirmed figures to bill with."""

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
class Tariff:
    code: str
    name: str
    kind: str  # tiered | tou | flat
    accounting: str  # monthly | annual
    effective_from: date | None
    source: str
    confirmed: bool
    tiers: tuple[Tier, ...] = ()
    note: str | None = None
    structure: dict[str, Any] = field(default_factory=dict)

    @property
    def billable(self) -> bool:
        return bool(self.tiers)


@dataclass(frozen=True)
class BillLine:
    tier: int
    kwh: Decimal
    price: Decimal
    amount: Decimal

    def as_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "kwh": kwh_text(self.kwh),
            "price": str(self.price),
            "amount": str(self.amount),
        }


@dataclass(frozen=True)
class BillBreakdown:
    tariff_code: str
    period: date
    kwh: Decimal
    lines: tuple[BillLine, ...]
    total: Decimal
    confirmed: bool

    def as_json(self) -> dict[str, Any]:
        """JSON-safe form stored in bills.breakdown (money as strings, never floats)."""
        return {
            "tariff_code": self.tariff_code,
            "period": self.period.isoformat(),
            "kwh": kwh_text(self.kwh),
            "lines": [line.as_json() for line in self.lines],
            "total": str(self.total),
            "confirmed": self.confirmed,
        }


@dataclass(frozen=True)
class TariffBook:
    tariffs: tuple[Tariff, ...]

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


def _parse_tariff(entry: dict[str, Any]) -> Tariff:
    code = str(entry["code"])
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
    return Tariff(
        code=code,
        name=str(entry["name"]),
        kind=str(entry.get("kind", "tiered")),
        accounting=str(entry.get("accounting", "monthly")),
        effective_from=effective,
        source=str(entry["source"]),
        confirmed=bool(entry["confirmed"]),
        tiers=tiers,
        note=entry.get("note"),
        structure=dict(entry.get("structure") or {}),
    )


def parse_tariffs(document: dict[str, Any]) -> TariffBook:
    return TariffBook(tuple(_parse_tariff(entry) for entry in document["tariffs"]))


@lru_cache(maxsize=8)
def load_tariffs(path: Path | str) -> TariffBook:
    with Path(path).open(encoding="utf-8") as handle:
        return parse_tariffs(yaml.safe_load(handle))


def bill_for(kwh: Decimal | int, tariff: Tariff, period: date) -> BillBreakdown:
    """Monthly bill for one account: consumption split over the tiers, each line rounded to 0.01 元."""
    if not tariff.billable:
        raise TariffNotConfigured(tariff.code, tariff.note or "no confirmed prices in the configuration")
    if tariff.kind != "tiered":
        raise TariffNotConfigured(tariff.code, f"kind {tariff.kind!r} has no billing rule")
    if tariff.accounting != "monthly":
        raise TariffNotConfigured(tariff.code, f"{tariff.accounting} accounting is not implemented")
    usage = Decimal(kwh)
    if usage < 0:
        raise ValueError("consumption cannot be negative")
    lines: list[BillLine] = []
    lower = Decimal(0)
    for tier in tariff.tiers:
        upper = usage if tier.up_to_kwh is None else min(usage, tier.up_to_kwh)
        in_tier = upper - lower
        if in_tier > 0:
            lines.append(BillLine(tier.tier, in_tier, tier.price, money(in_tier * tier.price)))
        if tier.up_to_kwh is None or usage <= tier.up_to_kwh:
            break
        lower = tier.up_to_kwh
    total = money(sum((line.amount for line in lines), Decimal(0)))
    return BillBreakdown(tariff.code, period, usage, tuple(lines), total, tariff.confirmed)
