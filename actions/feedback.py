"""give_feedback: suggestions and praise, recorded as their own kinds, thanked and routed.

`action_give_feedback` tells praise from a suggestion, keeps what the first message already says,
and starts `feedback_form` (what it is about, then a confirmation); `action_submit_feedback`
records it. The API routes praise to the praised worker's team (the 供电所 of the customer's
town, or the service hall) and suggestions to the customer service centre.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.backend_client import BackendError, NotVerified, get_backend_client
from actions.forms import REQUESTED_SLOT, BaseFormValidation, latest_intent
from actions.repairs import parse_confirmation
from actions.ticket_format import CAVEAT, time_text
from actions.verification import channel_of, verified_accounts

logger = logging.getLogger(__name__)

FEEDBACK_FORM = "feedback_form"
FEEDBACK_KIND = "feedback_kind"
FEEDBACK_DETAIL = "feedback_detail"
FEEDBACK_CONFIRMED = "feedback_confirmed"
FEEDBACK_SLOTS = (FEEDBACK_KIND, FEEDBACK_DETAIL, FEEDBACK_CONFIRMED)
PRAISE, SUGGESTION = "praise", "suggestion"
YES, NO = "yes", "no"

_PRAISE_WORDS = (
    "表扬",
    "点赞",
    "赞",
    "锦旗",
    "感谢",
    "谢谢",
    "好",
    "不赖",
    "耐心",
    "实在",
    "快",
    "方便",
    "夸",
)
_SUGGESTION_WORDS = ("建议", "意见", "希望", "能不能", "最好", "应该")
_GENERIC = re.compile(
    r"^(?:我|俺)?(?:想|要)?(?:给你们)?(?:提|有)(?:个|点|一点|一个)?(?:建议|意见)(?:想反映一下)?[。！!]*$"
)
# "李师傅", "老刘", "小王", "王师傅", "那闺女": who is praised, as the customer names them.
_WORKER = re.compile(
    r"([\u4e00-\u9fff]师傅|老[\u4e00-\u9fff]|小[\u4e00-\u9fff](?=[^\u4e00-\u9fff]|人|服务|态度|$))"
)
_TEAM_HINTS = (("营业厅", "营业厅"), ("抢修", "抢修"), ("修电", "抢修"), ("电工", "抢修"), ("抄表", "抄表"))

ASK_PRAISE = (
    "谢谢您！想表扬哪位工作人员（或哪个班组）？因为什么事？说说具体情况，我们会转达给本人和所在单位。"
)
ASK_SUGGESTION = "欢迎您提建议！请直接说说您的建议或意见。"
THANKS_PRAISE = "谢谢您的表扬！已记录（编号{ticket_no}），我们会转达给{who}所在的{team}。"
THANKS_SUGGESTION = "谢谢您的建议，已记录（编号{ticket_no}），会转交{team}研究。"
CANCELLED = "好的，这次先不记录。有意见建议随时告诉我。"
BACKEND_DOWN = "抱歉，暂时没能记录下来。您可以稍后再试，或拨打" + replies.HOTLINE + "反映。"
CONFIRM_BUTTONS = [{"title": "确认", "payload": "/affirm"}, {"title": "先不提了", "payload": "/deny"}]


def feedback_kind(text: str) -> str:
    if any(word in text for word in _SUGGESTION_WORDS):
        return SUGGESTION
    return PRAISE if any(word in text for word in _PRAISE_WORDS) else SUGGESTION


def worker_named(text: str) -> str | None:
    match = _WORKER.search(text)
    return match.group(1) if match else None


def team_hint(text: str) -> str | None:
    return next((hint for word, hint in _TEAM_HINTS if word in text), None)


def is_descriptive(text: str) -> bool:
    compact = re.sub(r"\s+", "", text)
    return len(compact) >= 4 and not _GENERIC.match(compact)


class ActionGiveFeedback(Action):
    def name(self) -> str:
        return "action_give_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "").strip()
        events: list[EventType] = [SlotSet(slot, None) for slot in FEEDBACK_SLOTS]
        events.append(SlotSet(FEEDBACK_KIND, feedback_kind(text)))
        if is_descriptive(text):
            events.append(SlotSet(FEEDBACK_DETAIL, text[:500]))
        return [*events, FollowupAction(FEEDBACK_FORM)]


class ValidateFeedbackForm(BaseFormValidation):
    def name(self) -> str:
        return "validate_feedback_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return [] if tracker.get_slot(FEEDBACK_CONFIRMED) == NO else domain_slots

    async def validate_feedback_detail(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        text = str(slot_value).strip()
        if tracker.get_slot(REQUESTED_SLOT) == FEEDBACK_DETAIL and latest_intent(tracker) == "deny":
            return {FEEDBACK_DETAIL: text, FEEDBACK_CONFIRMED: NO}
        return {FEEDBACK_DETAIL: text[:500] if len(text) >= 2 else None}

    async def validate_feedback_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value in (YES, NO):
            return {FEEDBACK_CONFIRMED: slot_value}
        if slot_value is None:
            return {}
        verdict = parse_confirmation(str(slot_value), latest_intent(tracker))
        if verdict is None:
            dispatcher.utter_message(text="需要记录吗？请回复“确认”或“先不提了”。", buttons=CONFIRM_BUTTONS)
        return {FEEDBACK_CONFIRMED: verdict}


class ActionAskFeedbackDetail(Action):
    def name(self) -> str:
        return "action_ask_feedback_detail"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        praise = tracker.get_slot(FEEDBACK_KIND) == PRAISE
        dispatcher.utter_message(text=ASK_PRAISE if praise else ASK_SUGGESTION)
        return []


class ActionAskFeedbackConfirmed(Action):
    def name(self) -> str:
        return "action_ask_feedback_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        label = "表扬" if tracker.get_slot(FEEDBACK_KIND) == PRAISE else "建议"
        text = f"请确认，您的{label}：{tracker.get_slot(FEEDBACK_DETAIL)}\n确认记录吗？"
        dispatcher.utter_message(text=text, buttons=CONFIRM_BUTTONS)
        return []


class ActionSubmitFeedback(Action):
    def name(self) -> str:
        return "action_submit_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        cleared: list[EventType] = [SlotSet(slot, None) for slot in FEEDBACK_SLOTS]
        if tracker.get_slot(FEEDBACK_CONFIRMED) != YES:
            dispatcher.utter_message(text=CANCELLED)
            return cleared
        kind = tracker.get_slot(FEEDBACK_KIND) or SUGGESTION
        detail = str(tracker.get_slot(FEEDBACK_DETAIL) or "")
        worker = worker_named(detail) if kind == PRAISE else None
        verified = verified_accounts(tracker)
        body: dict[str, Any] = {
            "conversation_id": tracker.sender_id,
            "channel": channel_of(tracker),
            "kind": kind,
            "category": "表扬" if kind == PRAISE else "意见建议",
            "summary": detail,
            "account_no": verified[-1] if verified else None,
            "details": {"worker": worker, "team_hint": team_hint(detail)},
        }
        client = get_backend_client()
        try:
            try:
                order = await client.lodge_work_order(**body)
            except NotVerified:
                order = await client.lodge_work_order(**{**body, "account_no": None})
        except BackendError as exc:
            logger.warning("feedback not recorded: %s", exc)
            replies.offer_human(dispatcher, BACKEND_DOWN)
            return cleared
        team = order.get("handler") or "相关部门"
        if kind == PRAISE:
            text = THANKS_PRAISE.format(
                ticket_no=order["ticket_no"], who=worker or "被表扬的工作人员", team=team
            )
        else:
            text = THANKS_SUGGESTION.format(ticket_no=order["ticket_no"], team=team)
            answer = time_text(order.get("answer_due_at"))
            if answer:
                text += f"需要答复的，会在{answer}前答复您（{CAVEAT}）。"
        dispatcher.utter_message(text=text)
        return cleared
