"""report_fault: known outages first, then safe self-checks, then a confirmed repair order.

`action_report_fault` starts `fault_form` (address — or the one verified account's —, fault type,
self-check for in-house faults, callback phone, description, confirmation). The address is
checked against known outages as soon as it is given: if a planned outage or an active fault
covers it the customer hears that, with the expected restoration, and no order is opened.
`action_submit_fault` runs when the form ends and creates the order only after a "yes".

`describe_repair(ticket_json)` words a repair order's status for query_ticket (actions/tickets.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import replies
from actions.backend_client import BackendError, BackendRejected, get_backend_client
from actions.customer_input import mask_account_no
from actions.forms import REQUESTED_SLOT, BaseFormValidation, latest_entity_value, latest_intent
from actions.forms import FixedQuestion as _Ask
from actions.outages import beijing_now, describe_outage, local_time, when_text
from actions.verification import channel_of, verified_accounts
from bot.entity_values import canonical_value

logger = logging.getLogger(__name__)

FAULT_FORM = "fault_form"
FAULT_ADDRESS = "fault_address"
FAULT_ACCOUNT = "fault_account"
FAULT_TYPE = "fault_type"
FAULT_SELF_CHECK = "fault_self_check"
CALLBACK_PHONE = "callback_phone"
FAULT_DESCRIPTION = "fault_description"
FAULT_CONFIRM = "fault_confirm"
FAULT_KNOWN = "fault_known"
FAULT_SLOTS = (
    FAULT_ADDRESS, FAULT_ACCOUNT, FAULT_TYPE, FAULT_SELF_CHECK, CALLBACK_PHONE, FAULT_DESCRIPTION,
    FAULT_CONFIRM, FAULT_KNOWN,
)  # fmt: skip

FAULT_TYPES = ("全户停电", "跳闸", "电压低", "电表故障", "线路故障", "其他")
# Faults whose cause is often the customer's own breaker or leakage protector.
SELF_CHECK_TYPES = frozenset({"全户停电", "跳闸"})
RESOLVED, STILL_NEEDED = "resolved", "still_needed"
YES, NO = "yes", "no"
AREA_LABELS = {"urban": "城区", "rural": "农村地区", "remote": "偏远地区"}
COMMITMENT_CAVEAT = "以当地营业厅公布为准"

ASK_ADDRESS = "请告诉我停电（出故障）的详细地址：乡镇、村、组和门牌号，比如“七里营镇七里营村3组12号”。"
ASK_TYPE = "请问是哪种情况？"
TYPE_BUTTONS = [{"title": name, "payload": f'/inform{{"fault_type": "{name}"}}'} for name in FAULT_TYPES]
ASK_SELF_CHECK = (
    "先请您看一下家里（或表箱里）的空气开关（总闸）和漏电保护器有没有跳下来（把手朝下）：\n"
    "1. 先关掉空调、电暖器、电磁炉等大功率电器；\n"
    "2. 手要干燥，站在干燥的地方，把跳下来的开关往上推合上；\n"
    "3. 合不上或者一合就跳，就不要反复硬合，也不要自己拆开电表箱。\n"
    "合上以后来电了吗？"
)
SELF_CHECK_BUTTONS = [
    {"title": "来电了", "payload": "/affirm"},
    {"title": "还是没电", "payload": "/deny"},
]
CONFIRM_BUTTONS = [{"title": "确认报修", "payload": "/affirm"}, {"title": "先不报了", "payload": "/deny"}]
ASK_PHONE = "请留一个抢修人员能联系到您的手机号。"
ASK_DESCRIPTION = "请简单说一下情况，比如什么时候开始的、邻居家有没有电。"
SELF_CHECK_RESOLVED = (
    "来电了就好！如果开关反复跳闸，说明家里线路或电器可能有问题，建议请电工检查。还有别的需要帮忙吗？"
)
CANCELLED = "好的，这次先不登记报修。如果还需要，随时跟我说“报修”，或拨打" + replies.HOTLINE + "。"
PHONE_FORMAT = "手机号是11位数字（比如138开头），请再说一遍。"
ADDRESS_NOT_UNDERSTOOD = (
    "抱歉，没听出是新乡县的哪个地方。请说乡镇、村和组，比如“七里营镇七里营村3组12号”；县城请说街道和小区。"
)
KNOWN_OUTAGE_PREFIX = "您那里的停电我们已经知道了，正在处理，不用再单独报修：\n"
BACKEND_DOWN = (
    "抱歉，报修系统暂时连接不上。请拨打" + replies.HOTLINE + "供电服务热线（24小时）报修，也可以转人工客服。"
)

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)((?:0373-?)?\d{7,8})(?!\d)")
_RESOLVED_WORDS = ("来电了", "有电了", "好了", "亮了", "合上了", "没事了", "正常了")
_NEGATIONS = ("没", "不", "还是", "合不上", "又跳", "一合就跳")


def _digits(text: str) -> str:
    return re.sub(r"[\s\-—]", "", text)


def parse_phone(text: str) -> str | None:
    compact = _digits(text)
    match = _PHONE.search(compact) or _LANDLINE.search(compact)
    return match.group(1) if match else None


def parse_fault_type(text: str) -> str | None:
    """The catalog's fault type for a span or a free-text answer (bot/entity_values.yml)."""
    if text in FAULT_TYPES:
        return text
    return canonical_value("fault_type", text) or ("其他" if text.strip() else None)


def parse_self_check(text: str, intent: str | None) -> str | None:
    if intent == "affirm":
        return RESOLVED
    if intent == "deny":
        return STILL_NEEDED
    if any(word in text for word in _NEGATIONS):
        return STILL_NEEDED
    if any(word in text for word in _RESOLVED_WORDS):
        return RESOLVED
    return None


def parse_confirmation(text: str, intent: str | None) -> str | None:
    if intent == "affirm":
        return YES
    if intent == "deny" or any(word in text for word in ("不", "算了", "取消", "别")):
        return NO
    if any(word in text for word in ("确认", "对", "是", "好", "行", "中", "提交")):
        return YES
    return None


def _mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else f"****{phone[-4:]}"


def known_outage_text(outage: Mapping[str, Any], today: date) -> str:
    return KNOWN_OUTAGE_PREFIX + describe_outage(outage, today)


def commitment_text(repair: Mapping[str, Any]) -> str:
    minutes = repair.get("arrival_minutes")
    due = local_time(repair.get("arrival_due_at"))
    if not minutes or due is None:
        return ""
    area = AREA_LABELS.get(str(repair.get("area_type")), "您所在地区")
    duration = f"{minutes // 60}小时" if minutes % 60 == 0 else f"{minutes}分钟"
    return (
        f"按供电服务承诺，{area}抢修人员平均{duration}内到达现场（{COMMITMENT_CAVEAT}），"
        f"预计{when_text(due, beijing_now().date())}前到达。"
    )


def created_text(repair: Mapping[str, Any]) -> str:
    text = f"已为您登记抢修，工单号：{repair['ticket_no']}。{commitment_text(repair)}"
    if repair.get("probable_area_fault"):
        text += "您村里还有几户也报了停电，可能是线路故障，我们会一并安排处理。"
    return text + "抢修人员出发前可能会打电话联系您，请保持电话畅通。查询进度时告诉我工单号就可以。"


# ---------------------------------------------------------------- query_ticket hook

_PROGRESS_STEPS = (
    ("fixed_at", "已修复"),
    ("arrived_at", "抢修人员已到达现场"),
    ("on_the_way_at", "抢修人员已出发"),
    ("dispatched_at", "已派单"),
)
_ARRIVAL_STATES = {
    "met": "抢修人员按承诺时间到达了现场。",
    "late": "抢修人员比承诺时间晚到了，非常抱歉。",
    "on_track": "目前在承诺的到达时间内。",
    "overdue": "已经超过承诺的到达时间，非常抱歉，我们会督促尽快到达；着急的话可以转人工客服催办。",
}


def describe_repair(ticket_json: Mapping[str, Any]) -> str:
    """A repair order's status in one message: where the crew is, with times, and the arrival check.

    Accepts the work-order view of /api/v1/workorders (repair facts under "extra", filled by
    backend.services.repairs.describe_repair_extra) or the view of /api/v1/repairs (flat).
    """
    facts: Mapping[str, Any] = {**ticket_json, **(ticket_json.get("extra") or {})}
    today = beijing_now().date()
    number = facts.get("ticket_no", "")
    kind = "险情抢修" if facts.get("hazard") else "故障报修"
    parts = [f"{kind}工单{number}"]
    created = local_time(facts.get("created_at"))
    if created:
        parts[0] += f"（{when_text(created, today)}受理）"
    progress: Mapping[str, Any] = facts.get("progress") or {}
    latest = next(((key, label) for key, label in _PROGRESS_STEPS if progress.get(key)), None)
    if latest is not None:
        at = local_time(progress[latest[0]])
        parts.append(f"当前：{latest[1]}" + (f"（{when_text(at, today)}）" if at else ""))
        earlier = [
            f"{label}{when_text(moment, today)}"
            for key, label in reversed(_PROGRESS_STEPS)
            if key != latest[0] and (moment := local_time(progress.get(key))) is not None
        ]
        if earlier:
            parts.append("经过：" + "，".join(earlier))
    else:
        parts.append(f"当前：{facts.get('status_label') or '已受理'}，正在安排抢修人员")
    text = "；".join(parts) + "。"
    state = facts.get("arrival_state")
    due = local_time(facts.get("arrival_due_at"))
    if state in _ARRIVAL_STATES:
        if due is not None and state in ("on_track", "overdue"):
            text += f"承诺到达时间：{when_text(due, today)}前（{COMMITMENT_CAVEAT}）。"
        text += _ARRIVAL_STATES[str(state)]
    return text


# ---------------------------------------------------------------- actions


class ActionReportFault(Action):
    """Starts fault_form with what the first message already says."""

    def name(self) -> str:
        return "action_report_fault"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet(slot, None) for slot in FAULT_SLOTS]
        fault_type = latest_entity_value(tracker, FAULT_TYPE)
        if fault_type:
            events.append(SlotSet(FAULT_TYPE, parse_fault_type(fault_type)))
        text = str(tracker.latest_message.get("text") or "").strip()
        # "俺家没电了邻居家都有电" is already the description; a bare "报修" is not.
        if len(text) > 6:
            events.append(SlotSet(FAULT_DESCRIPTION, text[:300]))
        phone = latest_entity_value(tracker, "phone")
        if phone and parse_phone(phone):
            events.append(SlotSet(CALLBACK_PHONE, parse_phone(phone)))
        address = latest_entity_value(tracker, "address")
        verified = verified_accounts(tracker)
        if address:
            events.append(SlotSet(FAULT_ADDRESS, address))
        elif len(verified) == 1:
            events.append(SlotSet(FAULT_ACCOUNT, verified[0]))
            known = await _known_outage(dispatcher, tracker, place=None, account_no=verified[0])
            if known is True:
                return [*events, SlotSet(FAULT_KNOWN, True)]
        return [*events, FollowupAction(FAULT_FORM)]


async def _known_outage(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, place: str | None, account_no: str | None
) -> bool | None:
    """True (and tells the customer) when a known outage covers the place now; None: place not ours."""
    try:
        result = await get_backend_client().search_outages(
            place=place, account_no=account_no, conversation_id=tracker.sender_id if account_no else None
        )
    except BackendError as exc:
        # Cannot check: go on collecting; the order request will check again server-side.
        logger.warning("outage check unavailable: %s", exc)
        return False
    if not (result.get("place") or {}).get("town"):
        return None
    covered = [o for o in result.get("outages") or [] if o.get("match") == "covered"]
    if covered:
        dispatcher.utter_message(text=known_outage_text(covered[0], beijing_now().date()))
        return True
    return False


class ValidateFaultForm(BaseFormValidation):
    answer_intents = frozenset({"inform", "affirm", "deny", "nlu_fallback", "report_fault"})
    free_text_slots = (FAULT_ADDRESS, FAULT_TYPE, FAULT_SELF_CHECK, CALLBACK_PHONE, FAULT_DESCRIPTION)

    def name(self) -> str:
        return "validate_fault_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot(FAULT_KNOWN) or tracker.get_slot(FAULT_CONFIRM) == NO:
            return []
        slots = [] if tracker.get_slot(FAULT_ACCOUNT) else [FAULT_ADDRESS]
        slots.append(FAULT_TYPE)
        if tracker.get_slot(FAULT_TYPE) in SELF_CHECK_TYPES:
            slots.append(FAULT_SELF_CHECK)
            if tracker.get_slot(FAULT_SELF_CHECK) == RESOLVED:
                return slots
        return [*slots, CALLBACK_PHONE, FAULT_DESCRIPTION, FAULT_CONFIRM]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if self.is_interruption(tracker, self.free_text_slots) and not self._answers_yes_no(tracker):
            return self.reject(self.free_text_slots)
        return await super().run(dispatcher, tracker, domain)

    def _answers_yes_no(self, tracker: Tracker) -> bool:
        """ "合上了，来电了" reads like an outage question to NLU, but answers "来电了吗？"."""
        text = str(tracker.latest_message.get("text") or "")
        requested = tracker.get_slot(REQUESTED_SLOT)
        if requested == FAULT_SELF_CHECK:
            return parse_self_check(text, latest_intent(tracker)) is not None
        if requested == FAULT_CONFIRM:
            return parse_confirmation(text, latest_intent(tracker)) is not None
        return False

    def _cancelled(self, tracker: Tracker, slot: str) -> dict[str, Any] | None:
        """ "算了/不报了" while being asked for a detail ends the report."""
        if latest_intent(tracker) == "deny" and tracker.get_slot(REQUESTED_SLOT) == slot:
            return {slot: None, FAULT_CONFIRM: NO}
        return None

    async def validate_fault_address(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        cancelled = self._cancelled(tracker, FAULT_ADDRESS)
        if cancelled:
            return cancelled
        address = str(slot_value).strip()[:200]
        known = await _known_outage(dispatcher, tracker, place=address, account_no=None)
        if known is None:
            dispatcher.utter_message(text=ADDRESS_NOT_UNDERSTOOD)
            return {FAULT_ADDRESS: None}
        return {FAULT_ADDRESS: address, FAULT_KNOWN: True if known else None}

    async def validate_fault_type(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        cancelled = self._cancelled(tracker, FAULT_TYPE)
        if cancelled:
            return cancelled
        return {FAULT_TYPE: parse_fault_type(str(slot_value))}

    async def validate_fault_self_check(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        text = str(tracker.latest_message.get("text") or slot_value)
        verdict = parse_self_check(text, latest_intent(tracker))
        if verdict is None:
            dispatcher.utter_message(text="合上开关以后来电了吗？", buttons=SELF_CHECK_BUTTONS)
        return {FAULT_SELF_CHECK: verdict}

    async def validate_callback_phone(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        cancelled = self._cancelled(tracker, CALLBACK_PHONE)
        if cancelled:
            return cancelled
        phone = parse_phone(str(slot_value))
        if phone is None:
            dispatcher.utter_message(text=PHONE_FORMAT)
        return {CALLBACK_PHONE: phone}

    async def validate_fault_description(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value is None:
            return {}
        text = str(slot_value).strip()[:300]
        return {FAULT_DESCRIPTION: text or None}

    async def validate_fault_confirm(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if slot_value in (YES, NO):
            return {FAULT_CONFIRM: slot_value}
        if slot_value is None:
            return {}
        verdict = parse_confirmation(str(slot_value), latest_intent(tracker))
        if verdict is None:
            dispatcher.utter_message(text="需要提交报修吗？请回复“确认”或“不报了”。", buttons=CONFIRM_BUTTONS)
        return {FAULT_CONFIRM: verdict}


def _summary(tracker: Tracker) -> str:
    account = tracker.get_slot(FAULT_ACCOUNT)
    where = (
        f"户号{mask_account_no(account)}的用电地址" if account else str(tracker.get_slot(FAULT_ADDRESS) or "")
    )
    phone = str(tracker.get_slot(CALLBACK_PHONE) or "")
    return (
        "请确认报修信息：\n"
        f"地址：{where}\n"
        f"故障：{tracker.get_slot(FAULT_TYPE)}\n"
        f"联系电话：{_mask_phone(phone) if phone else '未留'}\n"
        f"情况：{tracker.get_slot(FAULT_DESCRIPTION) or '无'}\n"
        "确认提交报修吗？"
    )


class ActionAskFaultConfirm(Action):
    def name(self) -> str:
        return "action_ask_fault_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=_summary(tracker), buttons=CONFIRM_BUTTONS)
        return []


class ActionAskFaultAddress(_Ask):
    text = ASK_ADDRESS

    def name(self) -> str:
        return "action_ask_fault_address"


class ActionAskFaultType(_Ask):
    text, buttons = ASK_TYPE, TYPE_BUTTONS

    def name(self) -> str:
        return "action_ask_fault_type"


class ActionAskFaultSelfCheck(_Ask):
    text, buttons = ASK_SELF_CHECK, SELF_CHECK_BUTTONS

    def name(self) -> str:
        return "action_ask_fault_self_check"


class ActionAskCallbackPhone(_Ask):
    text = ASK_PHONE

    def name(self) -> str:
        return "action_ask_callback_phone"


class ActionAskFaultDescription(_Ask):
    text = ASK_DESCRIPTION

    def name(self) -> str:
        return "action_ask_fault_description"


class ActionSubmitFault(Action):
    """When fault_form ends: nothing more for a known outage; else the order, after a yes."""

    def name(self) -> str:
        return "action_submit_fault"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        done: list[EventType] = [SlotSet(slot, None) for slot in FAULT_SLOTS]
        if tracker.get_slot(FAULT_KNOWN):
            return done  # already told, with the restoration time
        if tracker.get_slot(FAULT_SELF_CHECK) == RESOLVED:
            dispatcher.utter_message(text=SELF_CHECK_RESOLVED)
            return done
        if tracker.get_slot(FAULT_CONFIRM) != YES:
            dispatcher.utter_message(text=CANCELLED)
            return done
        account = tracker.get_slot(FAULT_ACCOUNT)
        try:
            result = await get_backend_client().report_fault(
                conversation_id=tracker.sender_id,
                channel=channel_of(tracker),
                address=None if account else tracker.get_slot(FAULT_ADDRESS),
                account_no=account,
                fault_type=tracker.get_slot(FAULT_TYPE) or "其他",
                contact_phone=tracker.get_slot(CALLBACK_PHONE),
                description=tracker.get_slot(FAULT_DESCRIPTION),
            )
        except BackendRejected as exc:
            logger.warning("repair order refused: %s", exc)
            replies.offer_human(dispatcher, BACKEND_DOWN)
            return done
        except BackendError as exc:
            logger.warning("repair order unavailable: %s", exc)
            replies.offer_human(dispatcher, BACKEND_DOWN)
            return done
        today = beijing_now().date()
        if result.get("outcome") == "known_outage" and result.get("known_outage"):
            dispatcher.utter_message(text=known_outage_text(result["known_outage"], today))
        elif result.get("outcome") == "existing_order" and result.get("repair"):
            repair = result["repair"]
            dispatcher.utter_message(
                text=f"您已经报修过了，工单号：{repair['ticket_no']}，不用重复报修。"
                + describe_repair(repair)
            )
        elif result.get("repair"):
            dispatcher.utter_message(text=created_text(result["repair"]))
        else:
            replies.offer_human(dispatcher, BACKEND_DOWN)
        return done
