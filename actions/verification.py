"""Session verification state and the one place that asks the backend to verify.

Verification is per session (the slots are not carried over) and per account:
`verified_accounts` lists the canonical numbers this session has proven. The API
keeps its own record keyed by conversation id, so a balance is only released to
the conversation that verified.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import Enum

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions.backend_client import BackendError, get_backend_client
from actions.customer_input import IdentityFactor, canonical_account_no, parse_identity_factor
from actions.forms import latest_entity_value

logger = logging.getLogger(__name__)

MAX_VERIFICATION_FAILURES = 3
DEFAULT_CHANNEL = "rest"

ACCOUNT_NO = "account_no"
IDENTITY_CHECK = "identity_check"
VERIFIED_ACCOUNTS = "verified_accounts"
VERIFICATION_FAILURES = "verification_failures"
PENDING_INTENT = "pending_intent"


def verified_accounts(tracker: Tracker) -> list[str]:
    value = tracker.get_slot(VERIFIED_ACCOUNTS)
    return [str(item) for item in value] if isinstance(value, list) else []


def verification_failures(tracker: Tracker) -> int:
    value = tracker.get_slot(VERIFICATION_FAILURES)
    try:
        return int(float(value)) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def is_locked_out(tracker: Tracker) -> bool:
    return verification_failures(tracker) >= MAX_VERIFICATION_FAILURES


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or DEFAULT_CHANNEL


def account_named_in_latest_message(tracker: Tracker) -> str | None:
    return canonical_account_no(latest_entity_value(tracker, "account_no"))


def factor_in_latest_message(tracker: Tracker) -> IdentityFactor | None:
    """An identity factor NLU found in the latest message (phone_last4 or person_name)."""
    last4 = latest_entity_value(tracker, "phone_last4")
    if last4:
        parsed = parse_identity_factor(last4)
        if parsed and parsed.phone_last4:
            return parsed
    name = latest_entity_value(tracker, "person_name")
    if name:
        parsed = parse_identity_factor(name)
        if parsed and parsed.name:
            return parsed
    return None


class Outcome(Enum):
    VERIFIED = "verified"
    MISMATCH = "mismatch"
    INVALID_ACCOUNT_NO = "invalid_account_no"
    MISSING_FACTOR = "missing_factor"
    BACKEND_DOWN = "backend_down"


@dataclass
class VerificationAttempt:
    outcome: Outcome
    account_no: str | None = None  # canonical, only when verified
    failures: int = 0  # failures in this session after this attempt
    events: list[EventType] = field(default_factory=list)

    @property
    def locked_out(self) -> bool:
        return self.failures >= MAX_VERIFICATION_FAILURES


async def verify(tracker: Tracker, account_no: str, factor: IdentityFactor) -> VerificationAttempt:
    """Ask the backend; return the outcome and the slot events that record it."""
    try:
        result = await get_backend_client().verify_identity(
            conversation_id=tracker.sender_id,
            channel=channel_of(tracker),
            account_no=account_no,
            phone_last4=factor.phone_last4,
            name=factor.name,
        )
    except BackendError as exc:
        logger.warning("identity verification unavailable: %s", exc)
        return VerificationAttempt(Outcome.BACKEND_DOWN, failures=verification_failures(tracker))

    if result.verified:
        canonical = result.account_no or account_no
        already = verified_accounts(tracker)
        return VerificationAttempt(
            Outcome.VERIFIED,
            account_no=canonical,
            events=[
                SlotSet(ACCOUNT_NO, canonical),
                SlotSet(VERIFIED_ACCOUNTS, already if canonical in already else [*already, canonical]),
                SlotSet(VERIFICATION_FAILURES, 0.0),
            ],
        )
    if result.reason in (Outcome.INVALID_ACCOUNT_NO.value, Outcome.MISSING_FACTOR.value):
        # Malformed input, not a wrong answer: it reveals nothing and does not count.
        return VerificationAttempt(Outcome(result.reason), failures=verification_failures(tracker))
    failures = verification_failures(tracker) + 1
    return VerificationAttempt(
        Outcome.MISMATCH,
        failures=failures,
        events=[SlotSet(VERIFICATION_FAILURES, float(failures))],
    )
