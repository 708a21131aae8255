"""report_fault through fault_form against the real api/: known outage first (no duplicate),
safe self-checks, confirmation, the order with its committed arrival; describe_repair for
query_ticket."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

import harness
from actions import repairs as fault
from actions.backend_client import get_backend_client
from harness import Conversation

Start = Callable[[str], Conversation]
ASK = {
    "fault_address": fault.ActionAskFaultAddress(),
    "fault_type": fault.ActionAskFaultType(),
    "fault_self_check": fault.ActionAskFaultSelfCheck(),
    "callback_phone": fault.ActionAskCallbackPhone(),
    "fault_description": fault.ActionAskFaultDescription(),
    "fault_confirm": fault.ActionAskFaultConfirm(),
}


@pytest.fixture(autouse=True, scope="module")
def warm_address_parser(api_url: str) -> None:
    """Wait (generously) until api/ has built its address parser: on a loaded machine the one-off
    build can outlast the actions' 5 s client timeout, which is not what these tests are about."""
    request = urllib.request.Request(
        f"{api_url}/api/v1/addresses/parse",
        data=json.dumps({"text": "七里营镇"}).encode(),
        headers={"Authorization": "Bearer dev-service-token", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200


@pytest.fixture(autouse=True)
def fault_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "FORM", "fault_form")


async def start(conv: Conversation, text: str, entities: dict[str, str] | None = None) -> None:
    conv.user(text, "report_fault", entities)
    events = await conv.run(fault.ActionReportFault())
    if any(e.get("event") == "followup" for e in events):
        await conv.run_form(fault.ValidateFaultForm(), ASK)


async def say(
    conv: Conversation, text: str, intent: str = "inform", entities: dict[str, str] | None = None
) -> None:
    conv.user(text, intent, entities)
    await conv.run_form(fault.ValidateFaultForm(), ASK)


async def submit(conv: Conversation) -> None:
    assert conv.active_loop is None, "fault_form should have ended"
    await conv.run(fault.ActionSubmitFault())


def ticket_number(text: str) -> str:
    return text.split("工单号：")[1][:14]


async def test_known_fault_is_told_and_no_order_is_opened(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await start(conv, "俺家没电了", {"fault_type": "没电"})
    assert conv.last_text() == fault.ASK_ADDRESS
    await say(conv, "小冀镇工业路18号", entities={"address": "小冀镇工业路18号"})
    await submit(conv)
    text = "\n".join(conv.texts())
    assert "已经知道了" in text and "10kV线路故障跳闸" in text and "恢复供电" in text
    assert "工单号" not in text and "报修信息" not in text


async def test_self_check_solves_it(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await start(conv, "家里跳闸了", {"fault_type": "跳闸"})
    await say(conv, "合河乡合河村4组", entities={"address": "合河乡合河村4组"})
    assert "漏电保护器" in conv.last_text() and "空气开关" in conv.last_text()
    # NLU hears "来电" and says query_outage; as an answer to "来电了吗？" it is still a yes.
    await say(conv, "合上了，来电了", intent="query_outage")
    await submit(conv)
    assert conv.last_text() == fault.SELF_CHECK_RESOLVED
    assert not any("工单号" in t for t in conv.texts())


async def test_full_report_creates_order_with_committed_arrival(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await start(conv, "俺家没电了邻居家都有电", {"fault_type": "没电"})
    await say(conv, "合河乡南曲里村2组6号", entities={"address": "合河乡南曲里村2组6号"})
    await say(conv, "还是没电，合不上", intent="deny")
    assert conv.last_text() == fault.ASK_PHONE
    await say(conv, "138 0000 1111", entities={"phone": "13800001111"})
    summary = conv.last_text()  # the description came with the first message
    assert "请确认报修信息" in summary and "138****1111" in summary and "俺家没电了邻居家都有电" in summary
    assert conv.slots["fault_confirm"] is None
    await say(conv, "对", intent="affirm")
    await submit(conv)
    text = conv.last_text()
    assert "已为您登记抢修" in text
    assert "农村地区抢修人员平均90分钟内到达现场（以当地营业厅公布为准）" in text
    number = ticket_number(text)
    assert len(number) == 14 and number.isdigit()
    assert all(conv.slots.get(slot) is None for slot in fault.FAULT_SLOTS)

    # The same customer reporting again gets the open order back, not a second one.
    await start(conv, "俺家没电了邻居家都有电", {"fault_type": "没电"})
    await say(conv, "合河乡南曲里村2组", entities={"address": "合河乡南曲里村2组"})
    await say(conv, "还是没电", intent="deny")
    await say(conv, "13800001111", entities={"phone": "13800001111"})
    await say(conv, "是的", intent="affirm")
    await submit(conv)
    assert "您已经报修过了" in conv.last_text() and number in conv.last_text()


async def test_cancel_at_confirmation_opens_nothing(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await start(conv, "电压低灯一闪一闪的", {"fault_type": "电压低"})
    await say(conv, "大召营镇大召营村1组", entities={"address": "大召营镇大召营村1组"})
    assert conv.last_text() == fault.ASK_PHONE  # no breaker check for low voltage
    await say(conv, "15537301357", entities={"phone": "15537301357"})
    await say(conv, "先不报了", intent="deny")
    await submit(conv)
    assert conv.last_text() == fault.CANCELLED


async def test_unknown_address_and_bad_phone_are_asked_again(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    await start(conv, "报修")
    await say(conv, "北京朝阳区")
    assert fault.ADDRESS_NOT_UNDERSTOOD in conv.texts() and conv.slots["requested_slot"] == "fault_address"
    await say(conv, "县城人民路幸福小区3号楼", entities={"address": "县城人民路幸福小区3号楼"})
    assert conv.last_text() == fault.ASK_TYPE
    await say(conv, "电表不走了")
    assert conv.slots["fault_type"] == "电表故障"
    await say(conv, "12345")
    assert fault.PHONE_FORMAT in conv.texts() and conv.slots["requested_slot"] == "callback_phone"


async def test_describe_repair_tells_progress_and_arrival_check(backend: str, conversation: Start) -> None:
    client = get_backend_client()
    conversation_id = conversation("new_session").state["sender_id"]
    created = await client.report_fault(
        conversation_id=conversation_id,
        channel="rest",
        address="县城金穗大道幸福小区3号楼",
        fault_type="全户停电",
        contact_phone="13800001111",
        description="整栋楼就俺家没电",
    )
    number = created["repair"]["ticket_no"]
    text = fault.describe_repair(await client.get_repair(ticket_no=number, conversation_id=conversation_id))
    assert number in text and "正在安排抢修人员" in text and "目前在承诺的到达时间内" in text

    staff = {"Authorization": "Bearer dev-agent-token"}
    async with aiohttp.ClientSession() as session:
        for step in (
            {"step": "dispatched", "assignee": "县城供电所"},
            {"step": "on_the_way"},
            {"step": "arrived"},
        ):
            async with session.post(
                f"{backend}/api/v1/staff/repairs/{number}/progress", json=step, headers=staff
            ) as r:
                assert r.status == 200, await r.text()
    repair: dict[str, Any] = dict(await client.get_repair(ticket_no=number, conversation_id=conversation_id))
    text = fault.describe_repair(repair)
    assert "当前：抢修人员已到达现场" in text and "按承诺时间到达" in text
    assert "已派单" in text and "抢修人员已出发" in text
    # The work-order view (query_ticket) nests the same facts under "extra".
    nested = {
        "ticket_no": number,
        "created_at": repair["created_at"],
        "status_label": "处理中",
        "extra": repair,
    }
    assert "当前：抢修人员已到达现场" in fault.describe_repair(nested)


@pytest.mark.parametrize(
    ("answer", "fault_type"),
    [
        ("进户线断了", "线路故障"),
        ("空开跳了合不上", "跳闸"),
        ("电表黑屏", "电表故障"),
        ("说不好", "其他"),
        ("", None),
    ],
)
def test_free_text_answers_map_to_the_catalog_fault_types(answer: str, fault_type: str | None) -> None:
    assert fault.parse_fault_type(answer) == fault_type
