"""apply_service and query_application through our actions against the real api/: the type from the
message or by buttons, verification of an existing account (verify_form + PENDING_ANSWERS), the
fields each type needs, the summary with documents and time limit, and the confirmation gate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import harness
from actions import applications as apps
from actions.backend_client import get_backend_client
from actions.identity import (
    ActionAfterVerification,
    ActionAskAccountNo,
    ActionAskIdentityCheck,
    ValidateVerifyForm,
)
from harness import Conversation

Start = Callable[[str], Conversation]
ASK = {
    "application_address": apps.ActionAskApplicationAddress(),
    "application_supply_class": apps.ActionAskApplicationSupplyClass(),
    "application_capacity": apps.ActionAskApplicationCapacity(),
    "application_new_holder": apps.ActionAskApplicationNewHolder(),
    "application_phone": apps.ActionAskApplicationPhone(),
    "application_survey_time": apps.ActionAskApplicationSurveyTime(),
    "application_confirmed": apps.ActionAskApplicationConfirmed(),
}
ASK_VERIFY = {"account_no": ActionAskAccountNo(), "identity_check": ActionAskIdentityCheck()}


@pytest.fixture(autouse=True)
def form_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "FORM", "application_form")


def followups(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events if e.get("event") == "followup"]


async def follow(conv: Conversation, events: list[dict[str, Any]]) -> None:
    """Run the form an action handed over to, as Rasa would."""
    for name in followups(events):
        harness.FORM = name
        if name == "application_form":
            await conv.run_form(apps.ValidateApplicationForm(), ASK)
        elif name == "verify_form":
            await conv.run_form(ValidateVerifyForm(), ASK_VERIFY)


async def start(conv: Conversation, text: str, entities: dict[str, str] | None = None) -> None:
    conv.user(text, "apply_service", entities)
    await follow(conv, await conv.run(apps.ActionStartApplication()))


async def say(
    conv: Conversation, text: str, intent: str = "inform", entities: dict[str, str] | None = None
) -> None:
    conv.user(text, intent, entities)
    if harness.FORM == "verify_form":
        await conv.run_form(ValidateVerifyForm(), ASK_VERIFY)
        if conv.active_loop is None:
            await follow(conv, await conv.run(ActionAfterVerification()))
        return
    await conv.run_form(apps.ValidateApplicationForm(), ASK)
    if conv.active_loop is None:
        await conv.run(apps.ActionSubmitApplication())


async def own_applications(conv: Conversation) -> list[Any]:
    return list(await get_backend_client().list_applications(conversation_id=conv.state["sender_id"]))


def number_in(text: str) -> str:
    return text.split("申请编号：")[1][:14]


async def fill_new_connection(conv: Conversation) -> str:
    await start(conv, "新房子想装个电表", {"business_type": "新装"})
    assert "【新装】" in conv.texts()[0] and conv.last_text() == apps.ASK_ADDRESS
    await say(conv, "七里营镇刘庄村3组新房", entities={"address": "七里营镇刘庄村3组新房"})
    assert (
        conv.last_text() == apps.ASK_SUPPLY_CLASS and conv.replies[-1]["buttons"] == apps.SUPPLY_CLASS_BUTTONS
    )
    await say(conv, "居民生活用电")
    assert conv.last_text() == apps.ASK_PHONE
    await say(conv, "138 0373 1234", entities={"phone": "13803731234"})
    assert conv.last_text() == apps.ASK_SURVEY_TIME
    await say(conv, "明天上午")
    return conv.last_text()


async def test_new_connection_is_created_only_after_an_explicit_yes(
    backend: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    summary = await fill_new_connection(conv)
    assert "请确认您的申请信息" in summary and "用电地址：七里营镇刘庄村3组新房" in summary
    assert "用电类别：居民生活用电" in summary
    assert "138****1234" in summary and "13803731234" not in summary
    assert "宅基地" in summary and "以当地营业厅公布为准" in summary
    assert "居民用电，供电公司各环节合计不超过5个工作日" in summary
    assert await own_applications(conv) == [], "nothing exists before the yes"

    await say(conv, "嗯，让我想想")  # neither yes nor no: asked again, still nothing created
    assert apps.CONFIRM_AGAIN in conv.texts() and "请确认您的申请信息" in conv.last_text()
    assert await own_applications(conv) == []

    await say(conv, "确认", intent="affirm")
    created = conv.last_text()
    assert "您的新装申请已受理" in created and "下一步：现场勘查" in created
    number = number_in(created)
    listed = await own_applications(conv)
    assert [item["application_no"] for item in listed] == [number]
    assert listed[0]["arrangement"] == "现场勘查，客户希望：明天上午"
    assert all(conv.slots.get(slot) is None for slot in apps.APPLICATION_SLOTS)

    conv.user(f"申请{number}到哪一步了", "query_application", {"ticket_no": number})
    await conv.run(apps.ActionQueryApplication())
    answer = conv.last_text()
    assert number in answer and "当前环节：受理" in answer and "下一环节：现场勘查" in answer
    assert "目前按时办理中" in answer


async def test_saying_no_at_the_summary_creates_nothing(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await fill_new_connection(conv)
    await say(conv, "先不办了", intent="deny")
    assert conv.last_text() == apps.CANCELLED_TEXT
    assert await own_applications(conv) == []


async def test_transfer_verifies_the_account_first_and_asks_for_the_new_holder(
    backend: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    await start(conv, "我想办过户", {"business_type": "过户"})
    assert apps.NEEDS_ACCOUNT.format(name="过户") in conv.texts()
    assert conv.slots["pending_intent"] == "apply_service" and conv.active_loop == "verify_form"
    await say(conv, "3100000006", entities={"account_no": "3100000006"})
    await say(conv, "尾号2468", entities={"phone_last4": "2468"})
    assert "身份验证已通过（户号****0006）。" in conv.texts()
    assert conv.active_loop == "application_form" and conv.last_text() == apps.ASK_NEW_HOLDER
    await say(conv, "陈小明", entities={"person_name": "陈小明"})
    await say(conv, "19937302468", entities={"phone": "19937302468"})
    summary = conv.last_text()
    assert "户号：****0006" in summary and "新户主：陈*明" in summary
    assert "原户主有效身份证件" in summary and "新户主有效身份证件" in summary
    assert "办理时限：以当地营业厅公布为准。" in summary  # no sourced limit for 过户: no number
    assert "用电地址" not in summary  # the account's own address is used
    await say(conv, "对", intent="affirm")
    assert "您的过户申请已受理" in conv.last_text()

    # Progress for the verified account: the new 过户 and 陈明's 新装 at its survey step.
    conv.user("我的申请到哪一步了", "query_application")
    await conv.run(apps.ActionQueryApplication())
    answer = conv.last_text()
    assert "过户申请" in answer and "当前环节：受理" in answer
    assert (
        "新装申请" in answer and "当前环节：现场勘查" in answer and "安排：现场勘查，预约明天上午" in answer
    )


async def test_query_without_anything_visible_verifies_first(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("报装到哪一步了", "query_application")
    events = await conv.run(apps.ActionQueryApplication())
    assert apps.QUERY_NEEDS_VERIFICATION in conv.texts() and followups(events) == ["verify_form"]
    harness.FORM = "verify_form"
    await conv.run_form(ValidateVerifyForm(), ASK_VERIFY)
    await say(conv, "3100000006", entities={"account_no": "3100000006"})
    await say(conv, "陈明", entities={"person_name": "陈明"})
    answer = conv.last_text()
    assert "新装申请" in answer and "当前环节：现场勘查" in answer and "下一环节：供电方案答复" in answer


async def test_unknown_type_is_asked_with_buttons(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await start(conv, "我想办个用电业务")
    assert conv.last_text() == apps.ASK_TYPE
    buttons = conv.replies[-1]["buttons"]
    assert [b["title"] for b in buttons] == [
        "新装",
        "增容",
        "减容",
        "过户",
        "更名",
        "销户",
        "暂停",
        "光伏并网",
        "充电桩",
    ]
    assert buttons[3]["payload"] == '/apply_service{"business_type": "过户"}'
    assert conv.active_loop is None


async def test_going_to_the_hall_instead_gives_the_nearest_hall_and_creates_nothing(
    backend: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    await start(conv, "屋顶想装光伏", {"business_type": "光伏并网"})
    await say(conv, "七里营镇刘庄村3组", entities={"address": "七里营镇刘庄村3组"})
    assert conv.last_text() == apps.ASK_CAPACITY_PV
    await say(conv, "我还是去营业厅办吧")
    answer = conv.last_text()
    assert "【七里营供电所】" in answer and "周一至周五 8:30-17:30" in answer
    assert "以当地营业厅公布为准" in answer and "光伏组件" in answer
    assert await own_applications(conv) == []


async def test_capacity_increase_on_a_verified_account_asks_capacity(
    backend: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    await start(conv, "户号3100000006想增容", {"business_type": "增容", "account_no": "3100000006"})
    await say(conv, "尾号2468", entities={"phone_last4": "2468"})
    assert conv.last_text() == apps.ASK_CAPACITY
    await say(conv, "十千瓦")
    assert conv.slots["application_capacity"] == "10千瓦" and conv.last_text() == apps.ASK_PHONE


async def test_backend_down_is_said_and_a_human_offered(backend_down: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("我的申请到哪一步了", "query_application")
    await conv.run(apps.ActionQueryApplication())
    assert conv.offered_human()
