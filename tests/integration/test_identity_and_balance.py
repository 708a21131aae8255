from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backend.clock import utcnow
from backend.models import AuditEvent, IdentityVerification
from backend.services.accounts import (
    NotVerified,
    VerificationResult,
    get_balance,
    verify_identity,
)


def _verify(session, conversation_id, account_no, **factors):
    result = verify_identity(
        session, conversation_id=conversation_id, channel="web", account_no=account_no, **factors
    )
    session.commit()
    return result


def _attempts(session, conversation_id):
    return session.scalars(
        select(IdentityVerification)
        .where(IdentityVerification.conversation_id == conversation_id)
        .order_by(IdentityVerification.id)
    ).all()


def test_success_by_phone_last4(session, unique_id):
    result = _verify(session, unique_id, "3100000001", phone_last4="1234")
    assert result == VerificationResult(True, "4103100000001", "****0001", None)
    [attempt] = _attempts(session, unique_id)
    assert (attempt.success, attempt.method, attempt.account_no) == (True, "phone_last4", "4103100000001")


def test_success_by_name_tolerates_surrounding_spaces(session, unique_id):
    result = _verify(session, unique_id, "410 3100 000002", name="  李秀兰\u3000")
    assert result.verified is True
    assert result.account_no == "4103100000002"
    assert _attempts(session, unique_id)[0].method == "name"


def test_last4_spoken_as_chinese_numerals(session, unique_id):
    assert _verify(session, unique_id, "三幺零零零零零零零幺", phone_last4="幺二三四").verified is True


def test_wrong_factor_is_a_mismatch(session, unique_id):
    assert _verify(session, unique_id, "3100000001", phone_last4="9999") == VerificationResult(
        False, None, None, "mismatch"
    )
    assert _verify(session, unique_id, "3100000001", name="王建") == VerificationResult(
        False, None, None, "mismatch"
    )
    assert _verify(session, unique_id, "3100000001", phone_last4="12345") == VerificationResult(
        False, None, None, "mismatch"
    )


def test_every_given_factor_must_match(session, unique_id):
    assert _verify(session, unique_id, "3100000001", phone_last4="1234", name="李秀兰").verified is False


def test_unknown_account_is_indistinguishable_from_a_wrong_factor(session, unique_id):
    unknown = _verify(session, unique_id, "3999999999", phone_last4="1234")
    wrong = _verify(session, unique_id, "3100000001", phone_last4="0000")
    assert unknown == wrong == VerificationResult(False, None, None, "mismatch")


def test_bad_format_and_missing_factor(session, unique_id):
    assert _verify(session, unique_id, "12345", phone_last4="1234").reason == "invalid_account_no"
    assert _verify(session, unique_id, "3100000001").reason == "missing_factor"
    assert _verify(session, unique_id, "3100000001", phone_last4="  ", name=" ").reason == "missing_factor"


def test_every_attempt_is_recorded_and_audited_with_masked_values_only(session, unique_id):
    _verify(session, unique_id, "3100000001", phone_last4="0000")
    _verify(session, unique_id, "3100000001", phone_last4="1234")
    attempts = _attempts(session, unique_id)
    assert [a.success for a in attempts] == [False, True]
    assert attempts[0].account_no is None  # failed guesses are not stored in full
    assert attempts[0].account_masked == "****0001"
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.actor == f"conversation:{unique_id}").order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["identity.verify", "identity.verify"]
    assert [e.after["verified"] for e in events] == [False, True]  # type: ignore[index]
    for event in events:
        serialised = repr((event.entity_id, event.before, event.after))
        assert "3100000001" not in serialised
        assert "1234" not in serialised and "0000" not in serialised
        assert event.entity_id == "****0001"


def test_balance_after_verification(session, unique_id):
    _verify(session, unique_id, "3100000001", phone_last4="1234")
    view = get_balance(session, conversation_id=unique_id, account_no="3100000001")
    assert view.account_no == "4103100000001"
    assert view.account_masked == "****0001"
    assert view.holder_masked == "王*国"
    assert view.payment_mode == "prepaid"
    assert view.balance_yuan == Decimal("86.50")
    assert view.arrears_yuan == Decimal("0.00")
    assert view.supply_status == "normal"
    assert view.suspended_since is None
    assert view.address_masked == "新乡县七里营镇七里营村"


def test_suspended_account_balance(session, unique_id):
    _verify(session, unique_id, "3100000002", name="李秀兰")
    view = get_balance(session, conversation_id=unique_id, account_no="4103100000002")
    assert view.arrears_yuan == Decimal("45.20")
    assert view.supply_status == "suspended_for_arrears"
    assert view.suspended_since is not None
    assert view.holder_masked == "李*兰"


def test_balance_refused_without_verification(session, unique_id):
    with pytest.raises(NotVerified):
        get_balance(session, conversation_id=unique_id, account_no="3100000001")


def test_failed_verification_does_not_open_the_balance(session, unique_id):
    _verify(session, unique_id, "3100000001", phone_last4="4321")
    with pytest.raises(NotVerified):
        get_balance(session, conversation_id=unique_id, account_no="3100000001")


def test_verification_is_per_account_and_per_conversation(session, unique_id):
    _verify(session, unique_id, "3100000001", phone_last4="1234")
    with pytest.raises(NotVerified):
        get_balance(session, conversation_id=unique_id, account_no="3100000002")
    with pytest.raises(NotVerified):
        get_balance(session, conversation_id=unique_id + "-other", account_no="3100000001")


def test_unknown_or_malformed_account_is_not_verified_rather_than_not_found(session, unique_id):
    # Unverifiable by construction, so the answer never reveals whether the account exists.
    with pytest.raises(NotVerified):
        get_balance(session, conversation_id=unique_id, account_no="3999999999")
    with pytest.raises(NotVerified):
        get_balance(session, conversation_id=unique_id, account_no="abc")


def test_verification_expires_after_the_ttl(session, unique_id):
    verified_at = utcnow()
    verify_identity(
        session,
        conversation_id=unique_id,
        channel="web",
        account_no="3100000001",
        phone_last4="1234",
        now=verified_at,
    )
    session.commit()
    within = verified_at + timedelta(minutes=29)
    expired = verified_at + timedelta(minutes=31)
    assert get_balance(
        session, conversation_id=unique_id, account_no="3100000001", now=within, ttl_minutes=30
    ).balance_yuan == Decimal("86.50")
    with pytest.raises(NotVerified):
        get_balance(session, conversation_id=unique_id, account_no="3100000001", now=expired, ttl_minutes=30)


def test_ttl_defaults_to_the_setting(session, unique_id, monkeypatch):
    from backend.settings import get_settings

    verified_at = utcnow()
    verify_identity(
        session,
        conversation_id=unique_id,
        channel="web",
        account_no="3100000001",
        phone_last4="1234",
        now=verified_at,
    )
    session.commit()
    monkeypatch.setattr(get_settings(), "verification_ttl_minutes", 5)
    with pytest.raises(NotVerified):
        get_balance(
            session,
            conversation_id=unique_id,
            account_no="3100000001",
            now=verified_at + timedelta(minutes=6),
        )
