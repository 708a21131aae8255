"""Interim answers: every business intent answers honestly; a reported danger gets safety first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import ActionExecutor

from actions.interim import ActionInterimAnswer
from harness import REPO_ROOT, Conversation

Start = Callable[[str], Conversation]

INTERIM_INTENTS = [
    "query_bill",
    "query_usage",
    "ask_tariff_advice",
    "apply_service",
    "query_application",
    "complain",
    "query_ticket",
    "give_feedback",
    "rate_service",
    "request_human",
]
# These only carry meaning inside a flow (a form's question, a confirmation), where the flow's
# own rules answer them.
FLOW_ONLY_INTENTS = {"affirm", "deny", "inform"}


def rules() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(Path(REPO_ROOT / "data" / "rules").glob("*.yml")):
        with path.open(encoding="utf-8") as handle:
            found += yaml.safe_load(handle).get("rules") or []
    return found


def rule_steps_after(intent: str) -> list[list[dict[str, Any]]]:
    """For each rule started by `intent` (outside any loop), the steps that follow it."""
    following = []
    for rule in rules():
        steps = rule["steps"]
        if steps and steps[0] == {"intent": intent} and not rule.get("condition"):
            following.append(steps[1:])
    return following


@pytest.mark.parametrize("intent", INTERIM_INTENTS)
async def test_each_interim_answer_is_honest_and_points_somewhere(conversation: Start, intent: str) -> None:
    conv = conversation("new_session")
    conv.user("……", intent)
    await conv.run(ActionInterimAnswer())
    assert len(conv.replies) == 1
    text = conv.last_text()
    assert "95598" in text
    assert "暂时" in text  # says plainly what it cannot do yet
    # A human is offered, except to someone who just asked for one (that would loop).
    assert conv.offered_human() is (intent != "request_human")


async def test_apply_service_names_the_business_asked_about(conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("俺想增容", "apply_service", {"business_type": "增容"})
    await conv.run(ActionInterimAnswer())
    assert "“增容”" in conv.last_text()
    assert "网上国网App" in conv.last_text()


def test_a_reported_danger_gets_the_safety_instructions_before_anything_else(domain: dict[str, Any]) -> None:
    followups = rule_steps_after("report_hazard")
    assert followups, "report_hazard needs a rule"
    for steps in followups:
        assert steps[0] == {"action": "utter_hazard_safety"}
    safety = domain["responses"]["utter_hazard_safety"]
    assert safety
    for variant in safety:
        text = variant["text"]
        for must in ("远离", "8米", "不要触碰", "牲畜", "110", "120", "95598"):
            assert must in text, must
        # ...and 95598 comes after the instructions to keep away.
        assert text.index("远离") < text.index("95598")


def test_every_intent_outside_a_flow_has_a_rule(domain: dict[str, Any]) -> None:
    unanswered = [
        intent
        for intent in domain["intents"]
        if intent not in FLOW_ONLY_INTENTS and not rule_steps_after(intent)
    ]
    assert unanswered == []


def test_the_action_server_serves_every_new_action(domain: dict[str, Any]) -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    ours = {
        "action_answer_tariff",
        "action_answer_service_info",
        "action_answer_pay_bill",
        "action_answer_energy_saving",
        "action_interim_answer",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
        "action_default_fallback",
    }
    assert ours <= set(executor.actions)
    assert ours <= set(domain["actions"])
    # Every action our rules name is either served here or answered by a domain response.
    for rule in rules():
        for step in rule["steps"]:
            action = step.get("action")
            if action and action.startswith("action_") and action != "action_two_stage_fallback":
                assert action in executor.actions or action == "action_deactivate_loop", action
            elif action and action.startswith("utter_"):
                assert action in domain["responses"], action
