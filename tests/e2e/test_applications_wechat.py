"""Service applications end to end through /wechat (real api, Rasa, actions): a 新装 and a 过户
started, confirmed and queried as a new user would; 陈明's seeded 新装 shows its survey step; a
staff step change lands in the customer's transcript as a system notice."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.models import Message, ServiceApplication
from backend.services.conversations import conversation_id_for, find_conversation

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

APPLICATION_NO = re.compile(r"申请编号：(\d{14})")
AGENT = {"Authorization": "Bearer dev-agent-token"}


def new_openid() -> str:
    return f"o_e2e_{secrets.token_hex(6)}"


def applications_of(stack: Stack, openid: str) -> list[ServiceApplication]:
    engine = make_engine(stack.database_url)
    try:
        with Session(engine) as session:
            conversation = conversation_id_for("wechat", openid)
            return list(
                session.scalars(
                    select(ServiceApplication).where(ServiceApplication.conversation_id == conversation)
                )
            )
    finally:
        engine.dispose()


def system_notices(stack: Stack, openid: str) -> list[str]:
    engine = make_engine(stack.database_url)
    try:
        with Session(engine) as session:
            conversation = find_conversation(session, conversation_id_for("wechat", openid))
            assert conversation is not None
            rows = session.scalars(
                select(Message.text).where(
                    Message.conversation_id == conversation.id, Message.sender == "system"
                )
            )
            return list(rows)
    finally:
        engine.dispose()


def test_new_connection_started_confirmed_and_queried(stack: Stack) -> None:
    openid = new_openid()
    asked = stack.wechat(openid, "新房子想装个电表")
    assert "新装" in asked and "用电地址" in asked
    purpose = stack.wechat(openid, "七里营镇刘庄村3组新房")
    assert "1. 居民生活用电" in purpose
    assert "联系电话" in stack.wechat(openid, "1")
    assert "上门勘查" in stack.wechat(openid, "13803731234")
    summary = stack.wechat(openid, "明天上午")
    assert "请确认您的申请信息" in summary and "宅基地" in summary and "5个工作日" in summary
    assert applications_of(stack, openid) == [], "nothing is created before the yes"

    created = stack.wechat(openid, "确认")
    match = APPLICATION_NO.search(created)
    assert match, created
    number = match.group(1)
    assert [a.application_no for a in applications_of(stack, openid)] == [number]

    progress = stack.wechat(openid, f"申请号{number}到哪一步了")
    assert number in progress and "当前环节：受理" in progress and "下一环节：现场勘查" in progress

    # Staff move it on: the customer's transcript gets the notice (sender "system").
    moved = httpx.post(
        f"{stack.api_url}/api/v1/staff/applications/{number}/advance",
        json={"note": "勘查人员已安排", "arrangement": "现场勘查，预约明天上午"},
        headers=AGENT,
        timeout=10,
    )
    assert moved.status_code == 200, moved.text
    notices = system_notices(stack, openid)
    assert len(notices) == 1 and number in notices[0] and "现场勘查" in notices[0]
    again = stack.wechat(openid, "我的申请到哪一步了")
    assert "当前环节：现场勘查" in again and "预约明天上午" in again


def test_transfer_verifies_then_is_confirmed_and_queried(stack: Stack) -> None:
    openid = new_openid()
    first = stack.wechat(openid, "我想办过户")
    assert "过户" in first and "户号" in first
    assert "手机号的后四位" in stack.wechat(openid, "3100000006")
    verified = stack.wechat(openid, "尾号2468")
    assert "身份验证已通过" in verified and "新户主的姓名" in verified
    assert "联系电话" in stack.wechat(openid, "陈小明")
    summary = stack.wechat(openid, "19937302468")
    assert "新户主有效身份证件" in summary and "原户主有效身份证件" in summary
    created = stack.wechat(openid, "确认")
    match = APPLICATION_NO.search(created)
    assert match, created
    assert applications_of(stack, openid)[0].business_type == "过户"

    progress = stack.wechat(openid, "我的申请到哪一步了")
    assert match.group(1) in progress and "过户申请" in progress
    # The same verified account also has 陈明's 新装 at its survey step.
    assert "当前环节：现场勘查" in progress and "预约明天上午" in progress


def test_chen_ming_asks_about_his_new_connection(stack: Stack) -> None:
    openid = new_openid()
    asked = stack.wechat(openid, "报装到哪一步了")
    assert "户号" in asked
    stack.wechat(openid, "3100000006")
    answer = stack.wechat(openid, "尾号2468")
    assert (
        "新装申请" in answer and "当前环节：现场勘查" in answer and "安排：现场勘查，预约明天上午" in answer
    )
    assert "下一环节：供电方案答复" in answer


def test_going_to_the_hall_instead(stack: Stack) -> None:
    openid = new_openid()
    stack.wechat(openid, "我想装个充电桩")
    answer = stack.wechat(openid, "我去营业厅办")
    assert "营业厅" in answer and "8:30-17:30" in answer and "以当地营业厅公布为准" in answer
    assert applications_of(stack, openid) == []
