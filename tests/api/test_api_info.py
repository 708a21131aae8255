"""GET /api/v1/info/service and /api/v1/info/tariffs: configured, dated, sourced facts only."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from api.routes.info import get_service_info_path
from backend.services.service_info import (
    DEFAULT_SERVICE_INFO_PATH,
    UNCONFIRMED_NOTICE,
    ServiceInfoError,
    parse_service_info,
)
from backend.settings import Settings

SERVICE = "/api/v1/info/service"
TARIFFS = "/api/v1/info/tariffs"


def _config() -> dict[str, Any]:
    with DEFAULT_SERVICE_INFO_PATH.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


def _by_code(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tariff["code"]: tariff for tariff in body["tariffs"]}


@pytest.mark.parametrize("path", [SERVICE, TARIFFS])
def test_info_endpoints_need_the_service_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_service_info_gives_the_24h_hotline_with_its_source(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get(SERVICE, headers=auth)
    assert response.status_code == 200
    hotline = response.json()["hotline"]
    assert hotline["number"] == "95598"
    assert hotline["hours"] == "24小时"
    assert hotline["confirmed"] is True
    assert "reference.md" in hotline["source"]
    assert hotline["effective_date"] is not None


def test_service_halls_are_the_demo_halls_and_marked_unconfirmed(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    with Path(settings.demo_data).open(encoding="utf-8") as handle:
        demo_halls = yaml.safe_load(handle)["service_halls"]
    halls = client.get(SERVICE, headers=auth).json()["service_halls"]
    assert [(h["name"], h["address"], h["hours"]) for h in halls] == [
        (h["name"], h["address"], h["hours"]) for h in demo_halls
    ]
    # Demo addresses are examples: the assistant must add the notice for them.
    assert all(h["confirmed"] is False for h in halls)


def test_every_service_entry_carries_date_source_and_confirmed_flag(
    client: TestClient, auth: dict[str, str]
) -> None:
    body = client.get(SERVICE, headers=auth).json()
    assert body["unconfirmed_notice"] == UNCONFIRMED_NOTICE == "以当地营业厅公布为准"
    entries = [
        body["hotline"],
        *body["service_halls"],
        *body["payment_channels"],
        *body["energy_saving_tips"],
    ]
    for entry in entries:
        assert set(entry) >= {"effective_date", "source", "confirmed"}
        assert entry["source"].strip()
        assert isinstance(entry["confirmed"], bool)


def test_payment_channels_are_only_those_the_reference_supports(
    client: TestClient, auth: dict[str, str]
) -> None:
    names = [c["name"] for c in client.get(SERVICE, headers=auth).json()["payment_channels"]]
    assert names == [c["name"] for c in _config()["payment_channels"]]
    assert "网上国网App" in names
    assert "供电营业厅" in names
    assert not any("银行" in name for name in names)  # reference.md §5 does not list bank debit


def test_energy_saving_tips_quote_no_unsourced_figures(client: TestClient, auth: dict[str, str]) -> None:
    tips = client.get(SERVICE, headers=auth).json()["energy_saving_tips"]
    assert tips
    for tip in tips:
        if not tip["confirmed"]:
            assert not any(ch.isdigit() for ch in tip["text"]), tip["text"]


def test_service_info_follows_the_configuration_file(
    client: TestClient, auth: dict[str, str], tmp_path: Path
) -> None:
    document = _config()
    document["service_halls"].append(
        {
            "name": "朗公庙供电所",
            "address": "朗公庙镇（测试地址）",
            "hours": "周一至周五 9:00-17:00",
            "effective_date": "2026-11-01",
            "source": "test fixture",
            "confirmed": True,
        }
    )
    path = tmp_path / "service_info.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    client.app.dependency_overrides[get_service_info_path] = lambda: path  # type: ignore[attr-defined]
    try:
        halls = client.get(SERVICE, headers=auth).json()["service_halls"]
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert halls[-1]["name"] == "朗公庙供电所"
    assert halls[-1]["effective_date"] == "2026-11-01"
    assert halls[-1]["confirmed"] is True


@pytest.mark.parametrize("missing", ["effective_date", "source", "confirmed"])
def test_an_entry_without_provenance_is_rejected(missing: str) -> None:
    document = _config()
    del document["payment_channels"][0][missing]
    with pytest.raises(ServiceInfoError, match=missing):
        parse_service_info(document)


def test_tariff_summary_lists_every_configured_tariff_with_provenance(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    with Path(settings.tariff_config).open(encoding="utf-8") as handle:
        configured = {entry["code"]: entry for entry in yaml.safe_load(handle)["tariffs"]}
    response = client.get(TARIFFS, headers=auth)
    assert response.status_code == 200
    body = response.json()
    tariffs = _by_code(body)
    assert set(tariffs) == set(configured)
    for code, tariff in tariffs.items():
        assert tariff["name"] == configured[code]["name"]
        assert tariff["source"] == configured[code]["source"]
        assert tariff["confirmed"] is configured[code]["confirmed"]
        expected_date = configured[code]["effective_from"]
        assert tariff["effective_from"] == (expected_date.isoformat() if expected_date else None)
        # Unconfirmed figures always travel with the notice.
        assert tariff["notice"] == (None if tariff["confirmed"] else "以当地营业厅公布为准")


def test_residential_tiers_come_with_a_worked_example_from_the_engine(
    client: TestClient, auth: dict[str, str]
) -> None:
    tiered = _by_code(client.get(TARIFFS, headers=auth).json())["residential_tiered"]
    assert tiered["billable"] is True
    assert tiered["missing_figures"] == []
    assert tiered["price_unit"] == "元/kWh"
    assert [(t["from_kwh"], t["up_to_kwh"], t["price"]) for t in tiered["tiers"]] == [
        ("0.00", "180.00", "0.56"),
        ("180.00", "260.00", "0.61"),
        ("260.00", None, "0.86"),
    ]
    example = tiered["example"]
    assert example["kwh"] == "310.00"
    # Each line is its tier's share times its price, and the total is their sum.
    for line in example["lines"]:
        share = Decimal(line["kwh"]) * Decimal(line["price"])
        assert Decimal(line["amount"]) == share.quantize(Decimal("0.01"))
    assert [line["kwh"] for line in example["lines"]] == ["180.00", "80.00", "50.00"]
    assert Decimal(example["total_yuan"]) == sum(Decimal(line["amount"]) for line in example["lines"])
    assert example["total_yuan"] == "192.60"


def test_tariffs_without_configured_prices_give_structure_and_no_example(
    client: TestClient, auth: dict[str, str]
) -> None:
    tariffs = _by_code(client.get(TARIFFS, headers=auth).json())
    commercial = tariffs["commercial_tou"]
    assert commercial["billable"] is False
    assert "flat price" in commercial["missing_figures"]
    assert commercial["example"] is None
    assert commercial["tiers"] == []
    assert commercial["flat_price"] is None
    assert commercial["ratios_to_flat"]["peak"] == "1.69"
    assert commercial["ratios_to_flat"]["valley"] is None
    assert commercial["effective_from"] == "2024-06-01"
    periods = commercial["structure"]["periods_by_month"]
    assert periods["mar_may_sep_nov"]["valley"] == ["00:00-06:00", "11:00-14:00"]
    agricultural = tariffs["agricultural"]
    assert agricultural["price"] is None
    assert agricultural["missing_figures"] == ["price"]
    assert agricultural["example"] is None
    assert agricultural["effective_from"] is None
    assert agricultural["notice"] == "以当地营业厅公布为准"


def test_residential_time_of_use_shows_the_configured_adjustment_and_what_is_missing(
    client: TestClient, auth: dict[str, str]
) -> None:
    overlay = _by_code(client.get(TARIFFS, headers=auth).json())["residential_tou"]
    assert overlay["applies_to"] == "residential_tiered"
    assert overlay["band_adjustments"] == {"valley": "-0.12", "peak": None}
    assert overlay["billable"] is False
    assert overlay["example"] is None
    assert overlay["notice"] == "以当地营业厅公布为准"


def test_a_flat_price_once_configured_gets_an_engine_example(
    client: TestClient, auth: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    with Path(settings.tariff_config).open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    agricultural = next(t for t in document["tariffs"] if t["code"] == "agricultural")
    agricultural["price"] = "0.5"
    path = tmp_path / "tariffs.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    client.app.state.settings = settings.model_copy(update={"tariff_config": path})  # type: ignore[attr-defined]
    try:
        flat = _by_code(client.get(TARIFFS, headers=auth).json())["agricultural"]
    finally:
        client.app.state.settings = settings  # type: ignore[attr-defined]
    assert flat["price"] == "0.5"
    assert flat["billable"] is True
    assert flat["example"]["kwh"] == "100.00"
    assert flat["example"]["total_yuan"] == "50.00"
