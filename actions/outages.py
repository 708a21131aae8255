"""query_outage: is there (or will there be) an outage at a place, and when does power come back.

No verification is needed: outage data is public. The place comes from the message (address
entity), from `outage_form` when it was missing, or from the one account verified in this
session. The answer gives the window, the reason and the expected restoration, or says clearly
that nothing is known and offers to report a fault.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.backend_client import BackendError, get_backend_client
from actions.forms import BaseFormValidation, FixedQuestion, latest_entity_value
from actions.verification import verified_accounts

logger = logging.getLogger(__name__)

OUTAGE_FORM = "outage_form"
OUTAGE_PLACE = "outage_place"
OUTAGE_DAY = "outage_day"

# China has had no daylight saving since 1991, so a fixed offset is exact.
BEIJING = timezone(timedelta(hours=8))
MAX_LISTED = 3

ASK_PLACE = "请问是哪个乡镇、哪个村（或哪条街、哪个小区）？比如“七里营镇七里营村”。"
PLACE_NOT_UNDERSTOOD = (
    "抱歉，没听出是新乡县的哪个地方。请说一下乡镇和村名，比如“七里营镇七里营村”或“县城人民路”。"
)
PLACE_AMBIGUOUS = "“{village}”在{towns}都有，请问是哪个乡镇的？"
OFFER_REPAIR_BUTTON: dict[str, Any] = {"title": "我要报修", "payload": "/report_fault"}

_RELATIVE_DAYS = {
    "今天": 0, "今儿": 0, "今儿个": 0, "今日": 0, "当天": 0, "现在": 0, "这会儿": 0,
    "明天": 1, "明儿": 1, "明儿个": 1, "明日": 1,
    "后天": 2, "后儿个": 2, "大后天": 3,
}  # fmt: skip
_SPANS = {"这几天": 7, "最近": 7, "近几天": 7, "这两天": 2, "近期": 14, "下个月": 31, "月底": 7}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})[日号]?")
_WEEKDAY = re.compile(r"(下+)?(?:这)?(?:周|星期|礼拜)([一二三四五六日天])")


def beijing_now() -> datetime:
    return datetime.now(BEIJING)


def day_range(text: str | None, today: date) -> tuple[date, int] | None:
    """The local day (and how many days) a date phrase means; None: right now."""
    if not text:
        return None
    phrase = text.strip()
    if phrase in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[phrase]), 1
    if phrase in _SPANS:
        return today, _SPANS[phrase]
    if phrase in ("这周", "本周", "这个星期", "这礼拜"):
        return today, 7 - today.weekday()
    if phrase in ("下周", "下个星期", "下礼拜"):
        return today + timedelta(days=7 - today.weekday()), 7
    match = _MONTH_DAY.search(phrase)
    if match:
        month, day_of_month = int(match.group(1)), int(match.group(2))
        try:
            found = date(today.year, month, day_of_month)
        except ValueError:
            return None
        if found < today - timedelta(days=31):
            found = found.replace(year=today.year + 1)
        return found, 1
    match = _WEEKDAY.search(phrase)
    if match:
        target = _WEEKDAYS[match.group(2)]
        weeks_on = len(match.group(1) or "")
        if weeks_on:  # 下周三: Wednesday of the week after this one
            next_monday = today + timedelta(days=7 - today.weekday())
            return next_monday + timedelta(days=target + 7 * (weeks_on - 1)), 1
        return today + timedelta(days=(target - today.weekday()) % 7), 1
    return None  # 昨天, 夜儿个 …: the customer is asking about now


def local_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BEIJING)


def when_text(moment: datetime, today: date) -> str:
    names = {0: "今天", 1: "明天", 2: "后天"}
    day = names.get((moment.date() - today).days, f"{moment.month}月{moment.day}日")
    return f"{day}{moment:%H:%M}"


def _villages(outage: Mapping[str, Any]) -> str:
    names = list(outage.get("villages") or [])
    return "、".join(names) if names else "全镇"


def describe_outage(outage: Mapping[str, Any], today: date) -> str:
    """One outage or fault in a sentence: where, when, why, until when."""
    where = f"{outage['area']}（{_villages(outage)}）"
    if outage["kind"] == "planned":
        starts, ends = local_time(outage.get("starts_at")), local_time(outage.get("ends_at"))
        assert starts is not None and ends is not None
        until = f"{ends:%H:%M}" if ends.date() == starts.date() else when_text(ends, today)
        text = (
            f"{where}{when_text(starts, today)}至{until}有计划停电，原因：{outage.get('reason')}"
            f"（{outage.get('line')}），预计{until}恢复供电。"
        )
    else:
        restore = local_time(outage.get("expected_restore_at"))
        text = f"{where}目前有故障停电：{outage.get('cause')}。"
        text += f"预计{when_text(restore, today)}左右恢复供电。" if restore else "恢复时间还在确定中。"
    if outage.get("match") == "town_only":
        text += "如果您不在这几个村，就不受这次停电影响。"
    return text


def answer_text(result: Mapping[str, Any], day_phrase: str | None, today: date) -> str:
    found: Sequence[Mapping[str, Any]] = result.get("outages") or []
    place = result.get("place") or {}
    where = "".join(part for part in (place.get("town"), place.get("village")) if part) or "您那里"
    if not found:
        when = day_phrase or "目前"
        return (
            f"{when}没有查到{where}的计划停电或故障停电信息。"
            "如果您家现在没电，可以跟我说“报修”，我帮您登记抢修；邻居家也都没电的话，也请告诉我。"
        )
    lines = [describe_outage(outage, today) for outage in found[:MAX_LISTED]]
    lines.append("停电期间请关掉大功率电器，来电后再陆续打开。实际恢复时间以现场抢修和检修进度为准。")
    return "\n".join(lines)


async def answer_outage(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    place: str | None,
    account_no: str | None,
    day_phrase: str | None,
) -> list[EventType]:
    today = beijing_now().date()
    span = day_range(day_phrase, today)
    done: list[EventType] = [SlotSet(OUTAGE_PLACE, None), SlotSet(OUTAGE_DAY, None)]
    try:
        result = await get_backend_client().search_outages(
            place=place,
            account_no=account_no,
            conversation_id=tracker.sender_id if account_no else None,
            day=span[0].isoformat() if span else None,
            days=span[1] if span else 1,
        )
    except BackendError as exc:
        logger.warning("outage search unavailable: %s", exc)
        replies.offer_human(
            dispatcher,
            "抱歉，停电信息暂时查不到。请拨打"
            + replies.HOTLINE
            + "供电服务热线（24小时）询问，也可以转人工客服。",
        )
        return done
    parsed = result.get("place") or {}
    if not parsed.get("town"):
        candidates = parsed.get("town_candidates") or []
        if candidates and parsed.get("village"):
            dispatcher.utter_message(
                text=PLACE_AMBIGUOUS.format(village=parsed["village"], towns="、".join(candidates))
            )
        else:
            dispatcher.utter_message(text=PLACE_NOT_UNDERSTOOD)
        # Keep the day; ask for the place again.
        return [SlotSet(OUTAGE_PLACE, None), FollowupAction(OUTAGE_FORM)]
    text = answer_text(result, day_phrase if span else None, today)
    if result.get("outages"):
        dispatcher.utter_message(text=text)
    else:
        dispatcher.utter_message(text=text, buttons=[OFFER_REPAIR_BUTTON])
    return done


class ActionQueryOutage(Action):
    """Answers query_outage; asks for the place (outage_form) when neither message nor session gives it."""

    def name(self) -> str:
        return "action_query_outage"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        day_phrase = latest_entity_value(tracker, "date") or tracker.get_slot(OUTAGE_DAY)
        place = latest_entity_value(tracker, "address") or tracker.get_slot(OUTAGE_PLACE)
        if place:
            return await answer_outage(
                dispatcher, tracker, place=place, account_no=None, day_phrase=day_phrase
            )
        verified = verified_accounts(tracker)
        if len(verified) == 1:
            return await answer_outage(
                dispatcher, tracker, place=None, account_no=verified[0], day_phrase=day_phrase
            )
        # Remember the day while the place is asked for.
        return [SlotSet(OUTAGE_DAY, day_phrase), FollowupAction(OUTAGE_FORM)]


class ActionAskOutagePlace(FixedQuestion):
    text = ASK_PLACE

    def name(self) -> str:
        return "action_ask_outage_place"


class ValidateOutageForm(BaseFormValidation):
    """Takes the place as said; action_query_outage checks it against the service area."""

    answer_intents = frozenset({"inform", "affirm", "nlu_fallback", "query_outage"})

    def name(self) -> str:
        return "validate_outage_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if self.is_interruption(tracker, [OUTAGE_PLACE]):
            return self.reject([OUTAGE_PLACE])
        return await super().run(dispatcher, tracker, domain)

    async def validate_outage_place(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(slot_value or "").strip()
        if not text:
            return {OUTAGE_PLACE: None}
        return {OUTAGE_PLACE: text[:200]}
