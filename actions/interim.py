"""Honest interim answers for business intents whose own flows are not built yet.

Each answer says plainly what the assistant cannot do in this channel yet and where the customer
gets it done today (95598, 网上国网App, 营业厅, a human agent). When a capability's real flow
arrives, its rule replaces the interim rule in data/rules/interim.yml and its entry here goes
(outages, fault repair and hazards already have theirs: data/rules/outages.yml).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.forms import latest_entity_value, latest_intent

HOTLINE = replies.HOTLINE


def _apply_service_text(tracker: Tracker) -> str:
    business = latest_entity_value(tracker, "business_type")
    what = f"“{business}”" if business else "新装、增容、过户等用电业务"
    return (
        f"在这里办理{what}的功能还在建设中，我暂时不能为您受理申请。"
        f"您可以在网上国网App的“办电”里申请，或到供电营业厅办理；需要带哪些材料，可以拨打{HOTLINE}咨询，"
        "也可以转人工客服。"
    )


# Fixed texts, keyed by intent. (apply_service names the business asked about, see above.)
INTERIM_TEXTS: dict[str, str] = {
    "query_bill": (
        "在这里查电费账单明细的功能还在建设中，我暂时不能给您看账单。"
        "您可以在网上国网App里按月查看电费账单，或拨打" + HOTLINE + "、转人工客服查询。"
        "余额和欠费现在就能查：告诉我户号就可以。"
    ),
    "query_usage": (
        "在这里查用电量的功能还在建设中，我暂时查不了。"
        "网上国网App里可以看每天、每月的用电量和阶梯用电进度；也可以拨打" + HOTLINE + "或转人工客服查询。"
    ),
    "ask_tariff_advice": (
        "换哪种电价划不划算，要看您家的用电习惯和现行电价，我在这里暂时还不能为您测算。"
        "您可以拨打" + HOTLINE + "或到营业厅咨询，也可以转人工客服。"
        "想了解电价怎么算，可以问我“阶梯电价咋算”。"
    ),
    "query_application": (
        "在这里查业务办理进度的功能还在建设中，我暂时查不到。请拨打" + HOTLINE + "或转人工客服，"
        "提供申请时登记的户号或工单号查询。"
    ),
    "complain": (
        "很抱歉给您带来了不好的体验。在这里登记投诉的功能还在建设中，我暂时不能为您受理投诉。"
        "请拨打" + HOTLINE + "供电服务热线投诉，或转人工客服，由工作人员为您受理。"
    ),
    "query_ticket": (
        "在这里查报修、投诉进度的功能还在建设中，我暂时查不到。请拨打" + HOTLINE + "或转人工客服，"
        "提供工单号查询。"
    ),
    "give_feedback": (
        "谢谢您的意见！在这里登记建议和表扬的功能还在建设中，我暂时记录不了。"
        "您可以拨打" + HOTLINE + "反映，或转人工客服为您记录。"
    ),
    "rate_service": (
        "谢谢您的评价！在这里保存服务评价的功能还在建设中，这次评价我暂时记录不了。"
        "如果对服务有意见，欢迎拨打" + HOTLINE + "反映，或转人工客服。"
    ),
    "request_human": (
        "在线转接人工客服的功能还在接入中，我暂时不能在这里为您接通。"
        "请拨打" + HOTLINE + "供电服务热线（24小时），由人工客服为您服务。"
    ),
}
FALLBACK_TEXT = (
    "这件事我在这里暂时还办不了。请拨打" + HOTLINE + "供电服务热线（24小时），或转人工客服为您办理。"
)

# Offering "转人工" in answer to "转人工" would only loop back to the same answer.
NO_HUMAN_BUTTON = frozenset({"request_human"})


def interim_text(intent: str | None, tracker: Tracker) -> str:
    if intent == "apply_service":
        return _apply_service_text(tracker)
    return INTERIM_TEXTS.get(intent or "", FALLBACK_TEXT)


class ActionInterimAnswer(Action):
    """One action for every business intent whose flow is still to come."""

    def name(self) -> str:
        return "action_interim_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = latest_intent(tracker)
        text = interim_text(intent, tracker)
        if intent in NO_HUMAN_BUTTON:
            dispatcher.utter_message(text=text)
        else:
            replies.offer_human(dispatcher, text)
        return []
