"""Business endpoints used by the Rasa actions, on the seeded demo customers."""

from __future__ import annotations

import secrets

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.models import AuditEvent

WANG = "3100000001"  # 王建国, phone ends 1234, prepaid, balance 86.50
LI = "3100000002"  # 李秀兰, phone ends 5678, arrears 45.20, supply suspended


def new_conversation_id() -> str:
    return f"web-{secrets.token_hex(8)}"


def verify(
    client: TestClient, auth: dict[str, str], conversation_id: str, **fields: object
) -> httpx.Response:
    body = {"conversation_id": conversation_id, "channel": "web", "phone_last4": None, "name": None, **fields}
    return client.post("/api/v1/identity/verify", json=body, headers=auth)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/identity/verify"), ("GET", f"/api/v1/accounts/{WANG}/balance?conversation_id=web-x")],
)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic api-test-service-token", "Bearer "])
def test_business_endpoints_require_the_service_token(
    client: TestClient, method: str, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    body = {"conversation_id": "web-x", "channel": "web", "account_no": WANG, "phone_last4": "1234"}
    response = client.request(method, path, headers=headers, json=body if method == "POST" else None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_verify_success_returns_canonical_and_masked_number(client: TestClient, auth: dict[str, str]) -> None:
    response = verify(client, auth, new_conversation_id(), account_no="3100 0000-01", phone_last4="1234")
    assert response.status_code == 200
    assert response.json() == {
        "verified": True,
        "account_no": "4103100000001",
        "account_masked": "****0001",
        "reason": None,
    }


def test_verify_by_holder_name(client: TestClient, auth: dict[str, str]) -> None:
    response = verify(client, auth, new_conversation_id(), account_no="4103100000001", name="王建国")
    assert response.json()["verified"] is True


def test_wrong_factor_and_unknown_account_look_the_same(client: TestClient, auth: dict[str, str]) -> None:
    wrong_factor = verify(client, auth, new_conversation_id(), account_no=WANG, phone_last4="9999")
    unknown = verify(client, auth, new_conversation_id(), account_no="3199999999", phone_last4="1234")
    expected = {"verified": False, "account_no": None, "account_masked": None, "reason": "mismatch"}
    assert wrong_factor.status_code == unknown.status_code == 200
    assert wrong_factor.json() == unknown.json() == expected


def test_verify_rejects_a_malformed_number_and_a_missing_factor(
    client: TestClient, auth: dict[str, str]
) -> None:
    invalid = verify(client, auth, new_conversation_id(), account_no="12345", phone_last4="1234")
    assert invalid.json()["reason"] == "invalid_account_no"
    assert invalid.json()["verified"] is False
    missing = verify(client, auth, new_conversation_id(), account_no=WANG)
    assert missing.json()["reason"] == "missing_factor"


def test_every_verification_attempt_is_audited_with_masked_values(
    client: TestClient, auth: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    conversation_id = new_conversation_id()
    verify(client, auth, conversation_id, account_no=WANG, phone_last4="0000")
    with session_factory() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.actor == f"conversation:{conversation_id}")
        ).all()
    assert [event.action for event in events] == ["identity.verify"]
    assert events[0].entity_id == "****0001"
    assert "4103100000001" not in str(events[0].after)


def balance(
    client: TestClient, auth: dict[str, str], account_no: str, conversation_id: str
) -> httpx.Response:
    return client.get(
        f"/api/v1/accounts/{account_no}/balance", params={"conversation_id": conversation_id}, headers=auth
    )


def test_balance_is_403_before_verification_and_masked_after(
    client: TestClient, auth: dict[str, str]
) -> None:
    conversation_id = new_conversation_id()
    before = balance(client, auth, WANG, conversation_id)
    assert before.status_code == 403
    assert "86.50" not in before.text

    assert verify(client, auth, conversation_id, account_no=WANG, phone_last4="1234").json()["verified"]
    after = balance(client, auth, WANG, conversation_id)
    assert after.status_code == 200
    assert after.json() == {
        "account_no": "4103100000001",
        "account_masked": "****0001",
        "holder_masked": "王*国",
        "payment_mode": "prepaid",
        "balance_yuan": "86.50",
        "arrears_yuan": "0.00",
        "supply_status": "normal",
        "suspended_since": None,
        "address_masked": "新乡县七里营镇七里营村",
    }
    # The same account in its 13-digit form is the same verified account.
    assert balance(client, auth, "4103100000001", conversation_id).status_code == 200


def test_balance_for_arrears_and_suspended_supply(client: TestClient, auth: dict[str, str]) -> None:
    conversation_id = new_conversation_id()
    verify(client, auth, conversation_id, account_no=LI, phone_last4="5678")
    body = balance(client, auth, LI, conversation_id).json()
    assert body["arrears_yuan"] == "45.20"
    assert body["balance_yuan"] == "0.00"
    assert body["supply_status"] == "suspended_for_arrears"
    assert body["suspended_since"] is not None
    assert body["holder_masked"] == "李*兰"


def test_verification_is_per_conversation_and_per_account(client: TestClient, auth: dict[str, str]) -> None:
    conversation_id = new_conversation_id()
    verify(client, auth, conversation_id, account_no=WANG, phone_last4="1234")
    assert balance(client, auth, LI, conversation_id).status_code == 403
    assert balance(client, auth, WANG, new_conversation_id()).status_code == 403


def test_failed_verification_does_not_unlock_the_balance(client: TestClient, auth: dict[str, str]) -> None:
    conversation_id = new_conversation_id()
    verify(client, auth, conversation_id, account_no=WANG, phone_last4="4321")
    assert balance(client, auth, WANG, conversation_id).status_code == 403


@pytest.mark.parametrize("bad_number", ["12345", "abcdefghij", "31000000011"])
def test_balance_rejects_a_malformed_account_number_in_both_languages(
    client: TestClient, auth: dict[str, str], bad_number: str
) -> None:
    response = balance(client, auth, bad_number, new_conversation_id())
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "户号" in detail
    assert "Invalid account number" in detail


def test_balance_needs_a_conversation_id(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get(f"/api/v1/accounts/{WANG}/balance", headers=auth)
    assert response.status_code == 422
