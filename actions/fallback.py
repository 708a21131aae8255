"""Two-stage fallback (data/rules/fallback.yml runs Rasa's `action_two_stage_fallback`).

Stage one, `action_default_ask_affirmation`: buttons for the two likeliest intents, in Chinese,
plus "都不是" (payload /out_of_scope, which Rasa reads as a denial). Stage two,
`action_default_ask_rephrase`: ask for other words. When that fails too (two low-confidence
messages in a row, or "都不是" twice), Rasa runs `action_default_fallback`, which offers the
hotline and a human instead of guessing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import replies

NLU_FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
REPORT_HAZARD = "report_hazard"
HAZARD_SAFETY_RESPONSE = "utter_hazard_safety"
MAX_CHOICES = 2

# Button titles for the intents a customer can be asked to choose between. Intents missing here
# (affirm, deny, inform, out_of_scope) are never offered: "您是想说'是'吗" helps nobody, and an
# out_of_scope button would read as "都不是" to Rasa.
INTENT_LABELS: dict[str, str] = {
    "greet": "打个招呼",
    "goodbye": "结束咨询",
    "thank": "表示感谢",
    "bot_challenge": "问我是不是机器人",
    "request_human": "转人工客服",
    "query_balance": "查电费余额/欠费",
    "query_bill": "查电费账单",
    "query_usage": "查用电量",
    "pay_bill": "怎么交电费",
    "query_outage": "查停电/来电时间",
    "report_fault": "报修：家里没电或电有故障",
    "report_hazard": "报告危险：电线断落、冒烟、有人触电",
    "apply_service": "办理用电业务（装表、增容、过户等）",
    "query_application": "查业务办理进度",
    "ask_tariff": "电价怎么算",
    "ask_tariff_advice": "哪种电价更划算",
    "complain": "投诉",
    "query_ticket": "查报修/投诉进度",
    "give_feedback": "提建议或表扬",
    "rate_service": "评价服务",
    "ask_service_info": "营业厅地址、时间和热线",
    "ask_energy_saving": "省电小建议",
}

ASK_WHICH = "抱歉，我不太确定您的意思。您是想办下面哪一件事？"
ASK_AGAIN = "抱歉，我没太明白您的意思，能换个说法再说一遍吗？"
NONE_OF_THESE = {"title": "都不是", "payload": f"/{OUT_OF_SCOPE}"}
ASK_REPHRASE = "好的，请您换个说法再说一遍，比如“电费还剩多少”“营业厅在哪”“电价咋算”。"
GIVE_UP = (
    "抱歉，我还是没能弄明白您的意思。"
    f"您可以拨打{replies.HOTLINE}供电服务热线（24小时），或者转人工客服为您服务。"
)


def likeliest_intents(latest_message: Mapping[str, Any], limit: int = MAX_CHOICES) -> list[str]:
    """The top intents of the NLU ranking that we can offer as a choice, best first."""
    ranking = latest_message.get("intent_ranking") or []
    chosen: list[str] = []
    for candidate in ranking:
        name = candidate.get("name")
        if name in INTENT_LABELS and name not in chosen:
            chosen.append(name)
        if len(chosen) == limit:
            break
    return chosen


def _payload(intent: str, latest_message: Mapping[str, Any]) -> str:
    """/intent plus the entities NLU found, so a click keeps e.g. the tariff type or account number."""
    entities: dict[str, Any] = {}
    for entity in latest_message.get("entities") or []:
        name, value = entity.get("entity"), entity.get("value")
        if name and value not in (None, "") and name not in entities:
            entities[name] = value
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}"


class ActionDefaultAskAffirmation(Action):
    """Stage one: "did you mean A or B?" with Chinese labels."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        latest = tracker.latest_message or {}
        choices = likeliest_intents(latest)
        if REPORT_HAZARD in choices:
            # It might be a danger to life: the safety instructions cannot wait for a button click.
            dispatcher.utter_message(response=HAZARD_SAFETY_RESPONSE)
        if not choices:
            # Nothing worth offering: a lone "都不是" button would only puzzle. Another unclear
            # message ends the fallback with the hotline and a human (two fallbacks in a row).
            dispatcher.utter_message(text=ASK_AGAIN)
            return []
        buttons = [{"title": INTENT_LABELS[i], "payload": _payload(i, latest)} for i in choices]
        dispatcher.utter_message(text=ASK_WHICH, buttons=[*buttons, NONE_OF_THESE])
        return []


class ActionDefaultAskRephrase(Action):
    """Stage two, after "都不是": ask for other words (with examples of what works)."""

    def name(self) -> str:
        return "action_default_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=ASK_REPHRASE)
        return []


class ActionDefaultFallback(Action):
    """The second failure (and Rasa's core fallback): straight to a person (issue 8), never a guess."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from actions.handoff import hand_over  # late import: actions.handoff reads GIVE_UP from here

        # As Rasa's own default: forget the message that was not understood, so it does not
        # steer the next prediction; then hand over to a person (two failures in a row).
        return [UserUtteranceReverted(), *await hand_over(dispatcher, tracker, reason="fallback")]
