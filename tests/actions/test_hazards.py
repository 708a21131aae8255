"""report_hazard: the first reply is the safety message, whatever state the backend is in.

The first turn is served by Rasa alone (data/rules/outages.yml: utter_hazard_safety, then
utter_hazard_where, both domain responses); these tests pin that order in the real rule and
domain files, then drive the order-creating action against the real api/ and a stopped one.
The end-to-end check through Rasa is tests/e2e/test_outages_wechat.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from actions.backend_client import get_backend_client
from actions.hazards import ActionAskHazardLocation, ActionReportHazard
from harness import REPO_ROOT, Conversation

Start = Callable[[str], Conversation]


def _dialogue_steps() -> list[list[dict[str, Any]]]:
    """Every rule and story in data/, as lists of steps."""
    found: list[list[dict[str, Any]]] = []
    for path in sorted(Path(REPO_ROOT / "data").rglob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in ("rules", "stories"):
            found.extend(entry.get("steps") or [] for entry in content.get(key) or [])
    return found


def test_every_hazard_report_is_answered_first_with_the_safety_message(domain: dict[str, Any]) -> None:
    followers = []
    for steps in _dialogue_steps():
        for index, step in enumerate(steps[:-1]):
            if step.get("intent") == "report_hazard":
                followers.append(steps[index + 1].get("action"))
    assert followers and set(followers) == {"utter_hazard_safety"}


def test_the_first_turn_needs_neither_backend_nor_action_server(domain: dict[str, Any]) -> None:
    [rule] = [s for s in _dialogue_steps() if s and s[0].get("intent") == "report_hazard" and len(s) > 3]
    assert [step.get("action") for step in rule[1:4]] == [
        "utter_hazard_safety",
        "utter_hazard_where",
        "hazard_form",
    ]
    # Both texts are domain responses, served by Rasa itself.
    safety = domain["responses"]["utter_hazard_safety"][0]["text"]
    for must in ("8米", "不要触碰", "牲畜", "120", "110", "95598"):
        assert must in safety
    assert "位置" in domain["responses"]["utter_hazard_where"][0]["text"]
    # No validation action: the form takes the place as said, without calling anything.
    assert "validate_hazard_form" not in domain["actions"]


async def test_form_ask_is_silent_right_after_the_where_question(
    conversation: Start, domain: dict[str, Any]
) -> None:
    conv = conversation("new_session")
    conv.user("电线掉地上了", "report_hazard")
    where = domain["responses"]["utter_hazard_where"][0]["text"]
    conv.state["events"].append({"event": "bot", "text": where, "timestamp": 1795000001.0})
    await conv.run(ActionAskHazardLocation())
    assert conv.replies == []
    conv.state["events"].append({"event": "bot", "text": "别的话", "timestamp": 1795000002.0})
    await conv.run(ActionAskHazardLocation())
    assert conv.replies[-1].get("response") == "utter_hazard_where"


async def test_urgent_order_with_number_after_the_place(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("俺村口电线杆歪了电线耷拉到地上了", "report_hazard")
    conv.apply([{"event": "slot", "name": "hazard_location", "value": "七里营镇刘庄村村口，3号电线杆"}])
    events = await conv.run(ActionReportHazard())
    text = next(t for t in conv.texts() if "紧急抢修" in t)
    assert "最高优先级" in text and "远离" in text
    # ... and the conversation goes to a person at hazard priority, the bot paused.
    handoffs = [r["custom"]["handoff"] for r in conv.replies if "handoff" in (r.get("custom") or {})]
    assert handoffs and handoffs[0]["reason"] == "hazard" and handoffs[0]["priority"] == "hazard"
    assert any(e.get("event") == "pause" for e in events)
    number = text.split("工单号：")[1][:14]
    order = await get_backend_client().get_repair(ticket_no=number, conversation_id=conv.state["sender_id"])
    assert order["priority"] == "urgent" and order["hazard"] and order["needs_immediate_human"]
    assert conv.slots["hazard_location"] is None
    assert not any("户号" in t or "验证" in t for t in conv.texts())  # never any verification


async def test_backend_down_still_gives_hotline_place_and_safety(
    backend_down: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    conv.user("变压器冒烟了", "report_hazard")
    conv.apply([{"event": "slot", "name": "hazard_location", "value": "合河乡塔铺村东头变压器"}])
    events = await conv.run(ActionReportHazard())
    text = next(t for t in conv.texts() if "合河乡塔铺村东头变压器" in t)
    assert "95598" in text
    assert "远离" in text and "120" in text
    # The handoff still happens: the router queues the conversation from this payload even
    # though the action server could not reach the backend.
    handoffs = [r["custom"]["handoff"] for r in conv.replies if "handoff" in (r.get("custom") or {})]
    assert handoffs == [
        {"reason": "hazard", "priority": "hazard", "summary": handoffs[0]["summary"], "registered": False}
    ]
    assert any(e.get("event") == "pause" for e in events)
