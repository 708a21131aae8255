"""Service information (hotline, halls, payment channels, energy-saving tips) from config/service_info.yml.

Pure: reads one YAML file into frozen dataclasses. Every entry must say when its source dates
from, what the source is and whether it is confirmed, so that a caller can never quote an
unsourced fact without knowing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from backend.settings import REPO_ROOT

DEFAULT_SERVICE_INFO_PATH = REPO_ROOT / "config" / "service_info.yml"

# What the product adds to anything not confirmed (reference.md: C/D or NOT FOUND figures).
UNCONFIRMED_NOTICE = "以当地营业厅公布为准"


class ServiceInfoError(ValueError):
    """The configuration file is missing a required field or has a malformed one."""


@dataclass(frozen=True)
class Provenance:
    effective_date: date | None
    source: str
    confirmed: bool


@dataclass(frozen=True)
class Hotline:
    number: str
    name: str
    hours: str
    services: tuple[str, ...]
    provenance: Provenance


@dataclass(frozen=True)
class ServiceHall:
    name: str
    address: str
    hours: str
    provenance: Provenance


@dataclass(frozen=True)
class PaymentChannel:
    name: str
    how: str
    provenance: Provenance


@dataclass(frozen=True)
class EnergySavingTip:
    text: str
    provenance: Provenance


@dataclass(frozen=True)
class ServiceInfo:
    hotline: Hotline
    service_halls: tuple[ServiceHall, ...]
    payment_channels: tuple[PaymentChannel, ...]
    energy_saving_tips: tuple[EnergySavingTip, ...]


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if value is None or not str(value).strip():
        raise ServiceInfoError(f"{where}: '{key}' is required")
    return str(value).strip()


def _provenance(entry: dict[str, Any], where: str) -> Provenance:
    # Each key must be present, even when its value is null: absence means nobody thought about it.
    for key in ("effective_date", "source", "confirmed"):
        if key not in entry:
            raise ServiceInfoError(f"{where}: '{key}' is required")
    raw_date = entry["effective_date"]
    effective: date | None
    if raw_date is None or isinstance(raw_date, date):
        effective = raw_date
    else:
        try:
            effective = date.fromisoformat(str(raw_date))
        except ValueError as exc:
            raise ServiceInfoError(f"{where}: effective_date {raw_date!r} is not a date") from exc
    if not isinstance(entry["confirmed"], bool):
        raise ServiceInfoError(f"{where}: 'confirmed' must be true or false")
    return Provenance(effective, _text(entry, "source", where), entry["confirmed"])


def _entries(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = document.get(key)
    if not isinstance(entries, list) or not entries:
        raise ServiceInfoError(f"'{key}' must be a non-empty list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ServiceInfoError(f"{key}[{index}] must be a mapping")
    return entries


def parse_service_info(document: dict[str, Any]) -> ServiceInfo:
    hotline_entry = document.get("hotline")
    if not isinstance(hotline_entry, dict):
        raise ServiceInfoError("'hotline' must be a mapping")
    hotline = Hotline(
        number=_text(hotline_entry, "number", "hotline"),
        name=_text(hotline_entry, "name", "hotline"),
        hours=_text(hotline_entry, "hours", "hotline"),
        services=tuple(str(item) for item in hotline_entry.get("services") or ()),
        provenance=_provenance(hotline_entry, "hotline"),
    )
    halls = tuple(
        ServiceHall(
            name=_text(entry, "name", f"service_halls[{i}]"),
            address=_text(entry, "address", f"service_halls[{i}]"),
            hours=_text(entry, "hours", f"service_halls[{i}]"),
            provenance=_provenance(entry, f"service_halls[{i}]"),
        )
        for i, entry in enumerate(_entries(document, "service_halls"))
    )
    channels = tuple(
        PaymentChannel(
            name=_text(entry, "name", f"payment_channels[{i}]"),
            how=_text(entry, "how", f"payment_channels[{i}]"),
            provenance=_provenance(entry, f"payment_channels[{i}]"),
        )
        for i, entry in enumerate(_entries(document, "payment_channels"))
    )
    tips = tuple(
        EnergySavingTip(
            text=_text(entry, "text", f"energy_saving_tips[{i}]"),
            provenance=_provenance(entry, f"energy_saving_tips[{i}]"),
        )
        for i, entry in enumerate(_entries(document, "energy_saving_tips"))
    )
    return ServiceInfo(hotline, halls, channels, tips)


@lru_cache(maxsize=4)
def load_service_info(path: Path | str = DEFAULT_SERVICE_INFO_PATH) -> ServiceInfo:
    with Path(path).open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict):
        raise ServiceInfoError(f"{path}: expected a mapping at the top level")
    return parse_service_info(document)
