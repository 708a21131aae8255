"""Handing a conversation to people: action_handoff, and `hand_over()` for other capabilities.

The action tells api/ (POST /api/v1/handoff) with a summary an agent reads first: the intents so
far, the filled slots (personal values masked), the verified account (masked) and the reason.
It always also emits a custom payload {"handoff": {...}} and returns ConversationPaused. The
router in api/ acts on that payload itself, so the handoff still happens when this action server
cannot reach the business API (the customer's channel runs through api/, which is up if the
customer can talk to us); the two reports are idempotent on the api side.

Other capabilities call `hand_over()`: the hazard flow with reason "hazard" (priority first), the
complaint flow when `shows_strong_anger()` is true, fallbacks and verification lock-outs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.backend_client import BackendError, get_backend_client
from actions.customer_input import mask_account_no

logger = logging.getLogger(__name__)

HANDOFF_CONFIG = Path(__file__).resolve().parent.parent / "config" / "handoff.yml"
REQUEST_HUMAN = "request_human"
MAX_INTENTS = 12
# Slots that are bookkeeping, not something an agent needs to read.
INTERNAL_SLOTS = frozenset(
    {"requested_slot", "session_started_metadata", "verified_accounts", "pending_intent"}
)
# Slot values that are personal data: shown to the agent masked (the full value is one audited
# click away in the console's customer panel).
_DIGITS = re.compile(r"\d")

CONNECTING = "正在为您转接人工客服。"
CONNECTING_OFFLINE = (
    "正在为您转接人工客服，请稍候。着急的话也可以直接拨打" + replies.HOTLINE + "供电服务热线（24小时）。"
)
REASON_OPENERS: dict[str, str] = {
    "customer_request": "好的，",
    "fallback": "抱歉，我还是没能弄明白您的意思（着急的话可以拨打" + replies.HOTLINE + "供电服务热线）。",
    "verification_failed": "身份验证没有通过，我请人工客服帮您核实。",
    "backend_unavailable": "查询系统暂时连接不上，我请人工客服帮您处理。",
    "angry_complaint": "非常抱歉给您带来不好的体验，我马上请人工客服来处理。",
    "hazard": "险情已优先转给值班人工客服跟进。",
}


@lru_cache(maxsize=1)
def _anger_lexicon() -> tuple[str, ...]:
    with HANDOFF_CONFIG.open(encoding="utf-8") as handle:
        raw: dict[str, Any] = yaml.safe_load(handle)
    return tuple(str(word) for word in raw.get("anger_lexicon") or ())


def shows_strong_anger(text: str | None) -> bool:
    """True when a complaint's wording shows strong anger (config/handoff.yml anger_lexicon)."""
    return bool(text) and any(word in str(text) for word in _anger_lexicon())


def channel_from_sender(sender_id: str) -> str:
    """api/ derives the Rasa sender from the channel (wx-, web-, ivr-); Rasa itself only sees "rest"."""
    for prefix, channel in (("wx-", "wechat"), ("web-", "web"), ("ivr-", "ivr")):
        if sender_id.startswith(prefix):
            return channel
    return "web"


def _masked(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if name == "account_no":
        return mask_account_no(text)
    if len(_DIGITS.findall(text)) >= 7:  # phone numbers and the like: last four only
        return "*" * max(0, len(text) - 4) + text[-4:]
    if name in ("identity_check", "person_name", "contact_name"):
        return "***"
    return text[:100]


def summarise(tracker: Tracker) -> dict[str, Any]:
    """What the bot learned, for the agent who takes over."""
    intents: list[str] = []
    last_message: str | None = None
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if name and (not intents or intents[-1] != name):
            intents.append(str(name))
        last_message = str(event.get("text") or "")[:300] or last_message
    slots = {
        name: _masked(name, value)
        for name, value in (tracker.current_slot_values() or {}).items()
        # Unset, empty and zero (e.g. verification_failures 0.0) tell the agent nothing.
        if name not in INTERNAL_SLOTS and value not in (None, "", [], {}, 0)
    }
    verified = tracker.get_slot("verified_accounts")
    account_masked = mask_account_no(str(verified[-1])) if isinstance(verified, list) and verified else None
    return {
        "intents": intents[-MAX_INTENTS:],
        "slots": slots,
        "account_masked": account_masked,
        "last_message": last_message,
    }


async def hand_over(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    reason: str,
    priority: str | None = None,
) -> list[EventType]:
    """Queue the conversation for a person, tell the customer, and pause the bot."""
    summary = summarise(tracker)
    opener = REASON_OPENERS.get(reason, "")
    registered = False
    try:
        answer: Mapping[str, Any] = await get_backend_client().request_handoff(
            conversation_id=tracker.sender_id,
            channel=channel_from_sender(tracker.sender_id),
            reason=reason,
            summary=summary,
            priority=priority,
        )
        registered = True
        dispatcher.utter_message(text=opener + CONNECTING + str(answer.get("message") or ""))
    except BackendError as exc:
        # The router queues the conversation from the payload below; the customer is still told.
        logger.error("handoff could not be registered by the action server: %s", exc)
        dispatcher.utter_message(text=opener + CONNECTING_OFFLINE)
    dispatcher.utter_message(
        json_message={
            "handoff": {"reason": reason, "priority": priority, "summary": summary, "registered": registered}
        }
    )
    return [ConversationPaused()]


def _reason_from_context(tracker: Tracker) -> str:
    """request_human after the bot's own offer: keep why the offer was made."""
    from actions.fallback import GIVE_UP

    last_bot = next((e for e in reversed(tracker.events) if e.get("event") == "bot"), None)
    text = str((last_bot or {}).get("text") or "")
    if text == replies.LOCKED_OUT:
        return "verification_failed"
    if text == replies.BACKEND_DOWN or "暂时连接不上" in text:
        return "backend_unavailable"
    if text == GIVE_UP:
        return "fallback"
    return "customer_request"


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await hand_over(dispatcher, tracker, reason=_reason_from_context(tracker))
