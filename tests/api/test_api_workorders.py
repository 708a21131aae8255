"""Work-order API: customers see only their own orders (verified account or this conversation);
staff act by role (agent < supervisor < admin). SQLite and PostgreSQL via the shared fixtures."""

from __future__ import annotations

import secrets

from fastapi.testclient import TestClient

AGENT = {"Authorization": "Bearer dev-agent-token"}
SUPERVISOR = {"Authorization": "Bearer dev-supervisor-token"}
ADMIN = {"Authorization": "Bearer dev-admin-token"}


def conversation() -> str:
    return f"wx-api{secrets.token_hex(8)}"


def verify(client: TestClient, auth: dict[str, str], conv: str, account_no: str, last4: str) -> None:
    answer = client.post(
        "/api/v1/identity/verify",
        json={"conversation_id": conv, "channel": "wechat", "account_no": account_no, "phone_last4": last4},
        headers=auth,
    )
    assert answer.json()["verified"] is True


def complaint(conv: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "conversation_id": conv,
        "channel": "wechat",
        "kind": "complaint",
        "category": "服务投诉",
        "summary": "营业厅工作人员态度很差，爱答不理",
        "contact_phone": "13803731234",
        "contact_time": "工作日下午",
    }
    body.update(overrides)
    return body


def lodge(client: TestClient, auth: dict[str, str], conv: str, **overrides: object) -> dict[str, object]:
    created = client.post("/api/v1/workorders", json=complaint(conv, **overrides), headers=auth)
    assert created.status_code == 201, created.text
    body: dict[str, object] = created.json()
    return body


def test_customer_endpoints_need_the_service_token(client: TestClient) -> None:
    conv = conversation()
    assert client.post("/api/v1/workorders", json=complaint(conv)).status_code == 401
    assert client.get("/api/v1/workorders", params={"conversation_id": conv}).status_code == 401
    # A staff token is not a service token.
    assert (
        client.get("/api/v1/workorders", params={"conversation_id": conv}, headers=ADMIN).status_code == 401
    )


def test_lodging_gives_a_number_and_commitments(client: TestClient, auth: dict[str, str]) -> None:
    body = lodge(client, auth, conversation())
    assert isinstance(body["ticket_no"], str) and len(body["ticket_no"]) == 14
    assert body["status"] == "accepted" and body["status_label"] == "受理"
    assert body["contact_due_at"] and body["answer_due_at"]
    assert body["next_deadline_kind"] == "contact"
    assert body["limits_confirmed"] is False  # the bot then says 以当地营业厅公布为准
    assert body["account_masked"] is None


def test_naming_an_account_needs_its_verification(client: TestClient, auth: dict[str, str]) -> None:
    conv = conversation()
    refused = client.post("/api/v1/workorders", json=complaint(conv, account_no="3100000001"), headers=auth)
    assert refused.status_code == 403
    verify(client, auth, conv, "3100000001", "1234")
    body = lodge(client, auth, conv, account_no="3100000001", category="营业投诉")
    assert body["account_masked"] == "****0001"


def test_sun_li_sees_her_open_complaint_only_after_verification(
    client: TestClient, auth: dict[str, str]
) -> None:
    conv = conversation()
    listed = client.get("/api/v1/workorders", params={"conversation_id": conv}, headers=auth)
    assert listed.status_code == 200 and listed.json()["orders"] == []
    assert (
        client.get(
            "/api/v1/workorders", params={"conversation_id": conv, "account_no": "3100000007"}, headers=auth
        ).status_code
        == 403
    )
    verify(client, auth, conv, "3100000007", "1357")
    orders = client.get("/api/v1/workorders", params={"conversation_id": conv}, headers=auth).json()["orders"]
    mine = [o for o in orders if o["kind"] == "complaint" and o["category"] == "营业投诉"]
    assert mine and mine[-1]["status_label"] == "处理中" and mine[-1]["handler"] == "大召营供电所"
    assert {o["account_masked"] for o in orders} == {"****0007"}

    # Someone else's conversation cannot look the order up by number: it looks unknown.
    number = mine[-1]["ticket_no"]
    other = conversation()
    hidden = client.get(f"/api/v1/workorders/{number}", params={"conversation_id": other}, headers=auth)
    assert hidden.status_code == 404
    unknown = client.get("/api/v1/workorders/20990101999999", params={"conversation_id": other}, headers=auth)
    assert unknown.status_code == 404 and unknown.json() == hidden.json()
    shown = client.get(f"/api/v1/workorders/{number}", params={"conversation_id": conv}, headers=auth)
    assert shown.status_code == 200 and shown.json()["handler"] == "大召营供电所"


def test_an_order_lodged_in_a_conversation_is_visible_to_it(client: TestClient, auth: dict[str, str]) -> None:
    conv = conversation()
    number = lodge(client, auth, conv)["ticket_no"]
    orders = client.get("/api/v1/workorders", params={"conversation_id": conv}, headers=auth).json()["orders"]
    assert [o["ticket_no"] for o in orders] == [number]
    other = client.get("/api/v1/workorders", params={"conversation_id": conversation()}, headers=auth)
    assert other.json()["orders"] == []


def test_linking_to_someone_elses_order_is_refused(client: TestClient, auth: dict[str, str]) -> None:
    first = lodge(client, auth, conversation())["ticket_no"]
    refused = client.post(
        "/api/v1/workorders", json=complaint(conversation(), related_ticket_no=first), headers=auth
    )
    assert refused.status_code == 404
    conv = conversation()
    own = lodge(client, auth, conv)["ticket_no"]
    linked = lodge(client, auth, conv, related_ticket_no=own)
    assert linked["related_ticket_no"] == own


def test_staff_need_a_staff_token(client: TestClient, auth: dict[str, str]) -> None:
    assert client.get("/api/v1/staff/workorders").status_code == 401
    assert client.get("/api/v1/staff/workorders", headers=auth).status_code == 401  # service token
    assert client.get("/api/v1/staff/workorders", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/staff/workorders", headers=AGENT).status_code == 200


def test_roles_limit_the_transitions(client: TestClient, auth: dict[str, str]) -> None:
    number = lodge(client, auth, conversation())["ticket_no"]
    url = f"/api/v1/staff/workorders/{number}/transitions"
    dispatched = client.post(url, json={"action": "dispatch", "assignee": "七里营供电所"}, headers=AGENT)
    assert dispatched.status_code == 200 and dispatched.json()["status"] == "dispatched"
    assert "escalate" not in dispatched.json()["allowed_actions"]
    assert client.post(url, json={"action": "escalate"}, headers=AGENT).status_code == 403
    escalated = client.post(url, json={"action": "escalate"}, headers=SUPERVISOR)
    assert escalated.status_code == 200 and escalated.json()["escalation_level"] == 1
    invalid = client.post(url, json={"action": "answer", "note": "x"}, headers=ADMIN)
    assert invalid.status_code == 409 and "派单" in invalid.json()["detail"]


def test_staff_detail_shows_history_and_is_audited(client: TestClient, auth: dict[str, str]) -> None:
    number = lodge(client, auth, conversation())["ticket_no"]
    unit = f"测试供电所{secrets.token_hex(3)}"
    client.post(
        f"/api/v1/staff/workorders/{number}/transitions",
        json={"action": "dispatch", "assignee": unit},
        headers=AGENT,
    )
    listed = client.get("/api/v1/staff/workorders", params={"assignee": unit}, headers=AGENT)
    (row,) = listed.json()["orders"]
    assert row["ticket_no"] == number
    assert row["contact_phone"] is None and row["contact_phone_masked"] == "138****1234"
    detail = client.get(f"/api/v1/staff/workorders/{number}", headers=AGENT).json()
    assert detail["contact_phone"] == "13803731234"  # the handler has to call back
    assert [e["action"] for e in detail["history"]][:1] == ["workorder.create"]
    assert detail["history"][-1]["action"] == "workorder.view"
    assert detail["history"][-1]["actor"] == "agent:agent-001"


def test_rating_flow_and_the_supervisor_queue(client: TestClient, auth: dict[str, str]) -> None:
    conv = conversation()
    number = lodge(client, auth, conv)["ticket_no"]
    rate_url = f"/api/v1/workorders/{number}/rating"
    early = client.post(
        rate_url, json={"conversation_id": conv, "channel": "wechat", "rating": "满意"}, headers=auth
    )
    assert early.status_code == 409
    url = f"/api/v1/staff/workorders/{number}/transitions"
    for step in (
        {"action": "dispatch", "assignee": "七里营供电所"},
        {"action": "acknowledge"},
        {"action": "start"},
        {"action": "answer", "note": "已向您致歉并对工作人员批评教育。"},
    ):
        assert client.post(url, json=step, headers=AGENT).status_code == 200
    shown = client.get(f"/api/v1/workorders/{number}", params={"conversation_id": conv}, headers=auth).json()
    assert shown["status_label"] == "已答复" and shown["answer"].startswith("已向您致歉")

    stranger = client.post(
        rate_url,
        json={"conversation_id": conversation(), "channel": "wechat", "rating": "不满意"},
        headers=auth,
    )
    assert stranger.status_code == 404
    rated = client.post(
        rate_url, json={"conversation_id": conv, "channel": "wechat", "rating": "不满意"}, headers=auth
    )
    assert rated.status_code == 200
    assert rated.json()["reopen_count"] == 1 and rated.json()["rating"] == "不满意"
    assert rated.json()["status"] == "acknowledged"

    assert client.get("/api/v1/staff/notifications", headers=AGENT).status_code == 403
    queue = client.get("/api/v1/staff/notifications", headers=SUPERVISOR).json()["notifications"]
    note = next(n for n in queue if n["ticket_no"] == number)
    assert note["reason"] == "unsatisfied"
    acked = client.post(f"/api/v1/staff/notifications/{note['id']}/ack", headers=SUPERVISOR)
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "supervisor:sup-001"
    queue = client.get("/api/v1/staff/notifications", headers=SUPERVISOR).json()["notifications"]
    assert all(n["id"] != note["id"] for n in queue)


def test_unknown_rating_words_are_refused(client: TestClient, auth: dict[str, str]) -> None:
    conv = conversation()
    number = lodge(client, auth, conv)["ticket_no"]
    bad = client.post(
        f"/api/v1/workorders/{number}/rating",
        json={"conversation_id": conv, "channel": "wechat", "rating": "还行吧"},
        headers=auth,
    )
    assert bad.status_code == 422
