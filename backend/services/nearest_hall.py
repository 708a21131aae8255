"""The service hall nearest to a customer, by town (config/service_info.yml, backend/address.py).

Halls carry no coordinates, so "nearest" means: a hall in the customer's own town (a 供电所),
otherwise the county company's hall in 县城, which serves the whole county.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.address import parse_address
from backend.services.service_info import ServiceHall, ServiceInfo, load_service_info

COUNTY_SEAT = "县城"


@dataclass(frozen=True)
class HallChoice:
    hall: ServiceHall
    customer_town: str | None
    same_town: bool


def hall_town(hall: ServiceHall) -> str | None:
    return parse_address(hall.address).town or parse_address(hall.name).town


def nearest_hall(place: str | None, info: ServiceInfo | None = None) -> HallChoice:
    info = info or load_service_info()
    halls = info.service_halls
    town = parse_address(place).town if place and place.strip() else None
    towns = [hall_town(hall) for hall in halls]
    if town is not None:
        for hall, where in zip(halls, towns, strict=True):
            if where == town:
                return HallChoice(hall, town, True)
    county = next((hall for hall, where in zip(halls, towns, strict=True) if where == COUNTY_SEAT), halls[0])
    return HallChoice(county, town, town == COUNTY_SEAT)
