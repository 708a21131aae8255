"""complain: class (inferred, confirmed), what happened, the related account (verified when account
data is involved), contact phone and time, confirmation; then the order, its number and commitments.

`action_start_complaint` infers what it can from the first message and starts `complaint_form`;
`action_submit_complaint` runs when the form ends and lodges the order only after a "yes".
A complaint about an existing repair is linked to it (a number the customer names, or the
newest open repair of the verified account).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.backend_client import AccountNotFound, BackendError, NotVerified, get_backend_client
from actions.customer_input import (
    IdentityFactor,
    canonical_account_no,
    digit_runs,
    mask_account_no,
    parse_name,
)
from actions.forms import REQUESTED_SLOT, BaseFormValidation, latest_entity_value, latest_intent
from actions.forms import FixedQuestion as _Ask
from actions.handoff import hand_over, shows_strong_anger
from actions.repairs import parse_confirmation, parse_phone
from actions.ticket_format import commitments
from actions.verification import (
    ACCOUNT_NO,
    Outcome,
    channel_of,
    factor_in_latest_message,
    is_locked_out,
    verified_accounts,
    verify,
)

logger = logging.getLogger(__name__)

COMPLAINT_FORM = "complaint_form"
COMPLAINT_CLASS = "complaint_class"
COMPLAINT_CLASS_GUESS = "complaint_class_guess"
COMPLAINT_DETAIL = "complaint_detail"
COMPLAINT_ACCOUNT = "complaint_account"
CONTACT_PHONE = "contact_phone"
CONTACT_TIME = "contact_time"
COMPLAINT_CONFIRMED = "complaint_confirmed"
RELATED_TICKET_NO = "related_ticket_no"
COMPLAINT_SLOTS = (
    COMPLAINT_CLASS, COMPLAINT_CLASS_GUESS, COMPLAINT_DETAIL, COMPLAINT_ACCOUNT, CONTACT_PHONE,
    CONTACT_TIME, COMPLAINT_CONFIRMED, RELATED_TICKET_NO,
)  # fmt: skip
YES, NO, CANCELLED = "yes", "no", "cancelled"
NO_ACCOUNT = "none"

# The five classes of the 供电服务投诉处理规范 (reference.md §3.2), with what each covers.
CLASSES: dict[str, str] = {
    "服务投诉": "工作人员服务态度、服务行为、热线接通",
    "营业投诉": "电费、抄表、计量、收费、业务办理",
    "停送电投诉": "停电、送电、故障抢修不及时",
    "供电质量投诉": "电压不稳、电压低、频繁停电",
    "电网建设投诉": "线路和电杆架设、施工、占地",
}
# Complaints about one's own supply or account: the account is needed (and verified).
ACCOUNT_CLASSES = frozenset({"营业投诉", "停送电投诉", "供电质量投诉"})
# Checked in order: conduct words win ("修电的要俺给他买烟" is about conduct, not the repair).
CLASS_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("服务投诉", ("态度", "骂", "爱答不理", "吃拿卡要", "红包", "买烟", "好处", "额外收钱", "打不通",
              "没人接", "占线", "排队", "不理人", "服务差", "推诿")),
    ("供电质量投诉", ("电压", "忽明忽暗", "一闪", "灯暗", "带不动", "频繁停", "老是停电", "经常停电",
                "三天两头")),
    ("电网建设投诉", ("电杆", "电线杆", "架线", "施工", "变压器", "占地", "挖", "线路改造", "青苗")),
    ("营业投诉", ("电费", "抄表", "电量", "度数", "计量", "电表", "收费", "多收", "多扣", "缴费", "交费",
              "账单", "阶梯", "过户", "装表", "办电", "业务")),
    ("停送电投诉", ("停电", "送电", "来电", "没电", "断电", "报修", "抢修", "修电", "没人来", "没人修")),
)  # fmt: skip
_GENERIC_COMPLAINT = re.compile(
    r"^(?:我|俺)?(?:要|想|得)?(?:投诉|告|反映)(?:一下|你们|恁|问题|你们供电所|一下你们)*[。！!，,]*$"
)
_CANCEL_WORDS = ("不投诉了", "取消投诉", "算了", "不想投诉", "先不投诉", "不用投诉")
_SKIP_WORDS = ("跳过", "没有", "不用", "不方便", "不知道", "记不住", "忘了", "不记得")
_ANYTIME_WORDS = ("随时", "都行", "都可以", "啥时候都", "什么时候都", "全天")
_REPAIR_WORDS = ("报修", "抢修", "修电", "维修", "没人来", "没人修")
_NUMBERED_CLASSES = dict(zip("12345", CLASSES, strict=True))
# WeChat shows buttons as numbered lines; the router maps a typed number back to the payload.
CLASS_BUTTONS = [{"title": f"{name}：{covers}", "payload": name} for name, covers in CLASSES.items()]

ASK_CLASS_WITH_GUESS = (
    "听起来您要投诉的是【{guess}】（{covers}），对吗？对的话回复“是”；不对请选择（回复序号）："
)
ASK_CLASS = "请问您要投诉哪一类问题？请选择（回复序号或名称）："
CONFIRM_AGAIN = "需要提交投诉吗？请回复“确认”或“先不投诉了”。"
ASK_DETAIL = "请您说说具体发生了什么：大概什么时间、在哪里、涉及哪位工作人员或哪件事。"
ASK_ACCOUNT = (
    "这类投诉需要核对您的用电信息。请告诉我户号和登记手机号后四位（比如“3100000001 尾号1234”）；"
    "不方便提供可以回复“跳过”，工作人员联系您时再核实。"
)
ASK_ACCOUNT_FACTOR = "请再提供户号{account_masked}登记手机号的后四位，或者户主姓名。"
ASK_PHONE = "请留一个方便联系您的手机号，工作人员会打这个电话跟您核实情况。"
ASK_TIME = "您什么时间方便接电话？比如“工作日上午”“晚上7点以后”，或者“随时”。"
CANCELLED_TEXT = (
    "好的，这次先不登记投诉。如果还需要，随时跟我说“我要投诉”，也可以拨打" + replies.HOTLINE + "。"
)
VERIFY_FAILED_GO_ON = "户号暂时没能核实，不影响受理投诉：工作人员联系您时会再核对。"
DETAIL_TOO_SHORT = "请再多说几句具体情况，方便工作人员尽快处理。"
PHONE_FORMAT = "请留11位手机号（或带区号的座机号），比如13803731234。"
BACKEND_DOWN = (
    "抱歉，投诉系统暂时连接不上，您的投诉还没有登记。请拨打" + replies.HOTLINE + "投诉，或转人工客服。"
)
CONFIRM_BUTTONS = [{"title": "确认提交", "payload": "/affirm"}, {"title": "先不投诉了", "payload": "/deny"}]


def infer_class(text: str) -> str | None:
    for name, words in CLASS_KEYWORDS:
        if any(word in text for word in words):
            return name
    return None


def parse_class(text: str, guess: str | None, intent: str | None) -> str | None:
    """A class named or numbered in the answer, or the guess confirmed."""
    stripped = text.strip().rstrip("。！!")
    if stripped in _NUMBERED_CLASSES:
        return _NUMBERED_CLASSES[stripped]
    for name in CLASSES:
        if name in stripped or name[:-2] == stripped or stripped.startswith(name[:-2]):
            return name
    if guess and (intent == "affirm" or stripped in ("是", "对", "嗯", "是的", "对的", "没错", "中", "对头")):
        return guess
    return None


def is_descriptive(text: str) -> bool:
    """More than "我要投诉": the first message already says what happened."""
    compact = re.sub(r"\s+", "", text)
    return len(compact) >= 6 and not _GENERIC_COMPLAINT.match(compact)


def wants_to_cancel(text: str) -> bool:
    return any(word in text for word in _CANCEL_WORDS)


def account_and_factor(text: str, tracker: Tracker) -> tuple[str | None, IdentityFactor | None]:
    """Both may come in one message ("3100000001 尾号1234"), or one per turn."""
    account = canonical_account_no(text)
    factor = factor_in_latest_message(tracker)
    if factor is None:
        runs = [run for run in digit_runs(text) if len(run) not in (10, 13)]
        fours = [run for run in runs if len(run) == 4]
        phones = [run for run in runs if len(run) == 11]
        if len(fours) == 1:
            factor = IdentityFactor(phone_last4=fours[0])
        elif len(phones) == 1:
            factor = IdentityFactor(phone_last4=phones[0][-4:])
        else:
            name = parse_name(re.sub(r"[\d\s]+", "", text)) if text.strip() else None
            factor = IdentityFactor(name=name) if name else None
    return account, factor


def summary(tracker: Tracker) -> str:
    account = tracker.get_slot(COMPLAINT_ACCOUNT)
    phone = str(tracker.get_slot(CONTACT_PHONE) or "")
    related = tracker.get_slot(RELATED_TICKET_NO)
    lines = [
        "请确认投诉信息：",
        f"类别：{tracker.get_slot(COMPLAINT_CLASS)}",
        f"情况：{tracker.get_slot(COMPLAINT_DETAIL)}",
    ]
    if account and account != NO_ACCOUNT:
        lines.append(f"户号：{mask_account_no(account)}")
    if related:
        lines.append(f"关联工单：{related}")
    lines.append(
        f"联系电话：{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else f"联系电话：****{phone[-4:]}"
    )
    lines.append(f"方便联系时间：{tracker.get_slot(CONTACT_TIME)}")
    lines.append("确认提交吗？")
    return "\n".join(lines)


class ActionStartComplaint(Action):
    """Starts complaint_form with what the first message already says."""

    def name(self) -> str:
        return "action_start_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "").strip()
        if shows_strong_anger(text):
            # Strong anger goes to a person straight away; the agent lodges the complaint.
            return await hand_over(dispatcher, tracker, reason="angry_complaint")
        events: list[EventType] = [SlotSet(slot, None) for slot in COMPLAINT_SLOTS]
        guess = infer_class(text)
        if guess:
            events.append(SlotSet(COMPLAINT_CLASS_GUESS, guess))
        if is_descriptive(text):
            events.append(SlotSet(COMPLAINT_DETAIL, text[:500]))
        verified = verified_accounts(tracker)
        if len(verified) == 1:
            events.append(SlotSet(COMPLAINT_ACCOUNT, verified[0]))
        ticket_no = latest_entity_value(tracker, "ticket_no")
        if ticket_no:
            events.append(SlotSet(RELATED_TICKET_NO, ticket_no))
        phone = latest_entity_value(tracker, "phone")
        if phone and parse_phone(phone):
            events.append(SlotSet(CONTACT_PHONE, parse_phone(phone)))
        dispatcher.utter_message(text="很抱歉给您带来了不好的体验。我来帮您登记投诉，会有专人跟进处理。")
        return [*events, FollowupAction(COMPLAINT_FORM)]


class ValidateComplaintForm(BaseFormValidation):
    """Every answer here is free text whatever intent NLU gives it, so no intent interrupts the form;
    "算了/不投诉了" ends it at any step."""

    def name(self) -> str:
        return "validate_complaint_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot(COMPLAINT_CONFIRMED) in (NO, CANCELLED):
            return []
        needs_account = tracker.get_slot(COMPLAINT_CLASS) in ACCOUNT_CLASSES
        return [slot for slot in domain_slots if slot != COMPLAINT_ACCOUNT or needs_account]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        if tracker.get_slot(REQUESTED_SLOT) and wants_to_cancel(text):
            dispatcher.utter_message(text=CANCELLED_TEXT)
            return [
                *[SlotSet(slot, None) for slot in COMPLAINT_SLOTS if slot != COMPLAINT_CONFIRMED],
                SlotSet(COMPLAINT_CONFIRMED, CANCELLED),
                SlotSet(REQUESTED_SLOT, None),
                ActiveLoop(None),
            ]
        return await super().run(dispatcher, tracker, domain)

    async def validate_complaint_class(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        if slot_value in CLASSES:
            return {COMPLAINT_CLASS: slot_value}
        guess = tracker.get_slot(COMPLAINT_CLASS_GUESS)
        chosen = parse_class(str(slot_value), guess, latest_intent(tracker))
        if chosen is None:
            # "不是" to the guess: drop it and offer the full list.
            return {COMPLAINT_CLASS: None, COMPLAINT_CLASS_GUESS: None}
        return {COMPLAINT_CLASS: chosen}

    async def validate_complaint_detail(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        text = str(slot_value).strip()
        if len(text) < 4:
            dispatcher.utter_message(text=DETAIL_TOO_SHORT)
            return {COMPLAINT_DETAIL: None}
        return {COMPLAINT_DETAIL: text[:500]}

    async def validate_complaint_account(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        text = str(slot_value).strip()
        if text == NO_ACCOUNT or text in verified_accounts(tracker):
            return {COMPLAINT_ACCOUNT: text}
        if is_locked_out(tracker) or any(word in text for word in _SKIP_WORDS):
            return {COMPLAINT_ACCOUNT: NO_ACCOUNT}
        account, factor = account_and_factor(text, tracker)
        account = account or canonical_account_no(tracker.get_slot(ACCOUNT_NO))
        if account and account in verified_accounts(tracker):
            return {COMPLAINT_ACCOUNT: account}
        if account and factor is None:
            # Remembered in account_no; action_ask_complaint_account then asks for its factor.
            return {COMPLAINT_ACCOUNT: None, ACCOUNT_NO: account}
        if not account or factor is None:
            dispatcher.utter_message(text=replies.ACCOUNT_NO_FORMAT)
            return {COMPLAINT_ACCOUNT: None}
        return await self._verify(dispatcher, tracker, account, factor)

    async def _verify(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, account: str, factor: IdentityFactor
    ) -> dict[str, Any]:
        attempt = await verify(tracker, account, factor)
        slots: dict[str, Any] = {
            event["name"]: event["value"] for event in attempt.events if event.get("event") == "slot"
        }
        if attempt.outcome is Outcome.VERIFIED and attempt.account_no:
            return {**slots, COMPLAINT_ACCOUNT: attempt.account_no}
        if attempt.outcome is Outcome.MISMATCH and not attempt.locked_out:
            dispatcher.utter_message(text=replies.VERIFY_MISMATCH + "也可以回复“跳过”。")
            return {**slots, COMPLAINT_ACCOUNT: None, ACCOUNT_NO: None}
        # Locked out, backend down or malformed: the complaint goes on without the account.
        dispatcher.utter_message(text=VERIFY_FAILED_GO_ON)
        return {**slots, COMPLAINT_ACCOUNT: NO_ACCOUNT, ACCOUNT_NO: None}

    async def validate_contact_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        phone = parse_phone(str(slot_value))
        if phone is None:
            dispatcher.utter_message(text=PHONE_FORMAT)
        return {CONTACT_PHONE: phone}

    async def validate_contact_time(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        text = str(slot_value).strip()[:60]
        if any(word in text for word in _ANYTIME_WORDS):
            text = "随时都可以"
        return {CONTACT_TIME: text or None}

    async def validate_complaint_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value in (YES, NO, CANCELLED):
            return {COMPLAINT_CONFIRMED: slot_value}
        if slot_value is None:
            return {}
        verdict = parse_confirmation(str(slot_value), latest_intent(tracker))
        if verdict is None:
            dispatcher.utter_message(text=CONFIRM_AGAIN, buttons=CONFIRM_BUTTONS)
        return {COMPLAINT_CONFIRMED: verdict}


class ActionAskComplaintClass(Action):
    def name(self) -> str:
        return "action_ask_complaint_class"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        guess = tracker.get_slot(COMPLAINT_CLASS_GUESS)
        head = (
            ASK_CLASS_WITH_GUESS.format(guess=guess, covers=CLASSES[guess]) if guess in CLASSES else ASK_CLASS
        )
        dispatcher.utter_message(text=head, buttons=CLASS_BUTTONS)
        return []


class ActionAskComplaintDetail(_Ask):
    text = ASK_DETAIL

    def name(self) -> str:
        return "action_ask_complaint_detail"


class ActionAskComplaintAccount(Action):
    def name(self) -> str:
        return "action_ask_complaint_account"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        pending = canonical_account_no(tracker.get_slot(ACCOUNT_NO))
        if pending and pending not in verified_accounts(tracker):
            dispatcher.utter_message(text=ASK_ACCOUNT_FACTOR.format(account_masked=mask_account_no(pending)))
        else:
            dispatcher.utter_message(text=ASK_ACCOUNT)
        return []


class ActionAskContactPhone(_Ask):
    text = ASK_PHONE

    def name(self) -> str:
        return "action_ask_contact_phone"


class ActionAskContactTime(_Ask):
    text = ASK_TIME

    def name(self) -> str:
        return "action_ask_contact_time"


class ActionAskComplaintConfirmed(Action):
    def name(self) -> str:
        return "action_ask_complaint_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=summary(tracker), buttons=CONFIRM_BUTTONS)
        return []


async def _related_repair(tracker: Tracker, account: str | None, detail: str) -> str | None:
    """The newest open repair the customer can see, when the complaint is about a repair."""
    if not any(word in detail for word in _REPAIR_WORDS):
        return None
    try:
        orders = await get_backend_client().list_work_orders(
            conversation_id=tracker.sender_id, account_no=account
        )
    except BackendError as exc:
        logger.info("no repair link: %s", exc)
        return None
    for order in orders:
        if order.get("kind") == "repair" and order.get("status") not in ("closed", "withdrawn"):
            return str(order["ticket_no"])
    return None


def created_text(order: Mapping[str, Any], related: str | None) -> str:
    text = f"您的投诉已受理，工单号：{order['ticket_no']}（请记下，查询进度时告诉我这个号码就行）。"
    if related:
        text += f"已关联您之前的工单{related}。"
    return text + commitments(order)


class ActionSubmitComplaint(Action):
    """Runs when complaint_form ends: lodge after a "yes", otherwise say it was not lodged."""

    def name(self) -> str:
        return "action_submit_complaint"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        cleared: list[EventType] = [SlotSet(slot, None) for slot in COMPLAINT_SLOTS]
        verdict = tracker.get_slot(COMPLAINT_CONFIRMED)
        if verdict == CANCELLED:
            return cleared  # the validator already said so
        if verdict != YES:
            dispatcher.utter_message(text=CANCELLED_TEXT)
            return cleared
        account = tracker.get_slot(COMPLAINT_ACCOUNT)
        account = account if account and account != NO_ACCOUNT else None
        detail = str(tracker.get_slot(COMPLAINT_DETAIL) or "")
        related = tracker.get_slot(RELATED_TICKET_NO) or await _related_repair(tracker, account, detail)
        body: dict[str, Any] = {
            "conversation_id": tracker.sender_id,
            "channel": channel_of(tracker),
            "kind": "complaint",
            "category": tracker.get_slot(COMPLAINT_CLASS),
            "summary": detail,
            "account_no": account,
            "contact_phone": tracker.get_slot(CONTACT_PHONE),
            "contact_time": tracker.get_slot(CONTACT_TIME),
            "related_ticket_no": related,
        }
        client = get_backend_client()
        try:
            try:
                order = await client.lodge_work_order(**body)
            except AccountNotFound:
                # A number the customer named that is not theirs (or unknown): lodge without the link.
                related = None
                order = await client.lodge_work_order(**{**body, "related_ticket_no": None})
            except NotVerified:
                # The verification expired during the conversation: the handler checks the account.
                order = await client.lodge_work_order(**{**body, "account_no": None})
        except BackendError as exc:
            logger.warning("complaint not lodged: %s", exc)
            replies.offer_human(dispatcher, BACKEND_DOWN)
            return cleared
        dispatcher.utter_message(text=created_text(order, related))
        return cleared
