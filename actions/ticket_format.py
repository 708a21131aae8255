"""How work orders are worded for customers: numbers, status, handler, deadlines, commitments.

Shared by complaints, feedback, query_ticket and ratings. Input is the JSON of
/api/v1/workorders (api/routes/workorders.py, WorkOrderOut). Time limits from configuration
that are not confirmed for 国网河南 are quoted with "以当地营业厅公布为准".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from actions.outages import beijing_now, local_time

CAVEAT = "以当地营业厅公布为准"
RATING_QUESTION = "请您对这次处理结果做个评价：非常满意、满意、一般、不满意、非常不满意（也可以打1到5分）。"
OPEN_STATUSES = frozenset({"accepted", "dispatched", "acknowledged", "in_progress", "answered", "follow_up"})
RATEABLE_STATUSES = frozenset({"answered", "follow_up"})
_WEEKDAYS = "一二三四五六日"

# Kind-specific wording (repairs: crew progress). Capabilities add theirs with register_describer.
KindDescriber = Callable[[Mapping[str, Any]], str]
_KIND_DESCRIBERS: dict[str, KindDescriber] = {}


def register_describer(kind: str, describer: KindDescriber) -> None:
    _KIND_DESCRIBERS[kind] = describer


def day_text(moment: datetime, today: date) -> str:
    names = {0: "今天", 1: "明天", 2: "后天"}
    offset = (moment.date() - today).days
    if offset in names:
        return names[offset]
    return f"{moment.month}月{moment.day}日（周{_WEEKDAYS[moment.weekday()]}）"


def time_text(value: str | None, today: date | None = None) -> str | None:
    """“明天14:06”; a due time at the very end of a day reads “12月2日（周三）前”."""
    moment = local_time(value)
    if moment is None:
        return None
    today = today or beijing_now().date()
    if (moment.hour, moment.minute) == (23, 59):
        return day_text(moment, today)
    return f"{day_text(moment, today)}{moment:%H:%M}"


def commitments(order: Mapping[str, Any], today: date | None = None) -> str:
    """The committed contact and answer times of a newly lodged order, in one sentence."""
    parts = []
    contact = time_text(order.get("contact_due_at"), today)
    answer = time_text(order.get("answer_due_at"), today)
    if contact:
        parts.append(f"工作人员会在{contact}前与您联系")
    if answer:
        parts.append(f"在{answer}前答复处理结果")
    if not parts:
        return ""
    caveat = "" if order.get("limits_confirmed") else f"（时限{CAVEAT}）"
    return "，".join(parts) + caveat + "。"


def describe_order(order: Mapping[str, Any], today: date | None = None) -> str:
    """Status, current handler, next deadline and, once given, the answer."""
    kind = str(order.get("kind") or "")
    if kind in _KIND_DESCRIBERS:
        return _KIND_DESCRIBERS[kind](order)
    label = order.get("kind_label") or "工单"
    category = order.get("category")
    head = f"{label}工单{order['ticket_no']}" + (f"（{category}）" if category and category != label else "")
    status = order.get("status_label") or order.get("status")
    handler = order.get("handler")
    text = f"{head}：{status}" + (f"，处理单位：{handler}" if handler else "")
    if order.get("reopen_count"):
        text += "（已重办）"
    deadline = time_text(order.get("next_deadline_at"), today)
    if deadline and order.get("status") in OPEN_STATUSES:
        step = "联系您" if order.get("next_deadline_kind") == "contact" else "答复"
        caveat = "" if order.get("limits_confirmed") else f"，{CAVEAT}"
        text += f"。应在{deadline}前{step}（{'时限' + caveat[1:] if caveat else '承诺时限'}）"
    if order.get("answer"):
        text += f"。处理答复：{order['answer']}"
    if order.get("rating"):
        text += f"。您的评价：{order['rating']}"
    return text + "。"


def needs_rating(order: Mapping[str, Any]) -> bool:
    return order.get("status") in RATEABLE_STATUSES and not (
        order.get("rating") and not order.get("reopen_count")
    )


def pick_orders(orders: list[Mapping[str, Any]], limit: int = 3) -> list[Mapping[str, Any]]:
    """Open orders first (newest first, as the API lists them); else the latest closed one."""
    open_orders = [o for o in orders if o.get("status") in OPEN_STATUSES]
    return open_orders[:limit] if open_orders else orders[:1]
