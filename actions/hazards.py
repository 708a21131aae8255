"""report_hazard: safety first, then the place, then an urgent order flagged for a person.

The order of a hazard conversation is fixed by data/rules/hazards.yml and owes nothing to
this action server:
1. `utter_hazard_safety` (a domain response: Rasa serves it itself, before any custom action
   and any backend call, so it goes out even when the action server or api/ is down);
2. `utter_hazard_where` (also a domain response) asks for the location; `hazard_form` then waits
   for it (no validation action; its ask action below stays silent right after that question);
3. only then `action_report_hazard` (this module) creates the urgent order.
No identity verification, ever. If the order cannot be created, the customer is told to call
95598 with the location, and the safety message is repeated in short.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.backend_client import BackendError, get_backend_client
from actions.handoff import hand_over
from actions.verification import channel_of

logger = logging.getLogger(__name__)

HAZARD_LOCATION = "hazard_location"
HAZARD_INTENT = "report_hazard"

SAFETY_REMINDER = (
    "请继续远离危险地点（室外至少8米），不要触碰电线和设备，看住现场别让人和牲畜靠近；有人受伤请马上拨打120。"
)
HAZARD_REGISTERED = (
    "已为您登记紧急抢修（险情）工单，工单号：{ticket_no}。工单已按最高优先级处理，并已通知值班人员立即安排处置，"
    "工作人员可能会打电话跟您核实情况。"
)
HAZARD_NOT_REGISTERED = (
    "抱歉，险情登记系统暂时连接不上。请您现在就拨打" + replies.HOTLINE + "供电服务热线（24小时），"
    "告诉工作人员位置：{location}。"
)


def hazard_description(tracker: Tracker) -> str | None:
    """The customer's own words about the danger: the message that started the report."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent == HAZARD_INTENT:
            text = str(event.get("text") or "").strip()
            return text[:300] or None
    return None


class ActionReportHazard(Action):
    def name(self) -> str:
        return "action_report_hazard"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        location = str(tracker.get_slot(HAZARD_LOCATION) or "").strip()[:200] or "（客户未说明）"
        body: dict[str, Any] = {
            "conversation_id": tracker.sender_id,
            "channel": channel_of(tracker),
            "location": location,
            "description": hazard_description(tracker),
        }
        try:
            order = await get_backend_client().report_hazard(**body)
        except BackendError as exc:
            logger.error("hazard order could not be created: %s", exc)
            dispatcher.utter_message(text=HAZARD_NOT_REGISTERED.format(location=location) + SAFETY_REMINDER)
        else:
            dispatcher.utter_message(
                text=HAZARD_REGISTERED.format(ticket_no=order.get("ticket_no")) + SAFETY_REMINDER
            )
        # A hazard always reaches a person at once, at the top of the queue, order or not.
        handoff = await hand_over(dispatcher, tracker, reason="hazard", priority="hazard")
        return [SlotSet(HAZARD_LOCATION, None), *handoff]


WHERE_QUESTION = "请告诉我出事的具体位置"


class ActionAskHazardLocation(Action):
    """hazard_form's ask action: silent right after utter_hazard_where, so the question is not doubled."""

    def name(self) -> str:
        return "action_ask_hazard_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        last_bot = next((e for e in reversed(tracker.events) if e.get("event") == "bot"), None)
        if last_bot is None or WHERE_QUESTION not in str(last_bot.get("text") or ""):
            dispatcher.utter_message(response="utter_hazard_where")
        return []
