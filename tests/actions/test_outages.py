"""query_outage through our actions against the real api/ and the demo outages.

Demo data: 七里营镇 (七里营村, 东街村, 西街村) planned tomorrow 08:00–18:00 for 线路检修;
小冀镇 (小冀村, 工业路沿线) active fault; 合河乡 nothing.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

import harness
from actions.backend_client import get_backend_client
from actions.outages import ActionAskOutagePlace, ActionQueryOutage, ValidateOutageForm, day_range
from harness import Conversation

Start = Callable[[str], Conversation]
WANG = "4103100000001"


def followups(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events if e.get("event") == "followup"]


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


@pytest.fixture
def outage_form(monkeypatch: pytest.MonkeyPatch) -> None:
    # The harness replays one form; this conversation's form is outage_form.
    monkeypatch.setattr(harness, "FORM", "outage_form")


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("明天", (date(2026, 11, 27), 1)),
        ("明儿个", (date(2026, 11, 27), 1)),
        ("后天", (date(2026, 11, 28), 1)),
        ("今儿个", (date(2026, 11, 26), 1)),
        ("12月3号", (date(2026, 12, 3), 1)),
        ("这周六", (date(2026, 11, 28), 1)),
        ("下周三", (date(2026, 12, 2), 1)),
        ("这几天", (date(2026, 11, 26), 7)),
        ("夜儿个", None),
        (None, None),
    ],
)
def test_day_phrases(phrase: str | None, expected: tuple[date, int] | None) -> None:
    assert day_range(phrase, date(2026, 11, 26)) == expected  # a Thursday


async def test_tomorrow_at_qiliying_names_window_reason_and_restoration(
    backend: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    conv.user("明天七里营停电不", "query_outage", {"date": "明天", "address": "七里营"})
    await conv.run(ActionQueryOutage())
    text = conv.last_text()
    assert "七里营镇" in text and "明天08:00至18:00" in text
    assert "线路检修" in text and "预计18:00恢复供电" in text
    assert "七里营村、东街村、西街村" in text
    assert "不在这几个村" in text  # only the town was named


async def test_active_fault_tells_expected_restoration(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("小冀镇工业路啥时候来电", "query_outage", {"address": "小冀镇工业路"})
    await conv.run(ActionQueryOutage())
    text = conv.last_text()
    assert "故障停电" in text and "10kV线路故障跳闸" in text
    assert "预计今天" in text and "恢复供电" in text


async def test_nothing_known_says_so_and_offers_a_repair(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("明天合河乡停电不", "query_outage", {"date": "明天", "address": "合河乡"})
    await conv.run(ActionQueryOutage())
    assert "明天没有查到合河乡的计划停电或故障停电信息" in conv.last_text()
    buttons = conv.replies[-1].get("buttons") or []
    assert {"title": "我要报修", "payload": "/report_fault"} in buttons


async def test_place_is_asked_for_and_the_day_remembered(
    backend: str, conversation: Start, outage_form: None
) -> None:
    conv = conversation("new_session")
    conv.user("明天俺村停电不", "query_outage", {"date": "明天"})
    events = await conv.run(ActionQueryOutage())
    assert followups(events) == ["outage_form"] and conv.slots["outage_day"] == "明天"
    await conv.run_form(ValidateOutageForm(), {"outage_place": ActionAskOutagePlace()})
    assert "哪个乡镇、哪个村" in conv.last_text()

    conv.user("东街村", "inform", {"address": "七里营镇东街村"})
    await conv.run_form(ValidateOutageForm(), {"outage_place": ActionAskOutagePlace()})
    assert conv.active_loop is None
    await conv.run(ActionQueryOutage())
    assert "明天08:00至18:00" in conv.last_text()
    assert conv.slots["outage_day"] is None and conv.slots["outage_place"] is None


async def test_unknown_place_is_asked_again(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("郑州市金水区停电了吗", "query_outage", {"address": "郑州市金水区"})
    events = await conv.run(ActionQueryOutage())
    assert followups(events) == ["outage_form"]
    assert "没听出是新乡县的哪个地方" in conv.last_text()


async def test_verified_account_address_is_used(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    result = await get_backend_client().verify_identity(
        conversation_id=conv.state["sender_id"], channel="rest", account_no="3100000001", phone_last4="1234"
    )
    assert result.verified
    conv.apply([{"event": "slot", "name": "verified_accounts", "value": [WANG]}])
    conv.user("明天俺村停电不", "query_outage", {"date": "明天"})
    await conv.run(ActionQueryOutage())
    text = conv.last_text()
    assert "明天08:00至18:00" in text and "不在这几个村" not in text  # the village is known


async def test_backend_down_offers_hotline_and_human(backend_down: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("明天七里营停电不", "query_outage", {"date": "明天", "address": "七里营"})
    await conv.run(ActionQueryOutage())
    assert "95598" in conv.last_text() and conv.offered_human()
