"""Identity verification: the verify_form validator, its ask actions, and what follows it.

A customer proves an account with its number plus the last four digits of the
registered phone or the holder's name. Verification lasts for the session and
covers only the accounts in `verified_accounts`. A failed attempt never says
whether the account exists; after three failures the bot stops asking.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.billing import QUERY_BALANCE, answer_balance
from actions.customer_input import (
    IdentityFactor,
    canonical_account_no,
    digit_runs,
    mask_account_no,
    parse_identity_factor,
)
from actions.forms import REQUESTED_SLOT, BaseFormValidation, FixedQuestion, latest_entity_value
from actions.verification import (
    ACCOUNT_NO,
    IDENTITY_CHECK,
    PENDING_INTENT,
    Outcome,
    factor_in_latest_message,
    is_locked_out,
    verified_accounts,
    verify,
)

logger = logging.getLogger(__name__)

# What to answer once verification succeeds, keyed by the intent that asked for it.
# Other capabilities (bills, usage, tickets) add their answer function here.
PendingAnswer = Callable[[CollectingDispatcher, Tracker, str], Awaitable[list[EventType]]]
PENDING_ANSWERS: dict[str, PendingAnswer] = {QUERY_BALANCE: answer_balance}


def _factor_text(factor: IdentityFactor) -> str:
    # Stored back into identity_check in a form parse_identity_factor reads unambiguously.
    return factor.phone_last4 or factor.name or ""


class ValidateVerifyForm(BaseFormValidation):
    """Normalises account_no and identity_check, then verifies once both are present."""

    @property
    def answer_intents(self) -> frozenset[str]:  # type: ignore[override]
        # The question that started the form (any intent with a pending answer, e.g. query_bill)
        # is still the latest message when the form first runs: it is not an interruption.
        return frozenset({"inform", "affirm", "nlu_fallback", QUERY_BALANCE, *PENDING_ANSWERS})

    def name(self) -> str:
        return "validate_verify_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if is_locked_out(tracker):
            return []  # stop asking; action_after_verification offers the hotline or a human
        account = canonical_account_no(tracker.get_slot(ACCOUNT_NO))
        if account and account in verified_accounts(tracker):
            return [ACCOUNT_NO]  # already proven in this session: no second factor
        return domain_slots

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        logger.debug("verify_form candidates: %s", sorted(tracker.slots_to_validate()))
        if self.is_interruption(tracker, [IDENTITY_CHECK]) and not self._carries_identity(tracker):
            return self.reject([IDENTITY_CHECK])
        return await super().run(dispatcher, tracker, domain)

    def _carries_identity(self, tracker: Tracker) -> bool:
        text = tracker.latest_message.get("text") or ""
        return factor_in_latest_message(tracker) is not None or parse_identity_factor(text) is not None

    async def extract_account_no(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Digits typed without NLU recognising an account number still get validated,
        so a wrong length is explained rather than silently ignored."""
        if tracker.get_slot(REQUESTED_SLOT) != ACCOUNT_NO:
            return {}
        if latest_entity_value(tracker, ACCOUNT_NO):
            return {}
        text = tracker.latest_message.get("text") or ""
        return {ACCOUNT_NO: text} if digit_runs(text) else {}

    async def extract_identity_check(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep a factor given together with the account number ("3100000001 尾号1234")."""
        if tracker.get_slot(REQUESTED_SLOT) == IDENTITY_CHECK:
            return {}  # the domain's mappings already cover this turn
        factor = factor_in_latest_message(tracker)
        return {IDENTITY_CHECK: _factor_text(factor)} if factor else {}

    async def validate_account_no(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if slot_value is None:
            # Rasa also offers slots our own actions just cleared as "candidates".
            return {}
        account = canonical_account_no(str(slot_value))
        if account is None:
            dispatcher.utter_message(text=replies.ACCOUNT_NO_FORMAT)
            return {ACCOUNT_NO: None}
        return {ACCOUNT_NO: account}

    async def validate_identity_check(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}  # cleared by one of our actions, not typed by the customer
        factor = factor_in_latest_message(tracker) or parse_identity_factor(str(slot_value))
        if factor is None and latest_entity_value(tracker, ACCOUNT_NO):
            return {IDENTITY_CHECK: None}  # a (new) account number, not a wrong factor
        if factor is None:
            dispatcher.utter_message(text=replies.IDENTITY_CHECK_FORMAT)
            return {IDENTITY_CHECK: None}
        return {IDENTITY_CHECK: _factor_text(factor)}

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().get_validation_events(dispatcher, tracker, domain)
        # The SDK has already copied the validated values into tracker.slots.
        return events + await self._verify_when_complete(dispatcher, tracker)

    async def _verify_when_complete(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        account = canonical_account_no(tracker.get_slot(ACCOUNT_NO))
        factor = parse_identity_factor(tracker.get_slot(IDENTITY_CHECK))
        if is_locked_out(tracker) or not account or not factor:
            return []
        if account in verified_accounts(tracker):
            return []

        attempt = await verify(tracker, account, factor)
        if attempt.outcome is Outcome.VERIFIED:
            return attempt.events
        if attempt.outcome is Outcome.BACKEND_DOWN:
            replies.offer_human(dispatcher, replies.BACKEND_DOWN)
            # Asking again cannot help while the backend is away: end the form quietly.
            return [SlotSet(IDENTITY_CHECK, None), ActiveLoop(None)]
        if attempt.outcome is Outcome.MISSING_FACTOR:
            dispatcher.utter_message(text=replies.IDENTITY_CHECK_FORMAT)
            return [SlotSet(IDENTITY_CHECK, None)]
        if attempt.outcome is Outcome.INVALID_ACCOUNT_NO:
            dispatcher.utter_message(text=replies.ACCOUNT_NO_FORMAT)
            return [SlotSet(ACCOUNT_NO, None), SlotSet(IDENTITY_CHECK, None)]
        if not attempt.locked_out:
            # Same words whether the account is unknown or the factor wrong.
            dispatcher.utter_message(text=replies.VERIFY_MISMATCH)
        return [*attempt.events, SlotSet(ACCOUNT_NO, None), SlotSet(IDENTITY_CHECK, None)]


class ActionAskAccountNo(FixedQuestion):
    text = replies.ASK_ACCOUNT_NO

    def name(self) -> str:
        return "action_ask_account_no"


class ActionAskIdentityCheck(Action):
    """Names the account being verified, so a second account is clearly asked for separately."""

    def name(self) -> str:
        return "action_ask_identity_check"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        account = canonical_account_no(tracker.get_slot(ACCOUNT_NO))
        if account:
            text = replies.ASK_IDENTITY_CHECK_FOR.format(account_masked=mask_account_no(account))
        else:
            text = replies.ASK_IDENTITY_CHECK
        dispatcher.utter_message(text=text)
        return []


class ActionAfterVerification(Action):
    """Runs when verify_form ends: answer what was asked, or offer the hotline/a human."""

    def name(self) -> str:
        return "action_after_verification"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        pending: str | None = tracker.get_slot(PENDING_INTENT)
        # The factor is single-use: the next verification must ask for it again.
        events: list[EventType] = [SlotSet(IDENTITY_CHECK, None), SlotSet(PENDING_INTENT, None)]

        if is_locked_out(tracker):
            replies.offer_human(dispatcher, replies.LOCKED_OUT)
            return [*events, SlotSet(ACCOUNT_NO, None)]

        account = canonical_account_no(tracker.get_slot(ACCOUNT_NO))
        if account and account in verified_accounts(tracker):
            answer = PENDING_ANSWERS.get(pending or "")
            if answer is None:
                dispatcher.utter_message(text=replies.VERIFIED_NOTHING_PENDING)
                return events
            return events + await answer(dispatcher, tracker, account)

        # Only reached when the form ended early because the backend was unreachable;
        # the customer has already been told and offered a human.
        return events
