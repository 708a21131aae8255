"""ask_tariff_advice: the customer's cost over the last 12 months under the current tariff and each
alternative open to them, from their own usage, with a recommendation and the saving in 元 when
every price is known; where a price is missing, what can be computed (the known part, the
break-even price) and what would change in their habits. Verification first."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.account_answers import answer_or_verify, register
from actions.backend_client import get_backend_client
from actions.billing_format import BAND_WORDS, UNCONFIRMED_NOTICE, kwh, month, yuan

ASK_TARIFF_ADVICE = "ask_tariff_advice"
MISSING_WORDS = {
    "peak adjustment": "峰段每度加价多少",
    "valley adjustment": "谷段每度优惠多少",
    "flat price": "平段电价（每月按代理购电价格公布）",
    "non-floating part of the flat price": "政府性基金及附加",
    "valley ratio": "低谷电价比例",
    "critical_peak ratio": "尖峰电价比例",
    "price": "每度电价",
    "tiers": "阶梯电价",
}


def _missing(option: Mapping[str, Any]) -> str:
    return "、".join(MISSING_WORDS.get(m, m) for m in option.get("missing", []))


def option_text(index: int, option: Mapping[str, Any]) -> str:
    mark = "（您现在的方式）" if option.get("current") else ""
    head = f"{index}. {option['name']}{mark}："
    if option.get("available"):
        return head + f"共{yuan(option['total_yuan'])}元。"
    text = head + f"{_missing(option)}，我这里没有经过核实的数字，算不出总数。"
    known = option.get("known_adjustments") or []
    for item in known:
        per_kwh = Decimal(item["per_kwh"])
        band = BAND_WORDS.get(item["band"], item["band"])
        direction = "便宜" if per_kwh < 0 else "贵"
        text += (
            f"能算的部分：{band}每度{direction}{abs(per_kwh)}元（资料说法，尚未核实），您家{band}用电{kwh(item['kwh'])}度，"
            f"{'少' if per_kwh < 0 else '多'}交{yuan(abs(Decimal(item['amount_yuan'])))}元。"
        )
    if option.get("break_even_per_kwh") and known:
        band = BAND_WORDS.get(option["break_even_band"], option["break_even_band"])
        limit = Decimal(option["break_even_per_kwh"]).quantize(Decimal("0.01"))
        text += f"只要{band}每度加价不超过{limit}元，这种方式就比不办划算。"
    return text


def habits_text(body: Mapping[str, Any]) -> str:
    tips = []
    bands = body.get("band_kwh") or {}
    if "valley" in bands:
        tips.append("把洗衣、烧水、电动车充电这些能挪的用电放到谷段，谷段每度比平时便宜")
    if body.get("months_in_top_tier") and body.get("top_tier_price"):
        tips.append(
            f"过去{body['months']}个月里有{body['months_in_top_tier']}个月用到了第三档，"
            f"共{kwh(body['top_tier_kwh'])}度按{body['top_tier_price']}元/度算，"
            "夏天空调、冬天取暖注意别开太狠，把每月用电控制在第三档以下最省钱"
        )
    if not tips:
        return ""
    return "怎么用更省：" + "；".join(tips) + "。"


def advice_text(body: Mapping[str, Any]) -> str:
    options = body["options"]
    text = (
        f"按户号{body['account_masked']}近{body['months']}个月（{month(body['start'])}到{month(body['end'])}）"
        f"实际用电{kwh(body['total_kwh'])}度算：\n"
    )
    text += "\n".join(option_text(i, o) for i, o in enumerate(options, start=1)) + "\n"
    recommended = body.get("recommended")
    if len(options) == 1:
        only = options[0]
        text += f"按现行规定，您这类用电只有{only['name']}这一种，没有别的电价可选。"
    elif recommended:
        saving = Decimal(body["saving_yuan"] or "0")
        if saving > 0:
            text += f"建议选{recommended['name']}，按去年的用电一年能省{yuan(saving)}元。"
        else:
            text += f"您现在的{recommended['name']}已经是最省的。"
    else:
        text += "因为有的价格没有核实的数字，我没法确定哪种更省，不能给您下结论。"
    text += habits_text(body)
    if body.get("notice"):
        text += (
            f"（电价资料尚未与国网河南现行电价表核对，{UNCONFIRMED_NOTICE}；"
            f"办理或更改电价请到营业厅或拨打{replies.HOTLINE}咨询。）"
        )
    return text


async def answer_tariff_advice(
    dispatcher: CollectingDispatcher, tracker: Tracker, account_no: str, text: str
) -> list[EventType]:
    body = await get_backend_client().get_tariff_comparison(
        account_no=account_no, conversation_id=tracker.sender_id
    )
    dispatcher.utter_message(text=advice_text(body))
    return []


register(ASK_TARIFF_ADVICE, answer_tariff_advice)


class ActionAskTariffAdvice(Action):
    def name(self) -> str:
        return "action_ask_tariff_advice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await answer_or_verify(dispatcher, tracker, ASK_TARIFF_ADVICE, answer_tariff_advice)
