"""Console staff: accounts (agent | supervisor | admin), Argon2id passwords, lock-out, sessions.

Lock-out counts consecutive failures per account; after MAX_FAILED_LOGINS the account refuses
even the right password until LOCKOUT_MINUTES have passed, so guessing costs real time. Failures
for unknown usernames still run one Argon2 verification, so timing does not reveal which names
exist. Sessions are random 256-bit tokens; only their SHA-256 is stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clock import utcnow
from backend.models_handoff import StaffAccount, StaffSession
from backend.services import audit

ROLES = ("agent", "supervisor", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
MAX_FAILED_LOGINS = 5
LOCKOUT_MINUTES = 15
SESSION_HOURS = 12

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class LoginFailed(Exception):
    """Wrong username or password (deliberately not saying which)."""


class AccountLocked(Exception):
    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


@dataclass(frozen=True)
class StaffIdentity:
    """What a request knows about the logged-in person."""

    pk: int
    username: str
    display_name: str
    role: str
    queue: str
    csrf_token: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.username}"

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_staff(
    session: Session, *, username: str, display_name: str, role: str, password: str, queue: str = "general"
) -> StaffAccount:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    account = StaffAccount(
        username=username,
        display_name=display_name,
        role=role,
        queue=queue,
        password_hash=hash_password(password),
        failed_logins=0,
        active=True,
    )
    session.add(account)
    session.flush()
    return account


def find_staff(session: Session, username: str) -> StaffAccount | None:
    return session.scalars(select(StaffAccount).where(StaffAccount.username == username)).first()


def authenticate(
    session: Session, username: str, password: str, *, now: datetime | None = None
) -> StaffAccount:
    """The account if the password is right and it is not locked; every attempt is audited."""
    now = now or utcnow()
    account = find_staff(session, username)
    if account is None or not account.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)  # same cost as a real check: timing reveals nothing
        audit.record(
            session,
            actor=f"staff:{username[:40]}",
            action="staff.login_failed",
            entity_type="staff",
            entity_id=None,
            channel="console",
            after={"reason": "unknown"},
        )
        raise LoginFailed()
    if account.locked_until is not None and account.locked_until > now:
        audit.record(
            session,
            actor=f"staff:{account.username}",
            action="staff.login_refused",
            entity_type="staff",
            entity_id=account.username,
            channel="console",
            after={"reason": "locked", "until": account.locked_until.isoformat()},
        )
        raise AccountLocked(account.locked_until)
    try:
        _hasher.verify(account.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        account.failed_logins += 1
        after: dict[str, object] = {"reason": "password", "failures": account.failed_logins}
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.locked_until = now + timedelta(minutes=LOCKOUT_MINUTES)
            account.failed_logins = 0
            after["locked_until"] = account.locked_until.isoformat()
        audit.record(
            session,
            actor=f"staff:{account.username}",
            action="staff.login_failed",
            entity_type="staff",
            entity_id=account.username,
            channel="console",
            after=after,
        )
        if account.locked_until is not None and account.locked_until > now:
            raise AccountLocked(account.locked_until) from None
        raise LoginFailed() from None
    account.failed_logins = 0
    account.locked_until = None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    audit.record(
        session,
        actor=f"{account.role}:{account.username}",
        action="staff.login",
        entity_type="staff",
        entity_id=account.username,
        channel="console",
    )
    return account


def open_session(session: Session, account: StaffAccount, *, now: datetime | None = None) -> tuple[str, str]:
    """(cookie token, CSRF token) for a fresh login."""
    now = now or utcnow()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(
        StaffSession(
            token_hash=_token_hash(token),
            staff_pk=account.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(hours=SESSION_HOURS),
            revoked=False,
        )
    )
    session.flush()
    return token, csrf


def identify(session: Session, token: str | None, *, now: datetime | None = None) -> StaffIdentity | None:
    if not token:
        return None
    now = now or utcnow()
    row = session.execute(
        select(StaffSession, StaffAccount)
        .join(StaffAccount, StaffAccount.id == StaffSession.staff_pk)
        .where(StaffSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    staff_session, account = row
    if staff_session.revoked or staff_session.expires_at <= now or not account.active:
        return None
    return StaffIdentity(
        pk=account.id,
        username=account.username,
        display_name=account.display_name,
        role=account.role,
        queue=account.queue,
        csrf_token=staff_session.csrf_token,
    )


def close_session(session: Session, token: str) -> None:
    staff_session = session.scalars(
        select(StaffSession).where(StaffSession.token_hash == _token_hash(token))
    ).first()
    if staff_session is not None:
        staff_session.revoked = True


def list_staff(session: Session) -> list[StaffAccount]:
    return list(
        session.scalars(
            select(StaffAccount).where(StaffAccount.active.is_(True)).order_by(StaffAccount.username)
        )
    )


# Demo accounts: only created by the demo seed (backend/seed_staff.py); passwords are in the README.
DEMO_STAFF: tuple[tuple[str, str, str, str, str], ...] = (
    # username, display name, role, queue, password
    ("agent", "李客服", "agent", "general", "agent-demo-2026"),
    ("agent2", "赵客服", "agent", "complaint", "agent2-demo-2026"),
    ("supervisor", "王班长", "supervisor", "general", "supervisor-demo-2026"),
)


def seed_demo_staff(session: Session) -> int:
    """Create the demo accounts that do not exist yet; returns how many were created."""
    created = 0
    for username, display_name, role, queue, password in DEMO_STAFF:
        if find_staff(session, username) is None:
            create_staff(
                session,
                username=username,
                display_name=display_name,
                role=role,
                password=password,
                queue=queue,
            )
            created += 1
    return created
