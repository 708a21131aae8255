"""Outages, fault repair and hazards end to end through /wechat, with the demo outages:
七里营镇 planned tomorrow 08:00–18:00 (线路检修), 小冀镇 active fault, 合河乡 nothing."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.models import Ticket
from backend.services.conversations import conversation_id_for

if TYPE_CHECKING:  # only a type: the fixture comes from conftest.py whatever the import mode
    from tests.e2e.conftest import Stack

TICKET_NO = re.compile(r"工单号：(\d{14})")


def new_openid() -> str:
    return f"o_e2e_{secrets.token_hex(6)}"


def tickets_of(stack: Stack, openid: str) -> list[Ticket]:
    engine = make_engine(stack.database_url)
    try:
        with Session(engine) as session:
            conversation = conversation_id_for("wechat", openid)
            return list(session.scalars(select(Ticket).where(Ticket.conversation_id == conversation)))
    finally:
        engine.dispose()


def test_planned_outage_tomorrow_at_qiliying(stack: Stack) -> None:
    answer = stack.wechat(new_openid(), "明天七里营停电不")
    assert "08:00至18:00" in answer and "线路检修" in answer
    assert "七里营村" in answer


def test_active_fault_at_xiaoji_with_expected_restoration(stack: Stack) -> None:
    answer = stack.wechat(new_openid(), "小冀镇工业路啥时候来电")
    assert "故障停电" in answer and "恢复供电" in answer


def test_nothing_known_at_hehe_offers_a_repair(stack: Stack) -> None:
    answer = stack.wechat(new_openid(), "明天合河乡停电不")
    assert "没有查到" in answer and "报修" in answer


def test_our_village_again_asks_where_then_answers(stack: Stack) -> None:
    openid = new_openid()
    question = stack.wechat(openid, "俺村咋又停电了")
    assert "哪个乡镇" in question
    answer = stack.wechat(openid, "七里营镇东街村")
    assert "停电" in answer  # either the known outage or a clear "none known" with a repair offer


def test_hazard_first_reply_is_the_safety_message_then_an_urgent_order(stack: Stack) -> None:
    openid = new_openid()
    first = stack.wechat(openid, "电线掉地上了")
    assert first.startswith("【安全提示】")
    assert "8米" in first and "位置" in first
    assert tickets_of(stack, openid) == []  # nothing was written before the safety message went out
    registered = stack.wechat(openid, "七里营镇刘庄村村口3号电线杆旁边")
    match = TICKET_NO.search(registered)
    assert match, registered
    [order] = tickets_of(stack, openid)
    assert order.ticket_no == match.group(1) and order.priority == "urgent"
    assert (order.details or {}).get("needs_immediate_human") is True


def test_no_duplicate_repair_inside_a_known_fault(stack: Stack) -> None:
    openid = new_openid()
    ask = stack.wechat(openid, "俺家没电了")
    assert "地址" in ask
    answer = stack.wechat(openid, "小冀镇工业路18号")
    assert "已经知道" in answer and "恢复供电" in answer
    assert "工单号" not in answer
    assert tickets_of(stack, openid) == []


def test_repair_order_with_committed_arrival_time(stack: Stack) -> None:
    openid = new_openid()
    stack.wechat(openid, "俺家没电了邻居家都有电")
    self_check = stack.wechat(openid, "合河乡合河村4组15号")
    assert "漏电保护器" in self_check
    ask_phone = stack.wechat(openid, "还是没电")
    assert "手机号" in ask_phone
    summary = stack.wechat(openid, "18239731122")
    assert "请确认报修信息" in summary and "182****1122" in summary
    created = stack.wechat(openid, "确认")
    match = TICKET_NO.search(created)
    assert match, created
    assert "90分钟" in created and "以当地营业厅公布为准" in created
    assert len(tickets_of(stack, openid)) == 1

    # query_ticket for repairs: actions/tickets.py words repair orders with actions.repairs.describe_repair.
    status = stack.wechat(openid, f"查一下工单{match.group(1)}")
    assert match.group(1) in status and "承诺" in status


def test_repair_count_is_unchanged_by_outage_questions(stack: Stack) -> None:
    engine = make_engine(stack.database_url)
    try:
        with Session(engine) as session:
            before = session.scalar(select(func.count()).select_from(Ticket))
        stack.wechat(new_openid(), "明天七里营停电不")
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == before
    finally:
        engine.dispose()
