"""query_bill: a month's bill (上个月, 10月份, 去年腊月, or the latest) with its breakdown, and
"why is it so high": the comparison with the previous month and the same month last year, and
which tiers the consumption reached, in plain words with the numbers. Verification first."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.account_answers import answer_or_verify, register
from actions.backend_client import get_backend_client
from actions.billing_format import BAND_WORDS, BEIJING, UNCONFIRMED_PRICES, kwh, month, month_key, yuan
from actions.periods import MonthRange, parse_period

QUERY_BILL = "query_bill"
WHY_SO_HIGH = re.compile(
    r"咋|为啥|为什么|怎么这么|怎么那么|恁|这么高|这么贵|这么多|翻了|变高|涨了|多收|算错|差那么多|异常"
)
# A rise this large (against the previous month) is worth a word about checking the meter.
SHARP_RISE = Decimal("1.5")


def today() -> Any:
    return datetime.now(BEIJING).date()


def _line_text(line: Mapping[str, Any]) -> str:
    amount = f"{kwh(line['kwh'])}度×{line['price']}元={yuan(line['amount'])}元"
    if line.get("kind") == "tou_adjustment":
        return f"{BAND_WORDS.get(line['band'], line['band'])}调整{amount}"
    if "tier" in line:
        return f"第{line['tier']}档{amount}"
    return f"{BAND_WORDS.get(line.get('band', ''), '')}{amount}"


def breakdown_text(breakdown: Mapping[str, Any]) -> str:
    return "明细：" + "；".join(_line_text(line) for line in breakdown.get("lines", [])) + "。"


def _tier_rule(tiers: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for tier in tiers:
        low, high = kwh(tier["from_kwh"]), tier["up_to_kwh"]
        if Decimal(tier["from_kwh"]) == 0:
            parts.append(f"{kwh(high)}度以内按{tier['price']}元/度")
        elif high is None:
            parts.append(f"超过{low}度的部分按{tier['price']}元/度")
        else:
            parts.append(f"{low}到{kwh(high)}度的部分按{tier['price']}元/度")
    return "每月" + "，".join(parts)


def why_text(body: Mapping[str, Any]) -> str:
    """Plain words: how much more than last month and last year, and which tiers were reached."""
    comparison = body["comparison"] or {}
    sentences = []
    previous = comparison.get("previous")
    rise = None
    if previous and previous.get("amount_yuan") is not None:
        kwh_change = Decimal(comparison["kwh_change_vs_previous"])
        amount_change = Decimal(comparison["amount_change_vs_previous"])
        more_or_less = "多" if kwh_change >= 0 else "少"
        sentences.append(
            f"和上个月（{month(previous['period'])}：{kwh(previous['kwh'])}度，{yuan(previous['amount_yuan'])}元）比，"
            f"{more_or_less}用了{kwh(abs(kwh_change))}度，电费{'多' if amount_change >= 0 else '少'}了"
            f"{yuan(abs(amount_change))}元。"
        )
        if Decimal(previous["kwh"]) > 0:
            rise = Decimal(body["kwh"]) / Decimal(previous["kwh"])
    elif previous:
        sentences.append(f"上个月（{month(previous['period'])}）用电{kwh(previous['kwh'])}度。")
    last_year = comparison.get("same_month_last_year")
    if last_year and last_year.get("amount_yuan") is not None:
        change = Decimal(comparison["amount_change_vs_last_year"])
        sentences.append(
            f"去年同月（{month(last_year['period'])}）用电{kwh(last_year['kwh'])}度、{yuan(last_year['amount_yuan'])}元，"
            f"今年{'多' if change >= 0 else '少'}了{yuan(abs(change))}元。"
        )
    else:
        sentences.append("去年同月的用电记录系统里没有，没法和去年比。")
    tiers = comparison.get("tiers") or []
    high_tiers = [t for t in tiers if int(t["tier"]) > 1]
    if high_tiers:
        reached = "、".join(f"第{t['tier']}档{kwh(t['kwh'])}度" for t in high_tiers)
        sentences.append(
            f"阶梯电价是{_tier_rule(tiers)}。这个月用了{kwh(body['kwh'])}度，超过了{kwh(tiers[0]['up_to_kwh'])}度，"
            f"其中{reached}，单价比第1档高"
            + (
                f"，光是阶梯加价就多了{yuan(comparison['higher_tier_surcharge_yuan'])}元"
                if comparison.get("higher_tier_surcharge_yuan")
                else ""
            )
            + "。"
        )
        if previous and previous.get("top_tier") == 1:
            sentences.append(f"上个月{kwh(previous['kwh'])}度都在第1档。")
    elif tiers:
        sentences.append(
            f"这个月{kwh(body['kwh'])}度都在第1档（{_tier_rule(tiers[:1])}），没有用到更贵的档。"
        )
    if rise is not None and rise >= SHARP_RISE:
        sentences.append(
            "用电量一下子涨了这么多，如果家里没有新添空调、电暖器、电动车充电这类大功率用电，"
            f"可以先看看电表读数对不对；需要校验电表或核对抄表，可以拨打{replies.HOTLINE}或转人工客服。"
        )
    return "".join(sentences)


def bill_text(body: Mapping[str, Any], asked: MonthRange | None, why: bool) -> str:
    period = month(body["period"])
    lead = ""
    if asked is not None and asked.note:
        lead = asked.note + "。"
    if asked is not None and asked.kind == "current":
        lead += "这个月还没结束，账单还没出，下面是最近一期的。"
    if not body["available"]:
        if body.get("reason") == "tariff_unpriced":
            return (
                f"{lead}户号{body['account_masked']}，{period}用电{kwh(body['kwh'])}度。您执行的{body['tariff_name']}，"
                "价格按国网河南当期公布的执行，我这里没有经过核实的价格，不能给您算出电费金额"
                f"（以当地营业厅公布为准）。电费账单可以在网上国网App查看，或拨打{replies.HOTLINE}查询。"
            )
        known = ""
        if body.get("first_period") and body.get("last_period"):
            known = f"能查到的是{month(body['first_period'])}到{month(body['last_period'])}的账单。"
        asked_label = asked.label if asked else "这个月"
        return f"{lead}系统里没有户号{body['account_masked']}{asked_label}的账单记录。{known}"
    text = f"{lead}户号{body['account_masked']}，{period}电费{yuan(body['amount_yuan'])}元"
    text += f"（用电{kwh(body['kwh'])}度）。"
    text += breakdown_text(body["breakdown"] or {})
    if body.get("paid"):
        text += "这期电费已结清。"
    elif body.get("due_date"):
        due = body["due_date"].split("-")
        text += f"这期还没交，缴费截止日期是{int(due[1])}月{int(due[2])}日。"
    if Decimal(body.get("late_fee_yuan") or "0") > 0:
        text += f"目前有逾期电费产生的违约金{yuan(body['late_fee_yuan'])}元。"
    if why:
        text += why_text(body)
    else:
        previous = (body.get("comparison") or {}).get("previous")
        if previous and previous.get("amount_yuan") is not None:
            text += f"上个月（{month(previous['period'])}）是{yuan(previous['amount_yuan'])}元。"
    if not body.get("confirmed"):
        text += UNCONFIRMED_PRICES
    return text


def range_bill_text(body: Mapping[str, Any], asked: MonthRange) -> str:
    points = body["points"]
    if not points:
        return f"系统里没有户号{body['account_masked']}{asked.label}的账单记录。"
    priced = [p for p in points if p.get("amount_yuan") is not None]
    parts = [
        f"{month(p['period'])}{kwh(p['kwh'])}度"
        + (f"{yuan(p['amount_yuan'])}元" if p.get("amount_yuan") else "")
        for p in points
    ]
    text = f"户号{body['account_masked']}{asked.label}的电费：" + "；".join(parts) + "。"
    if priced and len(priced) == len(points):
        total = sum((Decimal(p["amount_yuan"]) for p in priced), Decimal(0))
        text += f"合计用电{kwh(body['total_kwh'])}度，电费{yuan(total)}元。" + UNCONFIRMED_PRICES
    else:
        text += (
            f"合计用电{kwh(body['total_kwh'])}度；电价按国网河南当期公布的执行，"
            "我这里算不出金额（以当地营业厅公布为准）。"
        )
    if body.get("missing_months"):
        text += "其中" + "、".join(month(m) for m in body["missing_months"]) + "没有记录。"
    return text


async def answer_bill(
    dispatcher: CollectingDispatcher, tracker: Tracker, account_no: str, text: str
) -> list[EventType]:
    asked = parse_period(text, today())
    client = get_backend_client()
    if asked is not None and asked.kind == "range":
        body = await client.get_usage(
            account_no=account_no,
            conversation_id=tracker.sender_id,
            start=month_key(asked.start),
            end=month_key(asked.end),
        )
        dispatcher.utter_message(text=range_bill_text(body, asked))
        return []
    period = month_key(asked.start) if asked is not None and asked.kind == "month" else None
    body = await client.get_bill(account_no=account_no, conversation_id=tracker.sender_id, period=period)
    dispatcher.utter_message(text=bill_text(body, asked, bool(WHY_SO_HIGH.search(text))))
    return []


register(QUERY_BILL, answer_bill)


class ActionQueryBill(Action):
    def name(self) -> str:
        return "action_query_bill"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await answer_or_verify(dispatcher, tracker, QUERY_BILL, answer_bill)
