"""pay_bill: how to pay (channels from config/service_info.yml through the API); for an account
(after verification): what is owed, how long a prepaid balance lasts, a payment that "has not
arrived", and for a prepaid account suspended for arrears what to pay and when supply returns.

Restoration times are conflicting or unconfirmed in the reference (§4.4, §4.5): the answer quotes
the configured wording, says the sources disagree, and adds "以当地营业厅公布为准"."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.account_answers import answer_or_verify, register
from actions.backend_client import BackendError, get_backend_client
from actions.billing_format import UNCONFIRMED_NOTICE, beijing_time, quoted, yuan
from actions.faq import INFO_BACKEND_DOWN, pay_bill_answer
from actions.verification import account_named_in_latest_message, verified_accounts

logger = logging.getLogger(__name__)

PAY_BILL = "pay_bill"
# Words that make a payment question about one account rather than about channels in general.
ABOUT_MY_ACCOUNT = re.compile(
    r"没到账|未到账|到账|还显示欠费|还欠费|咋还欠|没来电|不来电|还停电|还是没电|没充上|不成功|交了|充了|交过|"
    r"该交多少|交多少|要交多少|多少钱才|复电|来电|停电了|欠费停电"
)
NOT_ARRIVED = re.compile(r"没到账|未到账|还显示欠费|还欠费|咋还欠|没充上|不成功|交了|充了|交过")
CHANNEL_NAMES = {
    "wechat": "微信",
    "app": "网上国网App",
    "counter": "营业厅柜台",
    "alipay": "支付宝",
    "bank": "银行",
}


def channels_line(service: Mapping[str, Any]) -> str:
    names = [
        channel["name"] + ("" if channel.get("confirmed") else f"（{UNCONFIRMED_NOTICE}）")
        for channel in service.get("payment_channels", [])
    ]
    return "交费渠道：" + "、".join(names) + "。" if names else ""


def restore_text(status: Mapping[str, Any]) -> str:
    return (
        f"交费后：{quoted(status['auto_restore'])}；{quoted(status['restore_time_limit'])}。"
        f"交费后如果迟迟没有来电，请拨打{replies.HOTLINE}。"
    )


def suspended_text(status: Mapping[str, Any]) -> str:
    since = beijing_time(status.get("suspended_since"))
    text = f"户号{status['account_masked']}" + (f"自{since}起" if since else "目前") + "因欠费暂停供电，"
    text += f"欠费{yuan(status['arrears_yuan'])}元。"
    text += f"要恢复供电，至少要交清这{yuan(status['amount_to_restore_yuan'])}元。"
    monthly = status.get("average_monthly_amount_yuan")
    if monthly:
        text += f"按您家最近几个月平均每月电费约{yuan(monthly)}元，建议多预存一些，免得余额用完再停电。"
    return text + restore_text(status)


def not_arrived_text(status: Mapping[str, Any]) -> str:
    last = status.get("last_payment")
    posting = quoted(status["payment_posting"])
    if last and status.get("last_payment_recent"):
        channel = CHANNEL_NAMES.get(last["channel"], last["channel"])
        text = (
            f"系统已经收到户号{status['account_masked']}在{beijing_time(last['paid_at'])}通过{channel}交的"
            f"{yuan(last['amount_yuan'])}元，已经到账。当前余额{yuan(status['balance_yuan'])}元"
        )
        arrears = Decimal(status["arrears_yuan"])
        text += f"，还欠费{yuan(arrears)}元。" if arrears > 0 else "。"
        if status["supply_status"] != "normal":
            short = Decimal(status["amount_to_restore_yuan"])
            text += f"目前仍是欠费停电状态，还需再交{yuan(short)}元才能恢复供电。" + restore_text(status)
        return text
    when = f"最近一次是{beijing_time(last['paid_at'])}的{yuan(last['amount_yuan'])}元。" if last else ""
    return (
        f"系统里最近几天没有查到户号{status['account_masked']}的交费记录。{when}"
        "请先核对交费时填的户号是不是这个户号（尾号要对得上）；"
        f"{posting}。请保留好交费凭证（付款截图或收据），拨打{replies.HOTLINE}或转人工客服帮您核实。"
    )


def account_status_text(status: Mapping[str, Any]) -> str:
    text = f"户号{status['account_masked']}当前余额{yuan(status['balance_yuan'])}元"
    arrears = Decimal(status["arrears_yuan"])
    if arrears > 0:
        text += f"，欠费{yuan(arrears)}元，请尽快交清"
    if Decimal(status.get("late_fee_yuan") or "0") > 0:
        text += f"，已产生违约金{yuan(status['late_fee_yuan'])}元"
    text += "。"
    days = status.get("days_left")
    daily = status.get("average_daily_amount_yuan")
    if status["payment_mode"] == "prepaid" and days is not None and daily:
        text += f"按您家最近几个月的用电，平均每天约{yuan(daily)}元，余额大约还能用{days}天。"
    return text


async def answer_payment(
    dispatcher: CollectingDispatcher, tracker: Tracker, account_no: str, text: str
) -> list[EventType]:
    client = get_backend_client()
    status = await client.get_payment_status(account_no=account_no, conversation_id=tracker.sender_id)
    try:
        channels = channels_line(await client.get_service_info())
    except BackendError as exc:  # the account answer is still worth giving without the list
        logger.warning("service info unavailable: %s", exc)
        channels = ""
    if NOT_ARRIVED.search(text):
        answer = not_arrived_text(status)
        if status["supply_status"] != "normal" and not status.get("last_payment_recent"):
            answer += suspended_text(status)
        buttons = [replies.HUMAN_BUTTON] if not status.get("last_payment_recent") else []
        dispatcher.utter_message(text=answer + channels, buttons=buttons)
        return []
    if status["supply_status"] != "normal":
        dispatcher.utter_message(text=suspended_text(status) + channels)
        return []
    dispatcher.utter_message(text=account_status_text(status) + channels)
    return []


register(PAY_BILL, answer_payment)


class ActionPayBill(Action):
    """Channels for everyone; account specifics after verification."""

    def name(self) -> str:
        return "action_pay_bill"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        about_account = (
            account_named_in_latest_message(tracker) is not None or ABOUT_MY_ACCOUNT.search(text) is not None
        )
        if about_account:
            return await answer_or_verify(dispatcher, tracker, PAY_BILL, answer_payment)
        try:
            service = await get_backend_client().get_service_info()
            answer = pay_bill_answer(service)
        except (BackendError, KeyError, TypeError) as exc:
            logger.warning("service info unavailable: %s", exc)
            replies.offer_human(dispatcher, INFO_BACKEND_DOWN)
            return []
        if verified_accounts(tracker):
            answer += "\n要查您这个户该交多少、余额还能用几天，直接问我“该交多少钱”就行。"
        dispatcher.utter_message(text=answer)
        return []
