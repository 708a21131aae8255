"""Account numbers, identity verification and the balance a verified conversation may see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.clock import utcnow
from backend.masking import mask_account_no, mask_address, mask_name
from backend.models import Account, Customer, IdentityVerification
from backend.services import audit
from backend.settings import get_settings

HENAN_PREFIX = "410"

# Digits as customers type or speak them: full-width, and Chinese numerals (幺 for 1 on the phone).
_DIGIT_MAP = {chr(0xFF10 + i): str(i) for i in range(10)}
_DIGIT_MAP.update(
    {
        "零": "0",
        "〇": "0",
        "○": "0",
        "一": "1",
        "幺": "1",
        "二": "2",
        "两": "2",
        "三": "3",
        "四": "4",
        "五": "5",
        "六": "6",
        "七": "7",
        "八": "8",
        "九": "9",
    }
)
_SEPARATORS = re.compile(r"[\s\u3000\-‐‑–—－_]+")
_TEN_OR_THIRTEEN = re.compile(r"^(?:\d{10}|\d{13})$")
_FOUR_DIGITS = re.compile(r"^\d{4}$")
_NAME_SPACES = re.compile(r"^[\s\u3000]+|[\s\u3000]+$")

Reason = Literal["mismatch", "invalid_account_no", "missing_factor"]


class InvalidAccountNo(ValueError):
    pass


class NotVerified(PermissionError):
    """This conversation has no current verification for this account."""


class AccountNotFound(LookupError):
    pass


@dataclass(frozen=True)
class VerificationResult:
    verified: bool
    account_no: str | None
    account_masked: str | None
    reason: Reason | None


@dataclass(frozen=True)
class BalanceView:
    account_no: str
    account_masked: str
    holder_masked: str
    payment_mode: str
    balance_yuan: Decimal
    arrears_yuan: Decimal
    supply_status: str
    suspended_since: datetime | None
    address_masked: str


def _to_ascii_digits(raw: str) -> str:
    return "".join(_DIGIT_MAP.get(char, char) for char in _SEPARATORS.sub("", raw))


def normalise_account_no(raw: str) -> str:
    """Canonical 13-digit number; a legacy 10-digit number gets the Henan prefix "410"."""
    digits = _to_ascii_digits(raw or "")
    if not _TEN_OR_THIRTEEN.match(digits) or not digits.isascii():
        raise InvalidAccountNo("an account number has 10 or 13 digits")
    return HENAN_PREFIX + digits if len(digits) == 10 else digits


def find_account(session: Session, raw: str) -> Account | None:
    try:
        canonical = normalise_account_no(raw)
    except InvalidAccountNo:
        return None
    legacy = canonical[len(HENAN_PREFIX) :] if canonical.startswith(HENAN_PREFIX) else None
    condition = Account.account_no == canonical
    if legacy is not None and len(_to_ascii_digits(raw)) == 10:
        # A legacy number also names an account whose current number does not follow the 410 rule.
        condition = or_(condition, Account.legacy_no == legacy)
    return session.scalars(select(Account).where(condition).order_by(Account.id).limit(1)).first()


def _clean_name(name: str | None) -> str:
    return _NAME_SPACES.sub("", name or "")


def _clean_last4(value: str | None) -> str:
    return _to_ascii_digits(value or "")


def verify_identity(
    session: Session,
    *,
    conversation_id: str,
    channel: str,
    account_no: str,
    phone_last4: str | None = None,
    name: str | None = None,
    now: datetime | None = None,
) -> VerificationResult:
    """Check 户号 plus one knowledge factor; every factor given must match. Records the attempt."""
    at = now or utcnow()
    last4, given_name = _clean_last4(phone_last4), _clean_name(name)
    method = "phone_last4" if last4 else ("name" if given_name else None)
    account: Account | None = None
    try:
        canonical: str | None = normalise_account_no(account_no)
    except InvalidAccountNo:
        canonical = None

    reason: Reason | None
    if canonical is None:
        reason = "invalid_account_no"
    elif method is None:
        reason = "missing_factor"
    else:
        account = find_account(session, canonical)
        matches = account is not None and (
            (not last4 or (_FOUR_DIGITS.match(last4) is not None and account.customer.phone.endswith(last4)))
            and (not given_name or given_name == account.customer.name.strip())
        )
        # Unknown account and wrong factor look the same to the caller: existence is never revealed.
        reason = None if matches else "mismatch"

    verified = reason is None and account is not None
    masked = mask_account_no(canonical) if canonical else None
    session.add(
        IdentityVerification(
            conversation_id=conversation_id,
            channel=channel,
            account_id=account.id if account is not None else None,
            account_no=account.account_no if verified and account is not None else None,
            account_masked=masked,
            success=verified,
            method=method,
            reason=reason,
            at=at,
        )
    )
    audit.record(
        session,
        actor=f"conversation:{conversation_id}",
        action="identity.verify",
        entity_type="account",
        entity_id=masked,
        channel=channel,
        after={"verified": verified, "method": method, "reason": reason, "account_masked": masked},
    )
    session.flush()
    if verified and account is not None:
        return VerificationResult(True, account.account_no, mask_account_no(account.account_no), None)
    return VerificationResult(False, None, None, reason)


def is_verified(
    session: Session,
    *,
    conversation_id: str,
    account_no: str,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> bool:
    ttl = get_settings().verification_ttl_minutes if ttl_minutes is None else ttl_minutes
    cutoff = (now or utcnow()) - timedelta(minutes=ttl)
    found = session.scalar(
        select(IdentityVerification.id)
        .where(
            IdentityVerification.conversation_id == conversation_id,
            IdentityVerification.account_no == account_no,
            IdentityVerification.success.is_(True),
            IdentityVerification.at >= cutoff,
        )
        .limit(1)
    )
    return found is not None


def get_balance(
    session: Session,
    *,
    conversation_id: str,
    account_no: str,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> BalanceView:
    """Balance for a verified conversation. Raises NotVerified (also for a malformed number) or
    AccountNotFound (only reachable after verification, so existence is not leaked)."""
    try:
        canonical = normalise_account_no(account_no)
    except InvalidAccountNo as error:
        raise NotVerified("not verified for this account") from error
    if not is_verified(
        session, conversation_id=conversation_id, account_no=canonical, now=now, ttl_minutes=ttl_minutes
    ):
        raise NotVerified("not verified for this account")
    account = session.scalars(select(Account).where(Account.account_no == canonical)).first()
    if account is None:
        raise AccountNotFound(canonical)
    customer: Customer = account.customer
    return BalanceView(
        account_no=account.account_no,
        account_masked=mask_account_no(account.account_no),
        holder_masked=mask_name(customer.name),
        payment_mode=account.payment_mode,
        balance_yuan=account.balance_yuan,
        arrears_yuan=account.arrears_yuan,
        supply_status=account.supply_status,
        suspended_since=account.suspended_since,
        address_masked=mask_address(account.address),
    )
