"""apply_service and query_application: one place to start any business application and follow it.

`action_start_application` finds the business type (from the message, or by asking with buttons
whose payloads come back as `/apply_service{"business_type": …}`); types on an existing account
verify it first through verify_form (PENDING_ANSWERS resumes the application afterwards).
`application_form` then collects what the type needs (config/applications.yml through the API),
shows a summary with the documents to bring and the time limit, and `action_submit_application`
creates the application only after an explicit yes. "去营业厅办" at any point gives the nearest
hall instead. `action_query_application` answers by number or for the verified account.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.backend_client import AccountNotFound, BackendError, NotVerified, get_backend_client
from actions.billing import start_verification
from actions.customer_input import canonical_account_no, mask_account_no, normalise_digits, parse_name
from actions.forms import REQUESTED_SLOT, BaseFormValidation, latest_entity_value, latest_intent
from actions.forms import FixedQuestion as _AskText
from actions.identity import PENDING_ANSWERS
from actions.repairs import parse_confirmation, parse_phone
from actions.verification import channel_of, is_locked_out, verified_accounts

logger = logging.getLogger(__name__)

APPLY_SERVICE = "apply_service"
QUERY_APPLICATION = "query_application"
APPLICATION_FORM = "application_form"

APPLICATION_TYPE = "application_type"
APPLICATION_ACCOUNT = "application_account"
APPLICATION_ADDRESS = "application_address"
APPLICATION_SUPPLY_CLASS = "application_supply_class"
APPLICATION_CAPACITY = "application_capacity"
APPLICATION_NEW_HOLDER = "application_new_holder"
APPLICATION_PHONE = "application_phone"
APPLICATION_SURVEY_TIME = "application_survey_time"
APPLICATION_CONFIRMED = "application_confirmed"
APPLICATION_SLOTS = (
    APPLICATION_TYPE, APPLICATION_ACCOUNT, APPLICATION_ADDRESS, APPLICATION_SUPPLY_CLASS,
    APPLICATION_CAPACITY, APPLICATION_NEW_HOLDER, APPLICATION_PHONE, APPLICATION_SURVEY_TIME,
    APPLICATION_CONFIRMED,
)  # fmt: skip
# Configured field -> the form slot that collects it.
FIELD_SLOTS = {
    "address": APPLICATION_ADDRESS,
    "supply_class": APPLICATION_SUPPLY_CLASS,
    "capacity_kw": APPLICATION_CAPACITY,
    "new_holder_name": APPLICATION_NEW_HOLDER,
    "contact_phone": APPLICATION_PHONE,
    "preferred_survey_time": APPLICATION_SURVEY_TIME,
}
YES, NO, CANCELLED, HALL = "yes", "no", "cancelled", "hall"
UNKNOWN_CAPACITY = "待现场勘查确定"
ANYTIME = "随时都可以"
RESIDENTIAL, NON_RESIDENTIAL = "residential", "low_voltage_non_residential"
SUPPLY_CLASS_LABELS = {RESIDENTIAL: "居民生活用电", NON_RESIDENTIAL: "生产经营用电（低压）"}
UNCONFIRMED = "以当地营业厅公布为准"
TYPES_CACHE_SECONDS = 300.0
BEIJING = timezone(timedelta(hours=8))

_CANCEL_WORDS = ("不办了", "先不办", "算了", "取消申请", "不申请了", "先不申请", "不用办了")
_HALL_WORDS = (
    "去营业厅",
    "到营业厅",
    "营业厅办",
    "去供电所",
    "到供电所",
    "供电所办",
    "当面办",
    "线下办",
    "柜台办",
)
_ANYTIME_WORDS = ("随时", "都行", "都可以", "啥时候都", "什么时候都")
_UNKNOWN_WORDS = ("不知道", "不清楚", "不确定", "说不准", "不懂")
_NON_RESIDENTIAL_WORDS = (
    "经营",
    "生产",
    "商",
    "店",
    "厂",
    "公司",
    "动力",
    "机井",
    "农业",
    "养殖",
    "非居民",
    "门面",
)
_CAPACITY_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

ASK_TYPE = "请问您要办理哪项用电业务？请选择（回复序号或名称）："
INTRO = "好的，我来帮您办理【{name}】：{description}"
NEEDS_ACCOUNT = "办理【{name}】需要先核实您现在的户号和身份。"
ASK_ADDRESS = "请告诉我用电地址：哪个乡镇、哪个村（或小区、街道）、几组几号。"
ADDRESS_TOO_SHORT = "地址请说得具体一些，比如“七里营镇刘庄村3组12号”。"
ASK_SUPPLY_CLASS = "这次用电主要做什么用？请选择（回复序号）："
ASK_CAPACITY = "大概需要多大的用电容量（千瓦）？比如“10千瓦”；不清楚可以回复“不知道”，现场勘查时再确定。"
ASK_CAPACITY_PV = "计划装多大的光伏（千瓦）？比如“8千瓦”；不清楚可以回复“不知道”，现场勘查时再确定。"
ASK_NEW_HOLDER = "请告诉我新户主的姓名。"
ASK_NEW_NAME = "请告诉我更改后的户名。"
NAME_FORMAT = "请只告诉我姓名，比如“王建国”。"
ASK_PHONE = "请留一个联系电话，工作人员会打这个电话跟您约时间。"
PHONE_FORMAT = "请留11位手机号（或带区号的座机号），比如13803731234。"
ASK_SURVEY_TIME = "您希望工作人员什么时候上门勘查？比如“明天上午”“周末”，或者“随时”。"
CONFIRM_AGAIN = "需要提交申请吗？请回复“确认”，或“先不办了”，也可以回复“去营业厅办”。"
CANCELLED_TEXT = "好的，这次先不提交申请。需要时随时跟我说“我要办业务”，也可以拨打" + replies.HOTLINE + "。"
BACKEND_DOWN = (
    "抱歉，业务受理系统暂时连接不上，您的申请还没有提交。您可以稍后再试、到供电营业厅办理，"
    "或拨打" + replies.HOTLINE + "，也可以转人工客服。"
)
VERIFICATION_EXPIRED = (
    "抱歉，身份验证已经过期，申请还没有提交。请再说一次“我要办{name}”，验证后马上为您提交。"
)
NONE_FOUND = "没有查到您的业务申请。如需办理，可以直接跟我说“我要装表”“我要过户”等。"
NUMBER_NOT_FOUND = (
    "没有查到您名下编号为{number}的申请，请核对一下编号（14位数字）；也可以不说编号，我帮您查名下的申请。"
)
QUERY_NEEDS_VERIFICATION = "查询业务办理进度需要先核实身份。"

CONFIRM_BUTTONS = [
    {"title": "确认提交", "payload": "/affirm"},
    {"title": "先不办了", "payload": "/deny"},
    {"title": "去营业厅办理", "payload": "我去营业厅办"},
]
SUPPLY_CLASS_BUTTONS = [{"title": label, "payload": label} for label in SUPPLY_CLASS_LABELS.values()]


# ---------------------------------------------------------------- configuration (through the API)

_types_cache: tuple[float, dict[str, Mapping[str, Any]]] | None = None


async def application_types() -> dict[str, Mapping[str, Any]]:
    """Types by name, cached for a few minutes: they change with configuration, not per message."""
    global _types_cache
    if _types_cache is not None and time.monotonic() - _types_cache[0] < TYPES_CACHE_SECONDS:
        return _types_cache[1]
    body = await get_backend_client().get_application_types()
    types = {str(kind["name"]): kind for kind in body.get("types") or []}
    _types_cache = (time.monotonic(), types)
    return types


def find_type(text: str, types: Mapping[str, Mapping[str, Any]]) -> str | None:
    for name in types:
        if name in text:
            return name
    for name, kind in types.items():
        if any(alias in text for alias in kind.get("aliases") or ()):
            return name
    return None


def type_buttons(types: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    return [
        {"title": name, "payload": "/apply_service" + json.dumps({"business_type": name}, ensure_ascii=False)}
        for name in types
    ]


def time_limit_text(kind: Mapping[str, Any], supply_class: str | None) -> str:
    """The committed limit when it is sourced; otherwise no number at all."""
    limits = list(kind.get("time_limits") or [])
    chosen = next((limit for limit in limits if limit.get("key") == (supply_class or RESIDENTIAL)), None)
    chosen = chosen or (limits[0] if limits else None)
    if not chosen or not chosen.get("quote_to_customer"):
        return f"办理时限：{UNCONFIRMED}。"
    suffix = "" if chosen.get("confirmed") else f"（{UNCONFIRMED}）"
    return (
        f"办理时限：{chosen['label']}用电，供电公司各环节合计不超过{chosen['working_days']}个工作日"
        f"（供电服务“十项承诺”）{suffix}。"
    )


def documents_text(kind: Mapping[str, Any]) -> str:
    lines = [f"办理需要准备（{UNCONFIRMED}）："]
    lines += [f"{index}. {doc}" for index, doc in enumerate(kind.get("documents") or [], start=1)]
    return "\n".join(lines)


# ---------------------------------------------------------------- parsing answers


def wants_to_cancel(text: str) -> bool:
    return any(word in text for word in _CANCEL_WORDS)


def wants_hall(text: str) -> bool:
    return any(word in text for word in _HALL_WORDS)


def parse_supply_class(text: str) -> str | None:
    stripped = text.strip()
    if stripped in ("1", "1.") or ("居民" in stripped and "非居民" not in stripped) or "家里" in stripped:
        return RESIDENTIAL
    if stripped in ("2", "2.") or any(word in stripped for word in _NON_RESIDENTIAL_WORDS):
        return NON_RESIDENTIAL
    if any(word in stripped for word in ("住", "自家", "生活", "盖房", "新房")):
        return RESIDENTIAL
    return None


def _chinese_number(text: str) -> int | None:
    """十, 十五, 二十, 二十五, 八 (the sizes people say for household capacity)."""
    match = re.search(r"([一二两三四五六七八九]?)十([一二三四五六七八九]?)|([一二两三四五六七八九])", text)
    if not match:
        return None
    if match.group(3):
        return _CN_DIGITS[match.group(3)]
    tens = _CN_DIGITS.get(match.group(1), 1) if match.group(1) else 1
    ones = _CN_DIGITS.get(match.group(2), 0) if match.group(2) else 0
    return tens * 10 + ones


def parse_capacity(text: str) -> str | None:
    if any(word in text for word in _UNKNOWN_WORDS):
        return UNKNOWN_CAPACITY
    digits = normalise_digits(text)
    found = _CAPACITY_NUMBER.search(digits)
    value: float | None = float(found.group(1)) if found else None
    if value is None:
        number = _chinese_number(text)
        value = float(number) if number is not None else None
    if value is None or value <= 0 or value > 100_000:
        return None
    shown = f"{value:g}"
    return f"{shown}千瓦"


def _deadline_day(iso: Any) -> str | None:
    """A deadline is stored as local midnight after the day: show that day."""
    if not iso:
        return None
    moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00")).astimezone(BEIJING) - timedelta(
        seconds=1
    )
    return f"{moment.month}月{moment.day}日"


def _day(iso: Any) -> str | None:
    if not iso:
        return None
    moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00")).astimezone(BEIJING)
    return f"{moment.month}月{moment.day}日"


def _mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else f"****{phone[-4:]}"


def _mask_name(name: str) -> str:
    return name[0] + "*" * (len(name) - 1) if len(name) <= 2 else name[0] + "*" + name[2:]


def describe_application(application: Mapping[str, Any]) -> str:
    """Step, since when, what is arranged, next step and its deadline, on time or overdue."""
    head = f"您的{application['business_type']}申请（编号{application['application_no']}）"
    if application.get("completed"):
        done = _day(application.get("completed_at"))
        return head + (f"已于{done}办结。" if done else "已办结。")
    lines = [head + "："]
    started = _day(application.get("step_started_at"))
    lines.append(f"当前环节：{application['current_step_label']}" + (f"（{started}开始）" if started else ""))
    if application.get("arrangement"):
        lines.append(f"安排：{application['arrangement']}")
    if application.get("next_step_label"):
        due = _deadline_day(application.get("next_step_due_at"))
        lines.append(f"下一环节：{application['next_step_label']}" + (f"，预计{due}前" if due else ""))
    quotable = bool(application.get("time_limit_quotable"))
    whole = _deadline_day(application.get("due_at"))
    if quotable and whole:
        suffix = "" if application.get("time_limit_confirmed") else f"，{UNCONFIRMED}"
        lines.append(
            f"承诺时限：{application['time_limit_label']}用电{application['time_limit_days']}个工作日，"
            f"应在{whole}前办结{suffix}。"
        )
    if application.get("overdue"):
        lines.append("目前已超出预定时间，您可以转人工客服催办，我们会尽快处理。")
    else:
        lines.append("目前按时办理中。")
    return "\n".join(lines)


# ---------------------------------------------------------------- apply_service


def _clear() -> list[EventType]:
    return [SlotSet(slot, None) for slot in APPLICATION_SLOTS]


async def _hall_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, kind: Mapping[str, Any] | None
) -> None:
    place = tracker.get_slot(APPLICATION_ADDRESS) or latest_entity_value(tracker, "address")
    account = tracker.get_slot(APPLICATION_ACCOUNT)
    client = get_backend_client()
    try:
        if not place and account:
            # The verified account's (masked) address still names its town.
            place = (
                await client.get_balance(account_no=account, conversation_id=tracker.sender_id)
            ).address_masked
        hall = await client.nearest_hall(place=place)
    except BackendError as exc:
        logger.warning("nearest hall unavailable: %s", exc)
        replies.offer_human(dispatcher, replies.BACKEND_DOWN)
        return
    text = f"好的，您可以到【{hall['name']}】办理：地址{hall['address']}，办公时间{hall['hours']}"
    text += "。" if hall.get("confirmed") else f"（{UNCONFIRMED}）。"
    if kind:
        text += "\n" + documents_text(kind)
    dispatcher.utter_message(text=text)


class ActionStartApplication(Action):
    """Finds the type, verifies an existing account when the type needs one, starts the form."""

    def name(self) -> str:
        return "action_start_application"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        try:
            types = await application_types()
        except BackendError as exc:
            logger.warning("application types unavailable: %s", exc)
            replies.offer_human(dispatcher, BACKEND_DOWN)
            return _clear()
        named = latest_entity_value(tracker, "business_type")
        name = named if named in types else find_type(text, types)
        if name is None:
            dispatcher.utter_message(text=ASK_TYPE, buttons=type_buttons(types))
            return _clear()
        kind = types[name]
        if wants_hall(text):
            await _hall_answer(dispatcher, tracker, kind)
            return _clear()
        dispatcher.utter_message(text=INTRO.format(name=name, description=kind.get("description", "")))
        events: list[EventType] = [*_clear(), SlotSet(APPLICATION_TYPE, name)]
        address = latest_entity_value(tracker, "address")
        if address and "address" in (kind.get("fields") or ()):
            events.append(SlotSet(APPLICATION_ADDRESS, address))
        phone = parse_phone(latest_entity_value(tracker, "phone") or "")
        if phone:
            events.append(SlotSet(APPLICATION_PHONE, phone))

        mode = kind.get("existing_account")
        account_named = canonical_account_no(latest_entity_value(tracker, "account_no"))
        verified = verified_accounts(tracker)
        if mode in ("required", "optional"):
            if account_named and account_named in verified:
                return [
                    *events,
                    SlotSet(APPLICATION_ACCOUNT, account_named),
                    FollowupAction(APPLICATION_FORM),
                ]
            if not account_named and len(verified) == 1:
                return [*events, SlotSet(APPLICATION_ACCOUNT, verified[0]), FollowupAction(APPLICATION_FORM)]
            if mode == "required" or account_named:
                if is_locked_out(tracker):
                    replies.offer_human(dispatcher, replies.LOCKED_OUT)
                    return _clear()
                dispatcher.utter_message(text=NEEDS_ACCOUNT.format(name=name))
                return [*events, *start_verification(account_named, APPLY_SERVICE)]
        return [*events, FollowupAction(APPLICATION_FORM)]


async def resume_application(
    dispatcher: CollectingDispatcher, tracker: Tracker, account_no: str
) -> list[EventType]:
    """After verify_form (PENDING_ANSWERS): go on with the application on the verified account."""
    if not tracker.get_slot(APPLICATION_TYPE):
        dispatcher.utter_message(text=replies.VERIFIED_NOTHING_PENDING)
        return []
    dispatcher.utter_message(text=f"身份验证已通过（户号{mask_account_no(account_no)}）。")
    return [SlotSet(APPLICATION_ACCOUNT, account_no), FollowupAction(APPLICATION_FORM)]


PENDING_ANSWERS[APPLY_SERVICE] = resume_application


class ValidateApplicationForm(BaseFormValidation):
    """Every answer is free text whatever intent NLU gives it; "算了/先不办了" ends the form and
    "去营业厅办" ends it with the nearest hall."""

    def name(self) -> str:
        return "validate_application_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot(APPLICATION_CONFIRMED) in (NO, CANCELLED, HALL):
            return []
        name = tracker.get_slot(APPLICATION_TYPE)
        try:
            kind = (await application_types()).get(str(name))
        except BackendError:
            kind = None
        if kind is None:
            return []  # action_submit_application explains; nothing is created
        has_account = bool(tracker.get_slot(APPLICATION_ACCOUNT))
        wanted = set()
        for field in kind.get("fields") or ():
            if has_account and field in ("address", "supply_class"):
                continue  # the account already says where and what for
            wanted.add(FIELD_SLOTS[field])
        wanted.add(APPLICATION_CONFIRMED)
        return [slot for slot in domain_slots if slot in wanted]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        if tracker.get_slot(REQUESTED_SLOT):
            verdict = CANCELLED if wants_to_cancel(text) else HALL if wants_hall(text) else None
            if verdict:
                return [
                    *[SlotSet(slot, None) for slot in FIELD_SLOTS.values() if slot != APPLICATION_ADDRESS],
                    SlotSet(APPLICATION_CONFIRMED, verdict),
                    SlotSet(REQUESTED_SLOT, None),
                    ActiveLoop(None),
                ]
        return await super().run(dispatcher, tracker, domain)

    async def validate_application_address(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        text = str(slot_value).strip()
        if len(text) < 4:
            dispatcher.utter_message(text=ADDRESS_TOO_SHORT)
            return {APPLICATION_ADDRESS: None}
        return {APPLICATION_ADDRESS: text[:200]}

    async def validate_application_supply_class(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value in SUPPLY_CLASS_LABELS.values():
            return {APPLICATION_SUPPLY_CLASS: slot_value}
        if slot_value is None:
            return {}
        code = parse_supply_class(str(slot_value))
        return {APPLICATION_SUPPLY_CLASS: SUPPLY_CLASS_LABELS[code] if code else None}

    async def validate_application_capacity(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        capacity = parse_capacity(str(slot_value))
        if capacity is None:
            dispatcher.utter_message(text="请说一个数，比如“10千瓦”；不清楚可以回复“不知道”。")
        return {APPLICATION_CAPACITY: capacity}

    async def validate_application_new_holder(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        name = latest_entity_value(tracker, "person_name") or parse_name(str(slot_value))
        if not name or parse_name(name) is None:
            dispatcher.utter_message(text=NAME_FORMAT)
            return {APPLICATION_NEW_HOLDER: None}
        return {APPLICATION_NEW_HOLDER: parse_name(name)}

    async def validate_application_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        phone = parse_phone(str(slot_value))
        if phone is None:
            dispatcher.utter_message(text=PHONE_FORMAT)
        return {APPLICATION_PHONE: phone}

    async def validate_application_survey_time(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        text = str(slot_value).strip()[:60]
        if any(word in text for word in _ANYTIME_WORDS):
            text = ANYTIME
        return {APPLICATION_SURVEY_TIME: text or None}

    async def validate_application_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value in (YES, NO, CANCELLED, HALL):
            return {APPLICATION_CONFIRMED: slot_value}
        if slot_value is None:
            return {}
        verdict = parse_confirmation(str(slot_value), latest_intent(tracker))
        if verdict is None:
            dispatcher.utter_message(text=CONFIRM_AGAIN, buttons=CONFIRM_BUTTONS)
        return {APPLICATION_CONFIRMED: verdict}


class ActionAskApplicationAddress(_AskText):
    text = ASK_ADDRESS

    def name(self) -> str:
        return "action_ask_application_address"


class ActionAskApplicationPhone(_AskText):
    text = ASK_PHONE

    def name(self) -> str:
        return "action_ask_application_phone"


class ActionAskApplicationSurveyTime(_AskText):
    text = ASK_SURVEY_TIME

    def name(self) -> str:
        return "action_ask_application_survey_time"


class ActionAskApplicationSupplyClass(_AskText):
    text, buttons = ASK_SUPPLY_CLASS, SUPPLY_CLASS_BUTTONS

    def name(self) -> str:
        return "action_ask_application_supply_class"


class ActionAskApplicationCapacity(Action):
    def name(self) -> str:
        return "action_ask_application_capacity"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        pv = tracker.get_slot(APPLICATION_TYPE) == "光伏并网"
        dispatcher.utter_message(text=ASK_CAPACITY_PV if pv else ASK_CAPACITY)
        return []


class ActionAskApplicationNewHolder(Action):
    def name(self) -> str:
        return "action_ask_application_new_holder"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        rename = tracker.get_slot(APPLICATION_TYPE) == "更名"
        dispatcher.utter_message(text=ASK_NEW_NAME if rename else ASK_NEW_HOLDER)
        return []


def _supply_class(tracker: Tracker) -> str | None:
    label = tracker.get_slot(APPLICATION_SUPPLY_CLASS)
    return next((key for key, value in SUPPLY_CLASS_LABELS.items() if value == label or key == label), None)


def summary(tracker: Tracker, kind: Mapping[str, Any]) -> str:
    lines = ["请确认您的申请信息：", f"业务：{kind['name']}"]
    account = tracker.get_slot(APPLICATION_ACCOUNT)
    if account:
        lines.append(f"户号：{mask_account_no(account)}")
    if tracker.get_slot(APPLICATION_ADDRESS):
        lines.append(f"用电地址：{tracker.get_slot(APPLICATION_ADDRESS)}")
    if tracker.get_slot(APPLICATION_SUPPLY_CLASS):
        lines.append(f"用电类别：{tracker.get_slot(APPLICATION_SUPPLY_CLASS)}")
    if tracker.get_slot(APPLICATION_CAPACITY):
        lines.append(f"容量：{tracker.get_slot(APPLICATION_CAPACITY)}")
    if tracker.get_slot(APPLICATION_NEW_HOLDER):
        label = "新户名" if kind["name"] == "更名" else "新户主"
        lines.append(f"{label}：{_mask_name(str(tracker.get_slot(APPLICATION_NEW_HOLDER)))}")
    if tracker.get_slot(APPLICATION_PHONE):
        lines.append(f"联系电话：{_mask_phone(str(tracker.get_slot(APPLICATION_PHONE)))}")
    if tracker.get_slot(APPLICATION_SURVEY_TIME):
        lines.append(f"希望上门时间：{tracker.get_slot(APPLICATION_SURVEY_TIME)}")
    lines.append(documents_text(kind))
    lines.append(time_limit_text(kind, _supply_class(tracker)))
    lines.append("确认提交吗？不想网上办，也可以回复“去营业厅办”。")
    return "\n".join(lines)


class ActionAskApplicationConfirmed(Action):
    def name(self) -> str:
        return "action_ask_application_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            kind = (await application_types()).get(str(tracker.get_slot(APPLICATION_TYPE)))
        except BackendError:
            kind = None
        if kind is None:
            dispatcher.utter_message(text=CONFIRM_AGAIN, buttons=CONFIRM_BUTTONS)
            return []
        dispatcher.utter_message(text=summary(tracker, kind), buttons=CONFIRM_BUTTONS)
        return []


def created_text(application: Mapping[str, Any]) -> str:
    text = (
        f"您的{application['business_type']}申请已受理，申请编号：{application['application_no']}"
        "（请记下，查询进度时告诉我这个编号就行）。"
    )
    if application.get("next_step_label"):
        text += f"下一步：{application['next_step_label']}，工作人员会打您留的电话联系您。"
    whole = _deadline_day(application.get("due_at"))
    if application.get("time_limit_quotable") and whole:
        suffix = "" if application.get("time_limit_confirmed") else f"（{UNCONFIRMED}）"
        text += f"按承诺应在{whole}前办结{suffix}。"
    return text + "每到一个新环节，我们都会通知您。"


class ActionSubmitApplication(Action):
    """Runs when application_form ends: create after a "yes"; the hall; or say nothing was made."""

    def name(self) -> str:
        return "action_submit_application"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        verdict = tracker.get_slot(APPLICATION_CONFIRMED)
        name = tracker.get_slot(APPLICATION_TYPE)
        if verdict == HALL:
            try:
                kind = (await application_types()).get(str(name))
            except BackendError:
                kind = None
            await _hall_answer(dispatcher, tracker, kind)
            return _clear()
        if verdict != YES or not name:
            dispatcher.utter_message(text=CANCELLED_TEXT)
            return _clear()
        body: dict[str, Any] = {
            "conversation_id": tracker.sender_id,
            "channel": channel_of(tracker),
            "business_type": name,
            "confirmed": True,
            "account_no": tracker.get_slot(APPLICATION_ACCOUNT),
            "address": tracker.get_slot(APPLICATION_ADDRESS),
            "supply_class": _supply_class(tracker),
            "contact_phone": tracker.get_slot(APPLICATION_PHONE),
            "capacity_kw": tracker.get_slot(APPLICATION_CAPACITY),
            "new_holder_name": tracker.get_slot(APPLICATION_NEW_HOLDER),
            "preferred_survey_time": tracker.get_slot(APPLICATION_SURVEY_TIME),
        }
        try:
            created = await get_backend_client().create_application(**body)
        except NotVerified:
            dispatcher.utter_message(text=VERIFICATION_EXPIRED.format(name=name))
            return _clear()
        except BackendError as exc:
            logger.warning("application not created: %s", exc)
            replies.offer_human(dispatcher, BACKEND_DOWN)
            return _clear()
        dispatcher.utter_message(text=created_text(created))
        return _clear()


# ---------------------------------------------------------------- query_application


def answer_list(dispatcher: CollectingDispatcher, found: list[Mapping[str, Any]]) -> list[EventType]:
    if not found:
        dispatcher.utter_message(text=NONE_FOUND)
        return []
    open_first = sorted(found, key=lambda item: bool(item.get("completed")))
    shown = open_first[:3]
    lines = [describe_application(item) for item in shown]
    if len(found) > len(shown):
        lines.append("（只列出了最近的申请；查其他申请请告诉我申请编号。）")
    buttons = [replies.HUMAN_BUTTON] if any(item.get("overdue") for item in shown) else None
    dispatcher.utter_message(text="\n\n".join(lines), buttons=buttons)
    return []


async def answer_applications(
    dispatcher: CollectingDispatcher, tracker: Tracker, account_no: str
) -> list[EventType]:
    """After verification (PENDING_ANSWERS): the applications this conversation may now see."""
    try:
        found = await get_backend_client().list_applications(conversation_id=tracker.sender_id)
    except BackendError as exc:
        logger.warning("application lookup unavailable: %s", exc)
        replies.offer_human(dispatcher, replies.BACKEND_DOWN)
        return []
    return answer_list(dispatcher, list(found))


PENDING_ANSWERS[QUERY_APPLICATION] = answer_applications


class ActionQueryApplication(Action):
    def name(self) -> str:
        return "action_query_application"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        client = get_backend_client()
        number = latest_entity_value(tracker, "ticket_no")
        try:
            if number:
                try:
                    found = await client.get_application(
                        application_no=number, conversation_id=tracker.sender_id
                    )
                except AccountNotFound:
                    found = None
                if found is not None:
                    return answer_list(dispatcher, [found])
                if verified_accounts(tracker):
                    dispatcher.utter_message(text=NUMBER_NOT_FOUND.format(number=number))
                    return []
            else:
                listed = await client.list_applications(conversation_id=tracker.sender_id)
                if listed:
                    return answer_list(dispatcher, list(listed))
                if verified_accounts(tracker):
                    dispatcher.utter_message(text=NONE_FOUND)
                    return []
        except BackendError as exc:
            logger.warning("application lookup unavailable: %s", exc)
            replies.offer_human(dispatcher, replies.BACKEND_DOWN)
            return []
        if is_locked_out(tracker):
            replies.offer_human(dispatcher, replies.LOCKED_OUT)
            return []
        dispatcher.utter_message(text=QUERY_NEEDS_VERIFICATION)
        return start_verification(
            canonical_account_no(latest_entity_value(tracker, "account_no")), QUERY_APPLICATION
        )
