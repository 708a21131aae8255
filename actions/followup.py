"""rate_service: the 回访 rating of an answered order (非常满意 … 非常不满意, as words or 1–5).

The order is the one query_ticket just showed (`rating_ticket_no`), else the newest answered,
unrated order this conversation may see. 不满意/非常不满意 reopens it (重办) and the API notifies
the supervisor queue; other ratings close it (办结). A rating with no order to attach to is thanked.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.backend_client import AccountNotFound, BackendError, BackendRejected, get_backend_client
from actions.customer_input import normalise_digits
from actions.forms import latest_entity_value
from actions.ticket_format import needs_rating
from actions.verification import channel_of

logger = logging.getLogger(__name__)

RATING_TICKET_NO = "rating_ticket_no"
RATINGS = ("非常满意", "满意", "一般", "不满意", "非常不满意")
UNSATISFIED = frozenset({"不满意", "非常不满意"})
BY_SCORE = {"5": "非常满意", "4": "满意", "3": "一般", "2": "不满意", "1": "非常不满意"}
# Longest first, so that 非常不满意 is not read as 不满意 or 满意.
_WORDS = sorted(
    {
        **{word: word for word in RATINGS},
        "很满意": "非常满意",
        "特别满意": "非常满意",
        "很好": "非常满意",
        "挺好": "满意",
        "还行": "一般",
        "还可以": "一般",
        "凑合": "一般",
        "不咋样": "不满意",
        "太差": "非常不满意",
        "很不满意": "非常不满意",
        "特别不满意": "非常不满意",
    }.items(),
    key=lambda item: -len(item[0]),
)
_SCORE = re.compile(r"(?<!\d)([1-5])\s*(?:分|星)?(?!\d)")

THANKS = "谢谢您的评价！"
CLOSED = "谢谢您的评价（{rating}）！工单{ticket_no}已办结。还有别的需要帮忙吗？"
REOPENED = (
    "很抱歉处理结果没能让您满意。工单{ticket_no}已重新交办（重办），并已报告值班主管督办，"
    "处理单位会再次与您联系。"
)
NOTHING_TO_RATE = "谢谢您的评价！如果对哪次服务不满意，可以直接告诉我具体情况，我帮您登记投诉。"
ASK_AGAIN = "请用“非常满意、满意、一般、不满意、非常不满意”评价，或者打1到5分。"
BACKEND_DOWN = "抱歉，评价暂时没能保存。您可以稍后再试，或拨打" + replies.HOTLINE + "反映。"


def parse_rating(entity: str | None, text: str) -> str | None:
    if entity in RATINGS:
        return entity
    for source in (entity or "", text):
        for word, rating in _WORDS:
            if word in source:
                return rating
    match = _SCORE.search(normalise_digits(text))
    return BY_SCORE[match.group(1)] if match else None


async def _order_to_rate(tracker: Tracker) -> str | None:
    remembered = tracker.get_slot(RATING_TICKET_NO)
    if remembered:
        return str(remembered)
    orders = await get_backend_client().list_work_orders(conversation_id=tracker.sender_id)
    return next((str(order["ticket_no"]) for order in orders if needs_rating(order)), None)


class ActionRateService(Action):
    def name(self) -> str:
        return "action_rate_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        rating = parse_rating(latest_entity_value(tracker, "rating"), text)
        try:
            ticket_no = await _order_to_rate(tracker)
        except BackendError as exc:
            logger.warning("rating: orders unavailable: %s", exc)
            ticket_no = None
        if ticket_no is None:
            dispatcher.utter_message(text=NOTHING_TO_RATE if rating in UNSATISFIED else THANKS)
            return []
        if rating is None:
            dispatcher.utter_message(text=ASK_AGAIN)
            return []
        try:
            order = await get_backend_client().rate_work_order(
                ticket_no=ticket_no,
                conversation_id=tracker.sender_id,
                channel=channel_of(tracker),
                rating=rating,
            )
        except (AccountNotFound, BackendRejected) as exc:
            # Not this customer's, or no longer answered (already rated or reopened): just thank.
            logger.info("rating of %s not stored: %s", ticket_no, exc)
            dispatcher.utter_message(text=THANKS)
            return [SlotSet(RATING_TICKET_NO, None)]
        except BackendError as exc:
            logger.warning("rating not stored: %s", exc)
            replies.offer_human(dispatcher, BACKEND_DOWN)
            return []
        template: Any = REOPENED if rating in UNSATISFIED else CLOSED
        dispatcher.utter_message(text=template.format(ticket_no=order["ticket_no"], rating=rating))
        return [SlotSet(RATING_TICKET_NO, None)]
