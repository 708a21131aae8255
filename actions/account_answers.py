"""Answer an account question now if its account is verified, else after verify_form.

The same decision as the balance action (actions/billing.py), for any intent: the account named in
the message, or the single account verified in this session; a message carrying number and factor
is verified on the spot. The customer's words are kept in `pending_request` so that the answer
after verification still knows which month or what was asked ("去年腊月", "咋恁贵").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.backend_client import AccountNotFound, BackendError, NotVerified
from actions.billing import start_verification
from actions.forms import latest_entity_value
from actions.identity import PENDING_ANSWERS
from actions.verification import (
    ACCOUNT_NO,
    PENDING_INTENT,
    VERIFIED_ACCOUNTS,
    Outcome,
    account_named_in_latest_message,
    factor_in_latest_message,
    is_locked_out,
    verified_accounts,
    verify,
)

logger = logging.getLogger(__name__)

PENDING_REQUEST = "pending_request"
# (dispatcher, tracker, canonical account number, the customer's request text) -> events
Answer = Callable[[CollectingDispatcher, Tracker, str, str], Awaitable[list[EventType]]]


def request_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def register(intent: str, answer: Answer) -> None:
    """Make `answer` what action_after_verification gives once verify_form succeeds for `intent`."""

    async def after_verification(
        dispatcher: CollectingDispatcher, tracker: Tracker, account_no: str
    ) -> list[EventType]:
        text = tracker.get_slot(PENDING_REQUEST) or ""
        return [SlotSet(PENDING_REQUEST, None)] + await guarded(
            intent, answer, dispatcher, tracker, account_no, text
        )

    PENDING_ANSWERS[intent] = after_verification


def verify_first(account_no: str | None, intent: str, text: str) -> list[EventType]:
    return [SlotSet(PENDING_REQUEST, text), *start_verification(account_no, intent)]


async def guarded(
    intent: str,
    answer: Answer,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    account_no: str,
    text: str,
) -> list[EventType]:
    """Run the answer; an expired verification asks again, a backend failure offers a human."""
    try:
        return await answer(dispatcher, tracker, account_no, text)
    except NotVerified:
        remaining = [acc for acc in verified_accounts(tracker) if acc != account_no]
        return [SlotSet(VERIFIED_ACCOUNTS, remaining), *verify_first(account_no, intent, text)]
    except AccountNotFound:
        replies.offer_human(dispatcher, replies.ACCOUNT_DATA_MISSING)
        return []
    except BackendError as exc:
        logger.warning("%s unavailable: %s", intent, exc)
        replies.offer_human(dispatcher, replies.BACKEND_DOWN)
        return []


async def answer_or_verify(
    dispatcher: CollectingDispatcher, tracker: Tracker, intent: str, answer: Answer
) -> list[EventType]:
    """The whole entry decision of an account question."""
    text = request_text(tracker)
    if is_locked_out(tracker):
        replies.offer_human(dispatcher, replies.LOCKED_OUT)
        return []
    named = account_named_in_latest_message(tracker)
    verified = verified_accounts(tracker)
    if named and named in verified:
        return [SlotSet(ACCOUNT_NO, named)] + await guarded(intent, answer, dispatcher, tracker, named, text)
    factor = factor_in_latest_message(tracker)
    if named and factor:
        attempt = await verify(tracker, named, factor)
        if attempt.outcome is Outcome.VERIFIED and attempt.account_no:
            return attempt.events + await guarded(
                intent, answer, dispatcher, tracker, attempt.account_no, text
            )
        if attempt.outcome is Outcome.BACKEND_DOWN:
            replies.offer_human(dispatcher, replies.BACKEND_DOWN)
            return []
        if attempt.locked_out:
            replies.offer_human(dispatcher, replies.LOCKED_OUT)
            return [*attempt.events, SlotSet(ACCOUNT_NO, None), SlotSet(PENDING_INTENT, None)]
        if attempt.outcome is Outcome.MISMATCH:
            dispatcher.utter_message(text=replies.VERIFY_MISMATCH)
            return attempt.events + verify_first(None, intent, text)
        return verify_first(named, intent, text)
    if named:
        return verify_first(named, intent, text)
    typed = latest_entity_value(tracker, ACCOUNT_NO)
    if typed:
        return verify_first(typed, intent, text)
    if len(verified) == 1:
        return await guarded(intent, answer, dispatcher, tracker, verified[0], text)
    return verify_first(None, intent, text)
