"""Complaints, ticket status, ratings and feedback through our actions against the real api/.

Demo data: 孙丽 (3100000007, phone …1357) has an open 营业投诉 in progress at 大召营供电所;
王建国 (3100000001, …1234) lives in 七里营镇.
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

import harness
from actions.backend_client import get_backend_client
from actions.complaints import (
    ActionAskComplaintAccount,
    ActionAskComplaintClass,
    ActionAskComplaintConfirmed,
    ActionAskComplaintDetail,
    ActionAskContactPhone,
    ActionAskContactTime,
    ActionStartComplaint,
    ActionSubmitComplaint,
    ValidateComplaintForm,
    infer_class,
)
from actions.feedback import (
    ActionAskFeedbackConfirmed,
    ActionAskFeedbackDetail,
    ActionGiveFeedback,
    ActionSubmitFeedback,
    ValidateFeedbackForm,
)
from actions.followup import ActionRateService, parse_rating
from actions.identity import (
    ActionAfterVerification,
    ActionAskAccountNo,
    ActionAskIdentityCheck,
    ValidateVerifyForm,
)
from actions.tickets import ActionQueryTicket
from harness import Conversation

Start = Callable[[str], Conversation]
ASK = {
    "complaint_class": ActionAskComplaintClass(),
    "complaint_detail": ActionAskComplaintDetail(),
    "complaint_account": ActionAskComplaintAccount(),
    "contact_phone": ActionAskContactPhone(),
    "contact_time": ActionAskContactTime(),
    "complaint_confirmed": ActionAskComplaintConfirmed(),
}
FEEDBACK_ASK = {
    "feedback_detail": ActionAskFeedbackDetail(),
    "feedback_confirmed": ActionAskFeedbackConfirmed(),
}
VERIFY_ASK = {"account_no": ActionAskAccountNo(), "identity_check": ActionAskIdentityCheck()}
TICKET_NO = re.compile(r"(?<!\d)(\d{14})(?!\d)")


def followups(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events if e.get("event") == "followup"]


@pytest.fixture
def complaint_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "FORM", "complaint_form")


def staff(api_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The staff API as an agent would use it (interim tokens from settings' defaults)."""
    request = urllib.request.Request(
        f"{api_url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": "Bearer dev-supervisor-token", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def turn(conv: Conversation, text: str, intent: str = "inform", entities: dict[str, str] | None = None):
    conv.user(text, intent, entities)
    return await conv.run_form(ValidateComplaintForm(), ASK)


async def start(conv: Conversation, text: str, entities: dict[str, str] | None = None) -> None:
    conv.user(text, "complain", entities)
    events = await conv.run(ActionStartComplaint())
    assert followups(events) == ["complaint_form"]
    await conv.run_form(ValidateComplaintForm(), ASK)


async def own_orders(conv: Conversation) -> list[dict[str, Any]]:
    return list(await get_backend_client().list_work_orders(conversation_id=conv.state["sender_id"]))


# ------------------------------------------------------------------ complaint


def test_classes_are_inferred_from_what_happened() -> None:
    assert infer_class("营业厅的人爱答不理的") == "服务投诉"
    assert infer_class("修电的要俺给他买烟") == "服务投诉"
    assert infer_class("上个月电费多收了好几十") == "营业投诉"
    assert infer_class("报修三天了没人管") == "停送电投诉"
    assert infer_class("晚上电压低空调都带不动") == "供电质量投诉"
    assert infer_class("村口新立的电杆挡着路") == "电网建设投诉"
    assert infer_class("我要投诉") is None


async def test_service_complaint_gets_a_number_and_commitments(
    backend: str, conversation: Start, complaint_form: None
) -> None:
    conv = conversation("new_session")
    await start(conv, "营业厅的人爱答不理的，排了俩小时队")
    assert "服务投诉" in conv.last_text() and "对吗" in conv.last_text()  # the guess, to confirm
    assert conv.slots["complaint_detail"] == "营业厅的人爱答不理的，排了俩小时队"

    await turn(conv, "是", "affirm")
    assert conv.slots["complaint_class"] == "服务投诉"
    assert conv.slots["requested_slot"] == "contact_phone"  # no account needed for conduct

    await turn(conv, "138 0373 1234", entities={"phone": "13803731234"})
    assert conv.slots["contact_phone"] == "13803731234"
    await turn(conv, "工作日下午")
    summary = conv.last_text()
    assert "服务投诉" in summary and "138****1234" in summary and "工作日下午" in summary
    assert "13803731234" not in summary

    await turn(conv, "确认", "affirm")
    assert conv.active_loop is None
    await conv.run(ActionSubmitComplaint())
    answer = conv.last_text()
    number = TICKET_NO.search(answer)
    assert number is not None
    assert "前与您联系" in answer and "前答复处理结果" in answer and "以当地营业厅公布为准" in answer
    (order,) = await own_orders(conv)
    assert order["ticket_no"] == number.group(1)
    assert (order["kind"], order["category"], order["status"]) == ("complaint", "服务投诉", "accepted")
    assert conv.slots["complaint_class"] is None  # cleared for the next complaint


async def test_billing_complaint_verifies_the_account_in_one_message(
    backend: str, conversation: Start, complaint_form: None
) -> None:
    conv = conversation("new_session")
    await start(conv, "我要投诉")
    assert "哪一类" in conv.last_text()
    await turn(conv, "2")  # the second button: 营业投诉
    assert conv.slots["complaint_class"] == "营业投诉"
    await turn(conv, "上个月电费一下子多了两百多，肯定抄错了")
    assert "户号" in conv.last_text()
    await turn(conv, "3100000001 尾号1234")
    assert conv.slots["complaint_account"] == "4103100000001"
    assert conv.slots["verified_accounts"] == ["4103100000001"]
    await turn(conv, "13803731234", entities={"phone": "13803731234"})
    await turn(conv, "随时")
    assert "****0001" in conv.last_text() and "随时都可以" in conv.last_text()
    await turn(conv, "对", "affirm")
    await conv.run(ActionSubmitComplaint())
    (order,) = await own_orders(conv)
    assert order["account_masked"] == "****0001" and order["category"] == "营业投诉"


async def test_account_then_factor_and_a_wrong_factor(
    backend: str, conversation: Start, complaint_form: None
) -> None:
    conv = conversation("new_session")
    await start(conv, "晚上电压低得空调都开不开")
    await turn(conv, "对", "affirm")
    assert conv.slots["complaint_class"] == "供电质量投诉"
    assert conv.slots["requested_slot"] == "complaint_account"
    await turn(conv, "3100000007", entities={"account_no": "3100000007"})
    assert "****0007" in conv.last_text() and "后四位" in conv.last_text()
    await turn(conv, "9999", entities={"phone_last4": "9999"})
    assert "不一致" in " ".join(conv.texts()[-2:])
    assert conv.slots["complaint_account"] is None
    await turn(conv, "3100000007 尾号1357")
    assert conv.slots["complaint_account"] == "4103100000007"


async def test_skipping_the_account_still_lodges(
    backend: str, conversation: Start, complaint_form: None
) -> None:
    conv = conversation("new_session")
    await start(conv, "报修三天了没人管")
    await turn(conv, "是的", "affirm")
    await turn(conv, "跳过")
    assert conv.slots["complaint_account"] == "none"
    await turn(conv, "15537301357")
    await turn(conv, "上午")
    await turn(conv, "确认", "affirm")
    await conv.run(ActionSubmitComplaint())
    (order,) = await own_orders(conv)
    assert order["category"] == "停送电投诉" and order["account_masked"] is None


async def test_cancelling_midway_lodges_nothing(
    backend: str, conversation: Start, complaint_form: None
) -> None:
    conv = conversation("new_session")
    await start(conv, "抄表员态度太差了")
    await turn(conv, "是", "affirm")
    await turn(conv, "算了不投诉了", "deny")
    assert conv.active_loop is None
    assert "先不登记投诉" in conv.last_text()
    await conv.run(ActionSubmitComplaint())
    assert await own_orders(conv) == []


async def test_declining_at_the_confirmation_lodges_nothing(
    backend: str, conversation: Start, complaint_form: None
) -> None:
    conv = conversation("new_session")
    await start(conv, "抄表员态度太差了")
    await turn(conv, "是", "affirm")
    await turn(conv, "13803731234")
    await turn(conv, "晚上")
    await turn(conv, "不用了", "deny")
    assert conv.active_loop is None
    await conv.run(ActionSubmitComplaint())
    assert "先不登记投诉" in conv.last_text()
    assert await own_orders(conv) == []


async def test_a_complaint_about_an_open_repair_is_linked(
    backend: str, conversation: Start, complaint_form: None
) -> None:
    conv = conversation("new_session")
    report = await get_backend_client().report_fault(
        conversation_id=conv.state["sender_id"],
        channel="rest",
        address=f"新乡县合河乡合河村{secrets.randbelow(90) + 10}组{secrets.randbelow(90) + 10}号",
        fault_type="全户停电",
        contact_phone="18239731122",
        description="全家没电",
    )
    assert report["outcome"] == "created"
    repair = report["repair"]
    await start(conv, "报修三天了没人管")
    await turn(conv, "是", "affirm")
    await turn(conv, "跳过")
    await turn(conv, "18239731122")
    await turn(conv, "随时")
    await turn(conv, "确认", "affirm")
    await conv.run(ActionSubmitComplaint())
    assert f"已关联您之前的工单{repair['ticket_no']}" in conv.last_text()
    complaint = next(o for o in await own_orders(conv) if o["kind"] == "complaint")
    assert complaint["related_ticket_no"] == repair["ticket_no"]


async def test_backend_down_offers_the_hotline(backend_down: str, conversation: Start) -> None:
    conv = conversation("new_session")
    for slot, value in {
        "complaint_class": "服务投诉",
        "complaint_detail": "态度差",
        "contact_phone": "13803731234",
        "contact_time": "随时",
        "complaint_confirmed": "yes",
    }.items():
        conv.slots[slot] = value
    await conv.run(ActionSubmitComplaint())
    assert "95598" in conv.last_text() and conv.offered_human()


# ------------------------------------------------------------------ query_ticket and rating


async def verify_then_answer(conv: Conversation, account: str, factor: str, entities: dict[str, str]) -> None:
    conv.user(account, "inform", {"account_no": account})
    await conv.run_form(ValidateVerifyForm(), VERIFY_ASK)
    conv.user(factor, "inform", entities)
    await conv.run_form(ValidateVerifyForm(), VERIFY_ASK)
    assert conv.active_loop is None
    await conv.run(ActionAfterVerification())


async def test_sun_li_asks_about_her_complaint(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("投诉有结果没", "query_ticket")
    events = await conv.run(ActionQueryTicket())
    assert followups(events) == ["verify_form"]
    assert conv.slots["pending_intent"] == "query_ticket"
    await conv.run_form(ValidateVerifyForm(), VERIFY_ASK)
    await verify_then_answer(conv, "3100000007", "尾号1357", {"phone_last4": "1357"})
    answer = conv.last_text()
    assert "营业投诉" in answer and "处理中" in answer and "大召营供电所" in answer
    for secret in ("孙丽", "15537301357", "3100000007"):
        assert secret not in answer


async def test_someone_elses_number_is_not_shown(backend: str, conversation: Start) -> None:
    owner = conversation("new_session")
    lodged = await get_backend_client().lodge_work_order(
        conversation_id=owner.state["sender_id"],
        channel="rest",
        kind="complaint",
        category="服务投诉",
        summary="态度差",
        contact_phone="13803731234",
    )
    stranger = conversation("new_session")
    stranger.user(f"工单{lodged['ticket_no']}查一下", "query_ticket", {"ticket_no": lodged["ticket_no"]})
    events = await stranger.run(ActionQueryTicket())
    assert followups(events) == ["verify_form"]  # nothing about the order before verification
    assert lodged["ticket_no"] not in " ".join(stranger.texts())


async def test_answered_order_is_rated_unsatisfied_and_reopened(
    backend: str, api_url: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    client = get_backend_client()
    lodged = await client.lodge_work_order(
        conversation_id=conv.state["sender_id"],
        channel="rest",
        kind="complaint",
        category="服务投诉",
        summary="营业厅工作人员态度差",
        contact_phone="13803731234",
    )
    number = lodged["ticket_no"]
    for step in (
        {"action": "dispatch", "assignee": "七里营供电所"},
        {"action": "acknowledge"},
        {"action": "start"},
        {"action": "answer", "note": "已核实，对该工作人员批评教育，向您致歉。"},
    ):
        staff(api_url, "POST", f"/api/v1/staff/workorders/{number}/transitions", step)

    conv.user("我的投诉有结果了吗", "query_ticket")
    await conv.run(ActionQueryTicket())
    texts = " ".join(conv.texts())
    assert "已答复" in texts and "批评教育" in texts and "评价" in texts
    assert conv.slots["rating_ticket_no"] == number

    conv.user("不满意", "rate_service", {"rating": "不满意"})
    await conv.run(ActionRateService())
    assert "重办" in conv.last_text() and number in conv.last_text()
    order = await client.get_work_order(ticket_no=number, conversation_id=conv.state["sender_id"])
    assert order["reopen_count"] == 1 and order["rating"] == "不满意" and order["status"] == "acknowledged"
    queue = staff(api_url, "GET", "/api/v1/staff/notifications")["notifications"]
    assert any(n["ticket_no"] == number and n["reason"] == "unsatisfied" for n in queue)


async def test_satisfied_rating_closes(backend: str, api_url: str, conversation: Start) -> None:
    conv = conversation("new_session")
    client = get_backend_client()
    lodged = await client.lodge_work_order(
        conversation_id=conv.state["sender_id"],
        channel="rest",
        kind="complaint",
        category="服务投诉",
        summary="态度差",
        contact_phone="13803731234",
    )
    number = lodged["ticket_no"]
    for step in (
        {"action": "dispatch", "assignee": "七里营供电所"},
        {"action": "acknowledge"},
        {"action": "start"},
        {"action": "answer", "note": "已致歉"},
    ):
        staff(api_url, "POST", f"/api/v1/staff/workorders/{number}/transitions", step)
    conv.user("5分", "rate_service", {"rating": "非常满意"})
    await conv.run(ActionRateService())
    assert "已办结" in conv.last_text()
    order = await client.get_work_order(ticket_no=number, conversation_id=conv.state["sender_id"])
    assert order["status"] == "closed" and order["rating"] == "非常满意"


async def test_a_rating_with_nothing_to_rate_is_thanked(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("非常满意", "rate_service", {"rating": "非常满意"})
    await conv.run(ActionRateService())
    assert conv.last_text() == "谢谢您的评价！"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("非常不满意", "非常不满意"),
        ("不满意", "不满意"),
        ("还行吧", "一般"),
        ("打1分", "非常不满意"),
        ("4分", "满意"),
    ],
)
def test_rating_words_and_scores(text: str, expected: str) -> None:
    assert parse_rating(None, text) == expected


# ------------------------------------------------------------------ feedback


async def test_praise_reaches_the_workers_team(backend: str, conversation: Start, monkeypatch) -> None:
    monkeypatch.setattr(harness, "FORM", "feedback_form")
    conv = conversation("new_session")
    verified = await get_backend_client().verify_identity(
        conversation_id=conv.state["sender_id"], channel="rest", account_no="3100000007", phone_last4="1357"
    )
    conv.slots["verified_accounts"] = [verified.account_no]
    conv.user("表扬一下李师傅，大半夜来修电", "give_feedback")
    events = await conv.run(ActionGiveFeedback())
    assert followups(events) == ["feedback_form"]
    await conv.run_form(ValidateFeedbackForm(), FEEDBACK_ASK)
    assert "确认记录" in conv.last_text()
    conv.user("是", "affirm")
    await conv.run_form(ValidateFeedbackForm(), FEEDBACK_ASK)
    await conv.run(ActionSubmitFeedback())
    assert "李师傅" in conv.last_text() and "大召营供电所" in conv.last_text()
    praise = next(o for o in await own_orders(conv) if o["kind"] == "praise")
    assert praise["handler"] == "大召营供电所" and praise["status"] == "dispatched"


async def test_a_bare_suggestion_is_asked_for_its_content(
    backend: str, conversation: Start, monkeypatch
) -> None:
    monkeypatch.setattr(harness, "FORM", "feedback_form")
    conv = conversation("new_session")
    conv.user("提个建议", "give_feedback")
    await conv.run(ActionGiveFeedback())
    await conv.run_form(ValidateFeedbackForm(), FEEDBACK_ASK)
    assert "建议" in conv.last_text() and conv.slots["requested_slot"] == "feedback_detail"
    conv.user("营业厅周末也开门就好了", "inform")
    await conv.run_form(ValidateFeedbackForm(), FEEDBACK_ASK)
    conv.user("确认", "affirm")
    await conv.run_form(ValidateFeedbackForm(), FEEDBACK_ASK)
    await conv.run(ActionSubmitFeedback())
    assert "谢谢您的建议" in conv.last_text() and "客户服务中心" in conv.last_text()
    (order,) = await own_orders(conv)
    assert order["kind"] == "suggestion" and order["summary"] == "营业厅周末也开门就好了"


async def test_strong_anger_goes_to_a_person_instead_of_the_form(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("气死我了！报修三天了没人管，你们这什么破服务，我要投诉", "complain")
    events = await conv.run(ActionStartComplaint())
    assert followups(events) == []  # no complaint form: a person takes it from here
    handoffs = [r["custom"]["handoff"] for r in conv.replies if "handoff" in (r.get("custom") or {})]
    assert handoffs and handoffs[0]["reason"] == "angry_complaint"
    assert any(e.get("event") == "pause" for e in events)


async def test_an_ordinary_complaint_stays_with_the_bot(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("抄表员态度不太好，我想投诉一下", "complain")
    events = await conv.run(ActionStartComplaint())
    assert followups(events) == ["complaint_form"]
    assert not any("handoff" in (r.get("custom") or {}) for r in conv.replies)
