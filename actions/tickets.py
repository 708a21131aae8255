"""query_ticket: status, current handler, next deadline and the answer of the customer's own orders.

Own orders only: those of accounts this conversation verified, plus those lodged in it. Without
either, the customer is verified first (verify_form) and answered afterwards. An answered order
is followed by the rating question (回访); `rating_ticket_no` tells rate_service which order.
Repairs are worded by actions/repairs.py (crew progress), registered below.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.backend_client import AccountNotFound, BackendError, NotVerified, get_backend_client
from actions.billing import start_verification
from actions.forms import latest_entity_value
from actions.identity import PENDING_ANSWERS
from actions.repairs import describe_repair
from actions.ticket_format import (
    RATING_QUESTION,
    describe_order,
    needs_rating,
    pick_orders,
    register_describer,
)
from actions.verification import VERIFIED_ACCOUNTS, is_locked_out, verified_accounts

logger = logging.getLogger(__name__)

QUERY_TICKET = "query_ticket"
RATING_TICKET_NO = "rating_ticket_no"

NONE_FOUND = "没有查到您名下正在处理的报修、投诉或建议工单。如需登记，可以直接跟我说“报修”或“我要投诉”。"
NUMBER_NOT_FOUND = (
    "没有查到工单{ticket_no}。请核对一下号码（14位数字）；也可以不说号码，我帮您查名下所有工单。"
)
BACKEND_DOWN = (
    "抱歉，工单查询系统暂时连接不上。您可以稍后再试，或拨打" + replies.HOTLINE + "，也可以转人工客服。"
)

register_describer("repair", describe_repair)


def answer_orders(dispatcher: CollectingDispatcher, orders: list[Mapping[str, Any]]) -> list[EventType]:
    """Up to three orders, open ones first; the rating question after an answered one."""
    if not orders:
        dispatcher.utter_message(text=NONE_FOUND)
        return []
    shown = pick_orders(orders)
    lines = [describe_order(order) for order in shown]
    if len(orders) > len(shown):
        lines.append("（只列出了最近的工单；查其他工单请告诉我工单号。）")
    dispatcher.utter_message(text="\n".join(lines))
    rateable = next((order for order in shown if needs_rating(order)), None)
    if rateable is None:
        return []
    dispatcher.utter_message(text=f"工单{rateable['ticket_no']}已经答复。{RATING_QUESTION}")
    return [SlotSet(RATING_TICKET_NO, str(rateable["ticket_no"]))]


async def answer_tickets(
    dispatcher: CollectingDispatcher, tracker: Tracker, account_no: str
) -> list[EventType]:
    """After verification (PENDING_ANSWERS): every order this conversation may now see."""
    try:
        orders = await get_backend_client().list_work_orders(conversation_id=tracker.sender_id)
    except BackendError as exc:
        logger.warning("ticket lookup unavailable: %s", exc)
        replies.offer_human(dispatcher, BACKEND_DOWN)
        return []
    return answer_orders(dispatcher, list(orders))


PENDING_ANSWERS[QUERY_TICKET] = answer_tickets


class ActionQueryTicket(Action):
    def name(self) -> str:
        return "action_query_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        client = get_backend_client()
        ticket_no = latest_entity_value(tracker, "ticket_no")
        try:
            if ticket_no:
                try:
                    order = await client.get_work_order(
                        ticket_no=ticket_no, conversation_id=tracker.sender_id
                    )
                except AccountNotFound:
                    order = None
                if order is not None:
                    return answer_orders(dispatcher, [order])
                if verified_accounts(tracker):
                    dispatcher.utter_message(text=NUMBER_NOT_FOUND.format(ticket_no=ticket_no))
                    return []
            else:
                orders = await client.list_work_orders(conversation_id=tracker.sender_id)
                if orders:
                    return answer_orders(dispatcher, list(orders))
                if verified_accounts(tracker):
                    dispatcher.utter_message(text=NONE_FOUND)
                    return []
        except NotVerified:
            # The API's verification window ended before the session did: verify again.
            return [SlotSet(VERIFIED_ACCOUNTS, []), *start_verification(None, QUERY_TICKET)]
        except BackendError as exc:
            logger.warning("ticket lookup unavailable: %s", exc)
            replies.offer_human(dispatcher, BACKEND_DOWN)
            return []
        if is_locked_out(tracker):
            replies.offer_human(dispatcher, replies.LOCKED_OUT)
            return []
        # Nothing visible yet: whose orders they are must be proven first.
        dispatcher.utter_message(text="查询工单需要先验证身份。")
        return start_verification(latest_entity_value(tracker, "account_no"), QUERY_TICKET)
