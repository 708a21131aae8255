"""Billing endpoints on the seeded demo customers (SQLite and PostgreSQL)."""

from __future__ import annotations

import secrets

import pytest
from fastapi.testclient import TestClient

SUN_LI = "3100000007"  # 孙丽, phone ends 1357: last month 520 kWh after 131 kWh
WANG = "3100000001"  # 王建国, 1234
LI = "3100000002"  # 李秀兰, 5678, suspended for arrears
LIU = "3100000005"  # 刘芳, 7890, tiers with TOU
LAST4 = {SUN_LI: "1357", WANG: "1234", LI: "5678", LIU: "7890"}


def verified_conversation(client: TestClient, auth: dict[str, str], account_no: str) -> str:
    conversation_id = f"web-{secrets.token_hex(8)}"
    response = client.post(
        "/api/v1/identity/verify",
        json={
            "conversation_id": conversation_id,
            "channel": "web",
            "account_no": account_no,
            "phone_last4": LAST4[account_no],
            "name": None,
        },
        headers=auth,
    )
    assert response.json()["verified"] is True
    return conversation_id


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/accounts/{SUN_LI}/bills",
        f"/api/v1/accounts/{SUN_LI}/usage",
        f"/api/v1/accounts/{SUN_LI}/tariff-comparison",
        f"/api/v1/accounts/{SUN_LI}/payment-status",
    ],
)
def test_account_data_needs_token_and_verification(
    client: TestClient, auth: dict[str, str], path: str
) -> None:
    assert client.get(f"{path}?conversation_id=web-x").status_code == 401
    response = client.get(f"{path}?conversation_id=web-not-verified", headers=auth)
    assert response.status_code == 403
    assert "373.20" not in response.text
    assert (
        client.get(
            path.replace(SUN_LI, "12345"), params={"conversation_id": "web-x"}, headers=auth
        ).status_code
        == 422
    )


def test_verification_is_per_account(client: TestClient, auth: dict[str, str]) -> None:
    conversation = verified_conversation(client, auth, WANG)
    response = client.get(
        f"/api/v1/accounts/{SUN_LI}/bills", params={"conversation_id": conversation}, headers=auth
    )
    assert response.status_code == 403


def test_sun_li_latest_bill_with_comparison(client: TestClient, auth: dict[str, str]) -> None:
    conversation = verified_conversation(client, auth, SUN_LI)
    response = client.get(
        f"/api/v1/accounts/{SUN_LI}/bills", params={"conversation_id": conversation}, headers=auth
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["kwh"], body["amount_yuan"], body["available"]) == ("520.00", "373.20", True)
    assert body["breakdown"]["lines"][2] == {"tier": 3, "kwh": "260.00", "price": "0.86", "amount": "223.60"}
    assert body["notice"] == "以当地营业厅公布为准" and body["confirmed"] is False
    comparison = body["comparison"]
    assert comparison["previous"]["kwh"] == "131.00" and comparison["previous"]["amount_yuan"] == "73.36"
    assert comparison["amount_change_vs_previous"] == "299.84"
    assert comparison["same_month_last_year"] is None
    assert [t["tier"] for t in comparison["tiers"]] == [1, 2, 3]
    assert comparison["higher_tier_surcharge_yuan"] == "82.00"
    previous = comparison["previous"]["period"]
    named = client.get(
        f"/api/v1/accounts/{SUN_LI}/bills",
        params={"conversation_id": conversation, "period": previous},
        headers=auth,
    ).json()
    assert named["amount_yuan"] == "73.36"
    bad = client.get(
        f"/api/v1/accounts/{SUN_LI}/bills",
        params={"conversation_id": conversation, "period": "2026-13"},
        headers=auth,
    )
    assert bad.status_code == 422


def test_usage_series_and_signed_chart(client: TestClient, auth: dict[str, str]) -> None:
    conversation = verified_conversation(client, auth, WANG)
    response = client.get(
        f"/api/v1/accounts/{WANG}/usage", params={"conversation_id": conversation}, headers=auth
    )
    body = response.json()
    assert [p["kwh"] for p in body["points"]][-3:] == ["150.00", "138.00", "176.00"]
    assert body["total_kwh"] == "2282.00" and body["trend"] == "rising"
    assert body["highest"]["kwh"] == "310.00"
    chart = client.get(body["chart_url"])  # no token: the link is signed
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert chart.text.startswith("<svg") and ">310<" in chart.text and "****0001" in chart.text
    assert "王建国" not in chart.text
    tampered = body["chart_url"].replace(".svg", "x.svg")
    assert client.get(tampered).status_code == 404
    assert client.get("/charts/usage/not-a-token.svg").status_code == 404


def test_liu_fang_tariff_comparison(client: TestClient, auth: dict[str, str]) -> None:
    conversation = verified_conversation(client, auth, LIU)
    body = client.get(
        f"/api/v1/accounts/{LIU}/tariff-comparison", params={"conversation_id": conversation}, headers=auth
    ).json()
    tiers_only, with_tou = body["options"]
    assert tiers_only["available"] and tiers_only["total_yuan"] is not None
    assert with_tou["current"] and not with_tou["available"] and with_tou["missing"] == ["peak adjustment"]
    assert with_tou["known_adjustments"][0]["per_kwh"] == "-0.12"
    assert with_tou["break_even_band"] == "peak"
    assert body["recommended"] is None and body["notice"] == "以当地营业厅公布为准"
    assert body["band_kwh"] == {"peak": "1617.20", "valley": "1492.80"}


def test_li_xiulan_payment_status(client: TestClient, auth: dict[str, str]) -> None:
    conversation = verified_conversation(client, auth, LI)
    body = client.get(
        f"/api/v1/accounts/{LI}/payment-status", params={"conversation_id": conversation}, headers=auth
    ).json()
    assert body["supply_status"] == "suspended_for_arrears"
    assert body["amount_to_restore_yuan"] == "45.20" and body["days_left"] == 0
    assert body["restore_time_limit"]["confirmed"] is False


def test_public_quote(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get(
        "/api/v1/tariffs/quote", params={"code": "residential_tiered", "kwh": "310"}, headers=auth
    )
    body = response.json()
    assert (body["total_yuan"], body["available"], body["notice"]) == ("192.60", True, "以当地营业厅公布为准")
    assert (
        client.get("/api/v1/tariffs/quote", params={"code": "residential_tiered", "kwh": "310"}).status_code
        == 401
    )


def test_quote_of_unpriced_tariffs_lists_what_is_missing(client: TestClient, auth: dict[str, str]) -> None:
    tou = client.get(
        "/api/v1/tariffs/quote",
        params={
            "code": "residential_tiered",
            "overlay": "residential_tou",
            "kwh": "300",
            "peak_kwh": "156",
            "valley_kwh": "144",
        },
        headers=auth,
    ).json()
    assert tou["available"] is False and tou["total_yuan"] is None and tou["missing"] == ["peak adjustment"]
    farm = client.get(
        "/api/v1/tariffs/quote", params={"code": "agricultural", "kwh": "880"}, headers=auth
    ).json()
    assert farm["available"] is False and farm["missing"] == ["price"]
    assert (
        client.get("/api/v1/tariffs/quote", params={"code": "nope", "kwh": "1"}, headers=auth).status_code
        == 404
    )
    assert (
        client.get(
            "/api/v1/tariffs/quote", params={"code": "agricultural", "kwh": "-1"}, headers=auth
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/api/v1/tariffs/quote", params={"code": "agricultural", "kwh": "NaN"}, headers=auth
        ).status_code
        == 422
    )


def test_openapi_documents_the_billing_endpoints_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/v1/accounts/{account_no}/bills",
        "/api/v1/accounts/{account_no}/usage",
        "/api/v1/accounts/{account_no}/tariff-comparison",
        "/api/v1/accounts/{account_no}/payment-status",
        "/api/v1/tariffs/quote",
    ):
        assert path in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert schemas["BillResponse"]["examples"][0]["amount_yuan"] == "373.20"
    assert "examples" in schemas["TariffComparisonResponse"]
