"""Applications API: types from configuration, the confirmation gate, verification of existing
accounts, status by number and by account, staff advance (staff token) with audit and notice."""

from __future__ import annotations

import secrets

from apitest_support import WeChat
from fastapi.testclient import TestClient

from backend.services.conversations import conversation_id_for

AGENT = {"Authorization": "Bearer dev-agent-token"}
CHEN_MING, CHEN_MING_LAST4 = "3100000006", "2468"


def conversation() -> str:
    return f"wx-app{secrets.token_hex(8)}"


def verify(client: TestClient, auth: dict[str, str], conv: str, account_no: str, last4: str) -> None:
    answer = client.post(
        "/api/v1/identity/verify",
        json={"conversation_id": conv, "channel": "wechat", "account_no": account_no, "phone_last4": last4},
        headers=auth,
    )
    assert answer.json()["verified"] is True


def new_connection(conv: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "conversation_id": conv,
        "channel": "wechat",
        "business_type": "新装",
        "confirmed": True,
        "address": "新乡县朗公庙镇冯庄村4组",
        "supply_class": "residential",
        "contact_phone": "13803731234",
        "preferred_survey_time": "周末",
    }
    body.update(overrides)
    return body


def test_endpoints_need_their_tokens(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/api/v1/applications/types").status_code == 401
    assert client.post("/api/v1/applications", json=new_connection(conversation())).status_code == 401
    assert client.get("/api/v1/staff/applications").status_code == 401
    # The service token is not a staff token, and the other way round.
    assert client.get("/api/v1/staff/applications", headers=auth).status_code == 401
    assert client.get("/api/v1/applications/types", headers=AGENT).status_code == 401


def test_types_come_from_configuration_with_provenance(client: TestClient, auth: dict[str, str]) -> None:
    body = client.get("/api/v1/applications/types", headers=auth).json()
    kinds = {kind["name"]: kind for kind in body["types"]}
    assert set(kinds) == {"新装", "增容", "减容", "过户", "更名", "销户", "暂停", "光伏并网", "充电桩"}
    residential = next(t for t in kinds["新装"]["time_limits"] if t["key"] == "residential")
    assert residential["working_days"] == 5 and residential["confirmed"] is True
    assert residential["effective_date"] == "2023-12-08"
    assert kinds["过户"]["existing_account"] == "required"
    assert kinds["过户"]["time_limits"][0]["quote_to_customer"] is False
    assert kinds["新装"]["step_labels"][:2] == ["受理", "现场勘查"]
    assert body["unconfirmed_notice"] == "以当地营业厅公布为准"


def test_nothing_is_created_without_confirmation(client: TestClient, auth: dict[str, str]) -> None:
    conv = conversation()
    refused = client.post("/api/v1/applications", json=new_connection(conv, confirmed=False), headers=auth)
    assert refused.status_code == 422
    listed = client.get("/api/v1/applications", params={"conversation_id": conv}, headers=auth).json()
    assert listed["applications"] == []


def test_create_and_query_by_number(client: TestClient, auth: dict[str, str]) -> None:
    conv = conversation()
    created = client.post("/api/v1/applications", json=new_connection(conv), headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    number = body["application_no"]
    assert len(number) == 14 and number.isdigit()
    assert body["current_step_label"] == "受理" and body["next_step_label"] == "现场勘查"
    assert body["time_limit_days"] == 5 and body["overdue"] is False and body["on_time"] is True
    assert body["contact_phone_masked"] == "138****1234"
    assert "13803731234" not in created.text

    own = client.get(f"/api/v1/applications/{number}", params={"conversation_id": conv}, headers=auth)
    assert own.status_code == 200 and own.json()["application_no"] == number
    other = client.get(
        f"/api/v1/applications/{number}", params={"conversation_id": conversation()}, headers=auth
    )
    assert other.status_code == 404


def test_transfer_needs_verification_and_then_lists_by_account(
    client: TestClient, auth: dict[str, str]
) -> None:
    conv = conversation()
    transfer = new_connection(
        conv,
        business_type="过户",
        account_no=CHEN_MING,
        new_holder_name="陈小明",
        address=None,
        supply_class=None,
    )
    assert client.post("/api/v1/applications", json=transfer, headers=auth).status_code == 403
    no_account = {**transfer, "account_no": None}
    assert client.post("/api/v1/applications", json=no_account, headers=auth).status_code == 422
    verify(client, auth, conv, CHEN_MING, CHEN_MING_LAST4)
    created = client.post("/api/v1/applications", json=transfer, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["account_masked"] == "****0006"
    assert created.json()["time_limit_quotable"] is False

    listed = client.get(
        "/api/v1/applications", params={"conversation_id": conv, "account_no": CHEN_MING}, headers=auth
    ).json()["applications"]
    kinds = {item["business_type"]: item for item in listed}
    assert {"新装", "过户"} <= set(kinds)
    assert kinds["新装"]["current_step_label"] == "现场勘查"
    assert kinds["新装"]["arrangement"] == "现场勘查，预约明天上午"
    unverified = client.get(
        "/api/v1/applications",
        params={"conversation_id": conversation(), "account_no": CHEN_MING},
        headers=auth,
    )
    assert unverified.status_code == 403


def test_staff_advance_records_audit_and_a_notice_in_the_transcript(
    client: TestClient, auth: dict[str, str], wechat: WeChat, openid: str
) -> None:
    wechat.text(openid, "你好")  # the customer's conversation exists (Rasa is down: fallback reply)
    conv = conversation_id_for("wechat", openid)
    number = client.post("/api/v1/applications", json=new_connection(conv), headers=auth).json()[
        "application_no"
    ]

    moved = client.post(
        f"/api/v1/staff/applications/{number}/advance",
        json={"note": "勘查人员已安排", "arrangement": "现场勘查，预约周六上午"},
        headers=AGENT,
    )
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["current_step_label"] == "现场勘查" and body["notice_message_id"] is not None
    assert [entry["step"] for entry in body["history"]] == ["accepted", "site_survey"]
    assert body["history"][-1]["actor"] == "agent:agent-001"
    notices = [m for m in wechat.transcript(openid) if m.sender == "system"]
    assert len(notices) == 1 and number in notices[0].text and "勘查人员已安排" in notices[0].text
    assert notices[0].direction == "out"

    backwards = client.post(
        f"/api/v1/staff/applications/{number}/advance", json={"to_step": "accepted"}, headers=AGENT
    )
    assert backwards.status_code == 409
    detail = client.get(f"/api/v1/staff/applications/{number}", headers=AGENT).json()
    assert detail["current_step"] == "site_survey" and detail["overdue_flagged_at"] is None


def test_unknown_application_is_404_for_staff(client: TestClient) -> None:
    answer = client.post("/api/v1/staff/applications/20990101000001/advance", json={}, headers=AGENT)
    assert answer.status_code == 404


def test_nearest_hall_by_town(client: TestClient, auth: dict[str, str]) -> None:
    near = client.get(
        "/api/v1/applications/nearest-hall", params={"place": "七里营镇刘庄村"}, headers=auth
    ).json()
    assert near["name"] == "七里营供电所" and near["same_town"] is True
    assert near["confirmed"] is False  # demo addresses: quoted with 以当地营业厅公布为准
    county = client.get(
        "/api/v1/applications/nearest-hall", params={"place": "古固寨镇"}, headers=auth
    ).json()
    assert county["name"] == "新乡县供电公司营业厅" and county["same_town"] is False
