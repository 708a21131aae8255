"""Outage, fault, repair and hazard endpoints on the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from backend.clock import LOCAL_TZ, local_today

TOMORROW = (local_today() + timedelta(days=1)).isoformat()


def conv() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


STAFF = {"Authorization": "Bearer dev-agent-token"}  # Settings.staff_tokens default (api/staff_auth.py)


def test_endpoints_need_their_tokens(client, auth):
    assert client.get("/api/v1/outages/search", params={"place": "七里营"}).status_code == 401
    assert client.post("/api/v1/hazards", json={}).status_code == 401
    # Staff endpoints take a staff token, not the actions' service token.
    assert client.post("/api/v1/staff/outages/planned", json={}, headers=auth).status_code == 401
    assert client.get("/api/v1/staff/outages/faults", headers=auth).status_code == 401
    assert (
        client.post("/api/v1/staff/repairs/20260101000001/progress", json={}, headers=auth).status_code == 401
    )
    assert client.get("/api/v1/staff/outages/faults", headers=STAFF).status_code == 200


def test_search_by_place_and_day(client, auth):
    body = client.get(
        "/api/v1/outages/search", params={"place": "七里营镇七里营村三组", "day": TOMORROW}, headers=auth
    )
    assert body.status_code == 200, body.text
    data = body.json()
    assert data["place"]["town"] == "七里营镇" and data["place"]["village"] == "七里营村"
    [outage] = data["outages"]
    assert (outage["kind"], outage["match"], outage["reason"]) == ("planned", "covered", "线路检修")
    starts = datetime.fromisoformat(outage["starts_at"]).astimezone(LOCAL_TZ)
    assert (starts.hour, starts.minute) == (8, 0)

    fault = client.get("/api/v1/outages/search", params={"place": "小冀镇工业路"}, headers=auth).json()
    assert [o["kind"] for o in fault["outages"]] == ["fault"] and fault["outages"][0]["expected_restore_at"]
    none = client.get(
        "/api/v1/outages/search", params={"place": "合河乡", "day": TOMORROW}, headers=auth
    ).json()
    assert none["outages"] == [] and none["place"]["town"] == "合河乡"


def test_search_by_account_needs_verification(client, auth):
    conversation = conv()
    params = {"account_no": "3100000001", "conversation_id": conversation, "day": TOMORROW}
    assert client.get("/api/v1/outages/search", params=params, headers=auth).status_code == 403
    verified = client.post(
        "/api/v1/identity/verify",
        json={
            "conversation_id": conversation,
            "channel": "web",
            "account_no": "3100000001",
            "phone_last4": "1234",
        },
        headers=auth,
    ).json()
    assert verified["verified"] is True
    data = client.get("/api/v1/outages/search", params=params, headers=auth).json()
    assert data["place"]["from_account"] is True
    assert [(o["kind"], o["match"]) for o in data["outages"]] == [("planned", "covered")]


def test_search_over_several_days(client, auth):
    today = local_today().isoformat()
    one = client.get(
        "/api/v1/outages/search", params={"place": "朗公庙镇朗公庙村", "day": today}, headers=auth
    )
    week = client.get(
        "/api/v1/outages/search", params={"place": "朗公庙镇朗公庙村", "day": today, "days": 7}, headers=auth
    )
    assert one.json()["outages"] == []  # the demo's 朗公庙 outage is in 3 days
    assert [o["reason"] for o in week.json()["outages"]] == ["变压器增容改造"]


def test_staff_create_and_cancel_planned_outage(client, auth):
    day = local_today() + timedelta(days=60)
    start = datetime.combine(day, time(9), tzinfo=LOCAL_TZ)
    created = client.post(
        "/api/v1/staff/outages/planned",
        json={
            "area": "大块",
            "villages": ["大块村"],
            "line": "10kV大块线",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=3)).isoformat(),
            "reason": "设备检修",
        },
        headers=STAFF,
    )
    assert created.status_code == 201, created.text
    outage_id = created.json()["id"]
    assert created.json()["area"] == "大块镇"
    search = {"place": "大块镇大块村", "day": day.isoformat()}
    assert len(client.get("/api/v1/outages/search", params=search, headers=auth).json()["outages"]) == 1
    patched = client.patch(
        f"/api/v1/staff/outages/planned/{outage_id}", json={"status": "cancelled"}, headers=STAFF
    )
    assert patched.status_code == 200 and patched.json()["status"] == "cancelled"
    assert client.get("/api/v1/outages/search", params=search, headers=auth).json()["outages"] == []
    bad = client.post(
        "/api/v1/staff/outages/planned",
        json={
            "area": "郑州",
            "line": "x",
            "starts_at": start.isoformat(),
            "ends_at": start.isoformat(),
            "reason": "x",
        },
        headers=STAFF,
    )
    assert bad.status_code == 422
    missing = client.patch("/api/v1/staff/outages/faults/999999", json={"status": "restored"}, headers=STAFF)
    assert missing.status_code == 404


def test_repair_inside_known_fault_opens_no_order(client, auth):
    response = client.post(
        "/api/v1/repairs",
        json={
            "conversation_id": conv(),
            "channel": "wechat",
            "address": "小冀镇工业路18号",
            "fault_type": "全户停电",
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["outcome"] == "known_outage" and data["repair"] is None
    assert data["known_outage"]["kind"] == "fault"


def test_repair_created_then_visible_only_to_its_conversation(client, auth):
    conversation = conv()
    response = client.post(
        "/api/v1/repairs",
        json={
            "conversation_id": conversation,
            "channel": "wechat",
            "address": "县城人民路幸福小区",
            "fault_type": "跳闸",
            "contact_phone": "13800001111",
            "description": "合不上闸",
        },
        headers=auth,
    ).json()
    assert response["outcome"] == "created"
    repair = response["repair"]
    assert repair["arrival_minutes"] == 45 and repair["area_type"] == "urban"
    assert len(repair["ticket_no"]) == 14 and repair["arrival_state"] == "on_track"
    number = repair["ticket_no"]
    mine = client.get(f"/api/v1/repairs/{number}", params={"conversation_id": conversation}, headers=auth)
    assert mine.status_code == 200 and mine.json()["status"] == "accepted"
    assert (
        client.get(f"/api/v1/repairs/{number}", params={"conversation_id": conv()}, headers=auth).status_code
        == 403
    )

    progress = client.post(
        f"/api/v1/staff/repairs/{number}/progress",
        json={"step": "dispatched", "assignee": "县城供电所"},
        headers=STAFF,
    )
    assert progress.status_code == 200 and progress.json()["status"] == "dispatched"
    assert progress.json()["progress"]["dispatched_at"]
    wrong = client.post(f"/api/v1/staff/repairs/{number}/progress", json={"step": "fixed"}, headers=STAFF)
    assert wrong.status_code == 409


def test_repair_from_unknown_place_is_422(client, auth):
    response = client.post(
        "/api/v1/repairs",
        json={
            "conversation_id": conv(),
            "channel": "web",
            "address": "北京市朝阳区",
            "fault_type": "全户停电",
        },
        headers=auth,
    )
    assert response.status_code == 422


def test_hazard_order_is_urgent(client, auth):
    response = client.post(
        "/api/v1/hazards",
        json={
            "conversation_id": conv(),
            "channel": "wechat",
            "location": "合河乡塔铺村东头",
            "description": "电线杆歪了",
        },
        headers=auth,
    )
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["priority"] == "urgent" and data["hazard"] is True and data["needs_immediate_human"] is True
