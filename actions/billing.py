"""Balance questions: `action_query_balance` and the answer it shares with the identity flow."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.backend_client import (
    AccountNotFound,
    BackendError,
    Balance,
    NotVerified,
    get_backend_client,
)
from actions.customer_input import IdentityFactor
from actions.forms import latest_entity_value
from actions.verification import (
    ACCOUNT_NO,
    IDENTITY_CHECK,
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

QUERY_BALANCE = "query_balance"
VERIFY_FORM = "verify_form"

# China has had no daylight saving since 1991, so a fixed offset is exact.
BEIJING = timezone(timedelta(hours=8))
ZERO = Decimal("0")


def _yuan(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _beijing_time(moment: datetime) -> str:
    if moment.tzinfo is None:  # the API stores UTC; SQLite may drop the offset
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(BEIJING)
    return f"{local.year}年{local.month}月{local.day}日{local:%H:%M}"


def format_balance(balance: Balance) -> str:
    """One message: masked account and holder, balance, and arrears/supply where they matter."""
    text = (
        f"您的户号{balance.account_masked}（{balance.holder_masked}）当前余额{_yuan(balance.balance_yuan)}元"
    )
    if balance.arrears_yuan > ZERO:
        text += f"，欠费{_yuan(balance.arrears_yuan)}元"
    if balance.supply_status == "suspended_for_arrears":
        since = (
            f"已于{_beijing_time(balance.suspended_since)}因欠费暂停供电"
            if balance.suspended_since
            else "目前因欠费暂停供电"
        )
        # A configured, dated hint wins; otherwise we promise no restoration time.
        return f"{text}，{since}。{balance.restore_hint or replies.RESTORE_SUPPLY}"
    if balance.is_suspended:
        return f"{text}，目前暂停供电。如需了解原因，请拨打{replies.HOTLINE}或转人工客服。"
    if balance.arrears_yuan > ZERO:
        return (
            f"{text}。请尽快缴清欠费，以免影响正常用电：可以通过网上国网App、微信公众号或到供电营业厅缴费。"
        )
    return f"{text}，供电正常。"


def start_verification(account_no: str | None, pending_intent: str) -> list[EventType]:
    """Hand over to verify_form, asking for `account_no`'s own verification when given."""
    return [
        SlotSet(ACCOUNT_NO, account_no),
        SlotSet(IDENTITY_CHECK, None),
        SlotSet(PENDING_INTENT, pending_intent),
        FollowupAction(VERIFY_FORM),
    ]


async def answer_balance(
    dispatcher: CollectingDispatcher, tracker: Tracker, account_no: str
) -> list[EventType]:
    """Tell the balance of a verified account; shared by the balance action and the form."""
    try:
        balance = await get_backend_client().get_balance(
            account_no=account_no, conversation_id=tracker.sender_id
        )
    except NotVerified:
        # The API's verification window (VERIFICATION_TTL_MINUTES) ended before the
        # session did: forget the stale verification and ask again for this account.
        remaining = [acc for acc in verified_accounts(tracker) if acc != account_no]
        return [SlotSet(VERIFIED_ACCOUNTS, remaining), *start_verification(account_no, QUERY_BALANCE)]
    except AccountNotFound:
        replies.offer_human(dispatcher, replies.ACCOUNT_DATA_MISSING)
        return []
    except BackendError as exc:
        logger.warning("balance lookup unavailable: %s", exc)
        replies.offer_human(dispatcher, replies.BACKEND_DOWN)
        return []
    dispatcher.utter_message(text=format_balance(balance))
    return []


class ActionQueryBalance(Action):
    """Answers "how much is left / do I owe" once the asked-about account is verified."""

    def name(self) -> str:
        return "action_query_balance"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if is_locked_out(tracker):
            replies.offer_human(dispatcher, replies.LOCKED_OUT)
            return []

        named = account_named_in_latest_message(tracker)
        verified = verified_accounts(tracker)

        if named and named in verified:
            return [SlotSet(ACCOUNT_NO, named)] + await answer_balance(dispatcher, tracker, named)

        factor = factor_in_latest_message(tracker)
        if named and factor:
            return await self._verify_inline_and_answer(dispatcher, tracker, named, factor)
        if named:
            return start_verification(named, QUERY_BALANCE)
        typed = latest_entity_value(tracker, ACCOUNT_NO)
        if typed:
            # Something like an account number but not a valid one: the form explains the format.
            return start_verification(typed, QUERY_BALANCE)
        if len(verified) == 1:
            return await answer_balance(dispatcher, tracker, verified[0])
        return start_verification(None, QUERY_BALANCE)

    async def _verify_inline_and_answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        account_no: str,
        factor: IdentityFactor,
    ) -> list[EventType]:
        """Everything in one message ("户号3100000001 尾号1234 查余额"): no form needed."""
        attempt = await verify(tracker, account_no, factor)
        if attempt.outcome is Outcome.VERIFIED and attempt.account_no:
            return attempt.events + await answer_balance(dispatcher, tracker, attempt.account_no)
        if attempt.outcome is Outcome.BACKEND_DOWN:
            replies.offer_human(dispatcher, replies.BACKEND_DOWN)
            return []
        if attempt.locked_out:
            replies.offer_human(dispatcher, replies.LOCKED_OUT)
            return [*attempt.events, SlotSet(ACCOUNT_NO, None), SlotSet(PENDING_INTENT, None)]
        if attempt.outcome is Outcome.MISMATCH:
            dispatcher.utter_message(text=replies.VERIFY_MISMATCH)
            return attempt.events + start_verification(None, QUERY_BALANCE)
        # Malformed input the API refused to check: let the form ask step by step.
        return start_verification(account_no, QUERY_BALANCE)
