"""query_usage: kWh for a month, a season or a year, with the trend; on web chat also a chart of
the months (an SVG served by api/), on WeChat text only. Verification first."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.account_answers import answer_or_verify, register
from actions.backend_client import get_backend_client
from actions.billing_format import BAND_WORDS, kwh, month, month_key, short_month
from actions.bills import today
from actions.periods import MonthRange, add_months, parse_period

QUERY_USAGE = "query_usage"
TREND_WORDS = {"rising": "总体在上升", "falling": "总体在下降", "steady": "总体比较平稳"}
WEB_CHAT_PREFIX = "web-"


def _bands(point: Mapping[str, Any]) -> str:
    bands = point.get("bands") or {}
    if not bands:
        return ""
    return "（" + "，".join(f"{BAND_WORDS.get(b, b)}{kwh(v)}度" for b, v in bands.items()) + "）"


def single_month_text(body: Mapping[str, Any], asked: MonthRange | None) -> str:
    points = body["points"]
    lead = asked.note + "。" if asked is not None and asked.note else ""
    if asked is not None and asked.kind == "current":
        lead += "这个月还没结束，还没出整月的用电量，下面是最近一个整月的。"
    if not points:
        first, last = body.get("first_period"), body.get("last_period")
        known = f"能查到的是{month(first)}到{month(last)}的用电量。" if first and last else ""
        label = asked.label if asked else "这个月"
        return f"{lead}系统里没有户号{body['account_masked']}{label}的用电记录。{known}"
    point = points[-1]
    text = f"{lead}户号{body['account_masked']}，{month(point['period'])}"
    text += f"用电{kwh(point['kwh'])}度{_bands(point)}。"
    return text


def comparison_with_previous(current: Mapping[str, Any], previous: Mapping[str, Any] | None) -> str:
    if previous is None or not previous.get("points"):
        return ""
    before = previous["points"][-1]
    change = Decimal(current["kwh"]) - Decimal(before["kwh"])
    if change == 0:
        return f"和上个月（{kwh(before['kwh'])}度）一样。"
    word = "多" if change > 0 else "少"
    return f"比上个月（{month(before['period'])}，{kwh(before['kwh'])}度）{word}{kwh(abs(change))}度。"


def series_text(body: Mapping[str, Any], label: str) -> str:
    points = body["points"]
    if not points:
        return f"系统里没有户号{body['account_masked']}{label}的用电记录。"
    months = "、".join(f"{short_month(p['period'])}{kwh(p['kwh'])}" for p in points)
    text = (
        f"户号{body['account_masked']}{label}（{month(body['start'])}到{month(body['end'])}）"
        f"共用电{kwh(body['total_kwh'])}度，平均每月{kwh(body['average_kwh'])}度。"
        f"每月用电（度）：{months}。"
    )
    if len(points) > 1:
        text += (
            f"用得最多的是{month(body['highest']['period'])}（{kwh(body['highest']['kwh'])}度），"
            f"最少的是{month(body['lowest']['period'])}（{kwh(body['lowest']['kwh'])}度）。"
        )
    trend = body.get("trend")
    if trend in TREND_WORDS and len(points) >= 4:
        pct = body.get("trend_change_pct")
        text += f"趋势：后半段比前半段{TREND_WORDS[trend]}"
        text += f"（平均每月{'多' if Decimal(pct) >= 0 else '少'}{abs(Decimal(pct))}%）。" if pct else "。"
    previous_total = body.get("previous_total_kwh")
    if previous_total:
        change = Decimal(body["total_kwh"]) - Decimal(previous_total)
        word = "多" if change >= 0 else "少"
        text += f"再往前同样长的一段用了{kwh(previous_total)}度，这段{word}了{kwh(abs(change))}度。"
    if body.get("missing_months"):
        text += "其中" + "、".join(month(m) for m in body["missing_months"]) + "没有记录。"
    return text


async def answer_usage(
    dispatcher: CollectingDispatcher, tracker: Tracker, account_no: str, text: str
) -> list[EventType]:
    asked = parse_period(text, today())
    client = get_backend_client()
    conversation = tracker.sender_id
    if asked is None or asked.kind == "range":
        start = month_key(asked.start) if asked else None
        end = month_key(asked.end) if asked else None
        body = await client.get_usage(
            account_no=account_no, conversation_id=conversation, start=start, end=end
        )
        answer = series_text(body, asked.label if asked else "近12个月")
    else:
        wanted = asked.start if asked.kind == "month" else add_months(asked.start, -1)
        body = await client.get_usage(
            account_no=account_no,
            conversation_id=conversation,
            start=month_key(wanted),
            end=month_key(wanted),
        )
        answer = single_month_text(body, asked)
        if body["points"]:
            before = month_key(add_months(wanted, -1))
            previous = await client.get_usage(
                account_no=account_no, conversation_id=conversation, start=before, end=before
            )
            answer += comparison_with_previous(body["points"][-1], previous)
    if conversation.startswith(WEB_CHAT_PREFIX) and body.get("chart_url"):
        # Web chat shows pictures; the link is signed and short-lived (api/routes/billing.py).
        dispatcher.utter_message(text=answer, image=body["chart_url"])
    else:
        dispatcher.utter_message(text=answer)
    return []


register(QUERY_USAGE, answer_usage)


class ActionQueryUsage(Action):
    def name(self) -> str:
        return "action_query_usage"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await answer_or_verify(dispatcher, tracker, QUERY_USAGE, answer_usage)
