"""Public service facts for the assistant: GET /api/v1/info/service and GET /api/v1/info/tariffs.

Both answer from dated, sourced configuration (config/service_info.yml, config/tariffs.yml) and
pass each entry's effective date, source and confirmed flag through, so that the bot can say
"以当地营业厅公布为准" wherever a fact is not confirmed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.deps import SettingsDep, require_service_token
from backend.clock import local_today
from backend.services.service_info import (
    DEFAULT_SERVICE_INFO_PATH,
    UNCONFIRMED_NOTICE,
    Provenance,
    load_service_info,
)
from backend.tariff_engine import Tariff, TariffNotConfigured, bill_for, kwh_text, load_tariffs

router = APIRouter(prefix="/api/v1/info", tags=["info"], dependencies=[Depends(require_service_token)])

# The worked example goes this far past the last tier boundary, so every tier shows up in it
# (for the residential tiers 180/260 kWh that is 310 kWh).
EXAMPLE_KWH_PAST_LAST_BOUNDARY = Decimal(50)
EXAMPLE_KWH_FLAT = Decimal(100)
PRICE_UNIT = "元/kWh"


def get_service_info_path() -> Path:
    """Overridable dependency (tests point it at a fixture file)."""
    return DEFAULT_SERVICE_INFO_PATH


# ---------------------------------------------------------------- /info/service


class ProvenanceOut(BaseModel):
    effective_date: date | None
    source: str
    confirmed: bool


class HotlineOut(ProvenanceOut):
    number: str
    name: str
    hours: str
    services: list[str]


class ServiceHallOut(ProvenanceOut):
    name: str
    address: str
    hours: str


class PaymentChannelOut(ProvenanceOut):
    name: str
    how: str


class EnergySavingTipOut(ProvenanceOut):
    text: str


class ServiceInfoResponse(BaseModel):
    hotline: HotlineOut
    service_halls: list[ServiceHallOut]
    payment_channels: list[PaymentChannelOut]
    energy_saving_tips: list[EnergySavingTipOut]
    unconfirmed_notice: str


def _provenance(provenance: Provenance) -> dict[str, Any]:
    return {
        "effective_date": provenance.effective_date,
        "source": provenance.source,
        "confirmed": provenance.confirmed,
    }


@router.get("/service", response_model=ServiceInfoResponse)
def service_info(path: Annotated[Path, Depends(get_service_info_path)]) -> ServiceInfoResponse:
    info = load_service_info(path)
    hotline = info.hotline
    return ServiceInfoResponse(
        hotline=HotlineOut(
            number=hotline.number,
            name=hotline.name,
            hours=hotline.hours,
            services=list(hotline.services),
            **_provenance(hotline.provenance),
        ),
        service_halls=[
            ServiceHallOut(name=h.name, address=h.address, hours=h.hours, **_provenance(h.provenance))
            for h in info.service_halls
        ],
        payment_channels=[
            PaymentChannelOut(name=c.name, how=c.how, **_provenance(c.provenance))
            for c in info.payment_channels
        ],
        energy_saving_tips=[
            EnergySavingTipOut(text=t.text, **_provenance(t.provenance)) for t in info.energy_saving_tips
        ],
        unconfirmed_notice=UNCONFIRMED_NOTICE,
    )


# ---------------------------------------------------------------- /info/tariffs


class TierOut(BaseModel):
    tier: int
    from_kwh: str  # exclusive lower bound; "0.00" for the first tier
    up_to_kwh: str | None  # inclusive upper bound; null = open-ended
    price: str


class ExampleLineOut(BaseModel):
    tier: int | None = None
    band: str | None = None
    kind: str | None = None  # absent for energy lines; "tou_adjustment" for overlay lines
    kwh: str
    price: str
    amount: str


class WorkedExampleOut(BaseModel):
    kwh: str
    lines: list[ExampleLineOut]
    total_yuan: str


class TariffSummaryOut(BaseModel):
    code: str
    name: str
    kind: str
    accounting: str
    effective_from: date | None
    source: str
    confirmed: bool
    billable: bool
    missing_figures: list[str]  # what the configuration leaves unknown (empty when billable)
    price_unit: str
    tiers: list[TierOut]
    price: str | None  # flat tariffs
    applies_to: str | None  # tou_overlay: the tiered tariff it sits on
    band_adjustments: dict[str, str | None]  # tou_overlay, 元/kWh per band; null = unknown
    ratios_to_flat: dict[str, str | None]  # tou; null = unknown
    flat_price: str | None  # tou
    structure: dict[str, Any]
    example: WorkedExampleOut | None
    notice: str | None  # UNCONFIRMED_NOTICE for every unconfirmed entry


class TariffsResponse(BaseModel):
    as_of: date
    tariffs: list[TariffSummaryOut]
    unconfirmed_notice: str


def _tiers(tariff: Tariff) -> list[TierOut]:
    rows: list[TierOut] = []
    lower = Decimal(0)
    for tier in tariff.tiers:
        upper = None if tier.up_to_kwh is None else kwh_text(tier.up_to_kwh)
        rows.append(TierOut(tier=tier.tier, from_kwh=kwh_text(lower), up_to_kwh=upper, price=str(tier.price)))
        if tier.up_to_kwh is not None:
            lower = tier.up_to_kwh
    return rows


def _optional_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _worked_example(tariff: Tariff, period: date) -> WorkedExampleOut | None:
    """A bill computed by the engine, only where one usage figure is enough to bill."""
    if tariff.kind == "tiered" and tariff.accounting == "monthly":
        bounds = [tier.up_to_kwh for tier in tariff.tiers if tier.up_to_kwh is not None]
        usage = (max(bounds) if bounds else Decimal(0)) + EXAMPLE_KWH_PAST_LAST_BOUNDARY
    elif tariff.kind == "flat":
        usage = EXAMPLE_KWH_FLAT
    else:
        return None  # time-of-use needs the kWh of each band; annual tiers need the year so far
    try:
        bill = bill_for(usage, tariff, period)
    except TariffNotConfigured:
        return None  # figures missing: no example, never a guess
    return WorkedExampleOut(
        kwh=kwh_text(bill.kwh),
        lines=[ExampleLineOut(**line.as_json()) for line in bill.lines],
        total_yuan=str(bill.total),
    )


def _summary(tariff: Tariff, today: date) -> TariffSummaryOut:
    return TariffSummaryOut(
        code=tariff.code,
        name=tariff.name,
        kind=tariff.kind,
        accounting=tariff.accounting,
        effective_from=tariff.effective_from,
        source=tariff.source,
        confirmed=tariff.confirmed,
        billable=tariff.billable,
        missing_figures=tariff.missing_figures(),
        price_unit=PRICE_UNIT,
        tiers=_tiers(tariff),
        price=_optional_text(tariff.price),
        applies_to=tariff.applies_to,
        band_adjustments={band: _optional_text(v) for band, v in tariff.band_adjustments.items()},
        ratios_to_flat={band: _optional_text(v) for band, v in tariff.ratios.items()},
        flat_price=_optional_text(tariff.flat_price),
        structure=tariff.structure,
        example=_worked_example(tariff, today),
        notice=None if tariff.confirmed else UNCONFIRMED_NOTICE,
    )


@router.get("/tariffs", response_model=TariffsResponse)
def tariffs(settings: SettingsDep) -> TariffsResponse:
    book = load_tariffs(settings.tariff_config)
    today = local_today()
    summaries: list[TariffSummaryOut] = []
    seen: set[str] = set()
    for entry in book.tariffs:  # configuration order, one entry per code: the one in force today
        if entry.code in seen:
            continue
        seen.add(entry.code)
        try:
            in_force = book.for_period(entry.code, today)
        except TariffNotConfigured:
            continue  # only future entries for this code: not public yet
        summaries.append(_summary(in_force, today))
    return TariffsResponse(as_of=today, tariffs=summaries, unconfirmed_notice=UNCONFIRMED_NOTICE)
