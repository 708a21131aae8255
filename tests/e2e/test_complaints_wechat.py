"""Complaints end to end through /wechat: lodged with a number and commitments, its status shown,
its time limit breached under a moved clock and escalated, reopened after an unsatisfied rating,
and the audit trail still verifies afterwards."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from backend import scheduler
from backend.clock import utcnow
from backend.db import make_engine, make_session_factory

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack

REPO = Path(__file__).resolve().parents[2]
SUPERVISOR = {"Authorization": "Bearer dev-supervisor-token"}
TICKET_NO = re.compile(r"(?<!\d)(\d{14})(?!\d)")


def new_openid() -> str:
    return f"o_e2e_{secrets.token_hex(6)}"


def staff_get(stack: Stack, path: str) -> dict:
    response = httpx.get(f"{stack.api_url}{path}", headers=SUPERVISOR, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def staff_step(stack: Stack, ticket_no: str, **body: str) -> None:
    url = f"{stack.api_url}/api/v1/staff/workorders/{ticket_no}/transitions"
    response = httpx.post(url, json=body, headers=SUPERVISOR, timeout=10)
    assert response.status_code == 200, response.text


def test_sun_li_asks_about_her_open_complaint(stack: Stack) -> None:
    openid = new_openid()
    asked = stack.wechat(openid, "我投诉的事处理到哪了")
    assert "户号" in asked
    stack.wechat(openid, "3100000007")
    answer = stack.wechat(openid, "尾号1357")
    assert "处理中" in answer and "大召营供电所" in answer
    assert "孙丽" not in answer and "15537301357" not in answer


def test_complaint_lodged_breached_escalated_answered_and_reopened(stack: Stack, tmp_path: Path) -> None:
    openid = new_openid()
    first = stack.wechat(openid, "我要投诉")
    assert "哪一类" in first
    asked_detail = stack.wechat(openid, "1")  # the first button: 服务投诉
    assert "发生了什么" in asked_detail
    asked_phone = stack.wechat(openid, "营业厅的工作人员态度很差，问啥都爱答不理")
    assert "手机号" in asked_phone
    assert "时间" in stack.wechat(openid, "13803731234")
    summary = stack.wechat(openid, "工作日下午")
    assert "服务投诉" in summary and "138****1234" in summary
    lodged = stack.wechat(openid, "确认")
    number_match = TICKET_NO.search(lodged)
    assert number_match is not None, lodged
    number = number_match.group(1)
    assert "前与您联系" in lodged and "前答复" in lodged

    status = stack.wechat(openid, "投诉有结果没")
    assert number in status and "受理" in status

    # A moved clock: a day and an hour later nobody has contacted the customer.
    engine = make_engine(stack.database_url)
    try:
        result = scheduler.run_once(make_session_factory(engine), now=utcnow() + timedelta(hours=25))
    finally:
        engine.dispose()
    assert number in result.breached
    order = staff_get(stack, f"/api/v1/staff/workorders/{number}")
    assert order["escalation_level"] == 1 and order["priority"] == "high"  # one step up from normal
    queue = staff_get(stack, "/api/v1/staff/notifications")["notifications"]
    assert any(n["ticket_no"] == number and n["reason"] == "breached" for n in queue)

    staff_step(stack, number, action="dispatch", assignee="七里营供电所")
    staff_step(stack, number, action="acknowledge")
    staff_step(stack, number, action="start")
    staff_step(stack, number, action="answer", note="经核实，已对该工作人员批评教育，向您致歉。")

    answered = stack.wechat(openid, "我的投诉有结果了吗")
    assert "已答复" in answered and "批评教育" in answered and "评价" in answered
    reopened = stack.wechat(openid, "不满意")
    assert "重办" in reopened and number in reopened
    order = staff_get(stack, f"/api/v1/staff/workorders/{number}")
    assert order["reopen_count"] == 1 and order["rating"] == "不满意"

    # make audit-verify on the result: passes now ...
    checkpoint = tmp_path / "checkpoint.json"
    command = [sys.executable, "-m", "backend.audit_verify", "--database-url", stack.database_url,
               "--checkpoint", str(checkpoint)]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True
