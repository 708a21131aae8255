"""Two-stage fallback: Chinese choices for the two likeliest intents, then hotline and a human."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.training_data.message import Message

from actions.fallback import (
    INTENT_LABELS,
    ActionDefaultAskAffirmation,
    ActionDefaultAskRephrase,
    ActionDefaultFallback,
)
from harness import REPO_ROOT, Conversation

Start = Callable[[str], Conversation]
# Never offered as a choice: they only mean something inside a flow, and out_of_scope is "都不是".
NOT_OFFERED = {"affirm", "deny", "inform", "out_of_scope"}


def low_confidence(conv: Conversation, text: str, ranking: list[tuple[str, float]], **entities: str) -> None:
    """A message the FallbackClassifier turned into nlu_fallback: it heads the ranking."""
    conv.user(text, "nlu_fallback", entities or None)
    message = conv.state["latest_message"]
    message["intent"] = {"name": "nlu_fallback", "confidence": 0.5}
    message["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.5}] + [
        {"name": name, "confidence": confidence} for name, confidence in ranking
    ]


def parse_payload(payload: str) -> dict[str, Any]:
    """How Rasa itself reads a button payload (the same handler the processor uses)."""
    domain = Domain.load(str(REPO_ROOT / "domain.yml"))
    message = Message(data={"text": payload})
    parsed = RegexMessageHandler().process([message], domain)[0]
    return {
        "intent": parsed.get("intent")["name"],
        "entities": {e["entity"]: e["value"] for e in parsed.get("entities") or []},
    }


async def test_offers_the_two_likeliest_intents_in_chinese_plus_none_of_these(conversation: Start) -> None:
    conv = conversation("new_session")
    low_confidence(conv, "那个电的钱咋弄", [("pay_bill", 0.41), ("query_bill", 0.33), ("ask_tariff", 0.1)])
    await conv.run(ActionDefaultAskAffirmation())
    assert len(conv.replies) == 1
    message = conv.replies[0]
    assert "您是想" in message["text"]
    assert [(b["title"], b["payload"]) for b in message["buttons"]] == [
        ("怎么交电费", "/pay_bill"),
        ("查电费账单", "/query_bill"),
        ("都不是", "/out_of_scope"),
    ]


async def test_intents_that_make_no_sense_as_a_choice_are_skipped(conversation: Start) -> None:
    conv = conversation("new_session")
    low_confidence(
        conv,
        "中 就那个",
        [
            ("affirm", 0.4),
            ("inform", 0.3),
            ("out_of_scope", 0.1),
            ("query_balance", 0.08),
            ("deny", 0.05),
            ("ask_service_info", 0.04),
        ],
    )
    await conv.run(ActionDefaultAskAffirmation())
    payloads = [b["payload"] for b in conv.replies[0]["buttons"]]
    assert payloads == ["/query_balance", "/ask_service_info", "/out_of_scope"]


async def test_a_click_keeps_the_entities_of_the_original_message(conversation: Start) -> None:
    conv = conversation("new_session")
    ranking = [("ask_tariff", 0.45), ("ask_tariff_advice", 0.4)]
    low_confidence(conv, "峰谷电 咋弄", ranking, tariff_type="峰谷电价")
    await conv.run(ActionDefaultAskAffirmation())
    first = conv.replies[0]["buttons"][0]["payload"]
    assert parse_payload(first) == {"intent": "ask_tariff", "entities": {"tariff_type": "峰谷电价"}}
    # "都不是" must be what Rasa's two-stage fallback reads as a denial.
    assert parse_payload(conv.replies[0]["buttons"][-1]["payload"])["intent"] == "out_of_scope"


async def test_a_possible_hazard_gets_safety_instructions_before_the_question(conversation: Start) -> None:
    conv = conversation("new_session")
    low_confidence(conv, "线掉了 咋整", [("report_fault", 0.4), ("report_hazard", 0.38)])
    await conv.run(ActionDefaultAskAffirmation())
    assert conv.replies[0]["response"] == "utter_hazard_safety"
    assert not conv.replies[0]["text"]  # nothing of ours in front of the safety instructions
    assert [b["payload"] for b in conv.replies[1]["buttons"]][:2] == ["/report_fault", "/report_hazard"]


async def test_nothing_to_offer_asks_for_other_words_without_buttons(conversation: Start) -> None:
    conv = conversation("new_session")
    low_confidence(conv, "嗯嗯", [("affirm", 0.4), ("deny", 0.3)])
    await conv.run(ActionDefaultAskAffirmation())
    assert len(conv.replies) == 1
    assert "换个说法" in conv.replies[0]["text"]
    assert not conv.replies[0]["buttons"]


async def test_second_stage_asks_for_other_words(conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("都不是", "out_of_scope")
    await conv.run(ActionDefaultAskRephrase())
    assert "换个说法" in conv.last_text()
    assert not conv.offered_human()


async def test_second_failure_hands_over_to_a_person(conversation: Start, backend: str) -> None:
    # Issue 8: two failures in a row go straight to the human queue (actions/handoff.py).
    conv = conversation("new_session")
    low_confidence(conv, "啊啊那个", [("greet", 0.3)])
    events = await conv.run(ActionDefaultFallback())
    assert "95598" in conv.texts()[0] and "转接人工客服" in conv.texts()[0]
    handoff = conv.replies[-1]["custom"]["handoff"]
    assert handoff["reason"] == "fallback"
    # Forget the message, as Rasa's default does, then pause the bot for the agent.
    assert [e["event"] for e in events] == ["rewind", "pause"]


def test_every_offerable_intent_has_a_distinct_chinese_label(domain: dict[str, Any]) -> None:
    offerable = set(domain["intents"]) - NOT_OFFERED
    assert offerable == set(INTENT_LABELS)
    labels = list(INTENT_LABELS.values())
    assert len(set(labels)) == len(labels)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels)


def test_low_confidence_messages_go_to_the_two_stage_fallback(domain: dict[str, Any]) -> None:
    with open(REPO_ROOT / "data" / "rules" / "fallback.yml", encoding="utf-8") as handle:
        rules = yaml.safe_load(handle)["rules"]
    steps = [rule["steps"] for rule in rules]
    assert [
        {"intent": "nlu_fallback"},
        {"action": "action_two_stage_fallback"},
        {"active_loop": "action_two_stage_fallback"},
    ] in steps
    # Our overrides replace Rasa's English defaults only if the domain lists them.
    overrides = ("action_default_ask_affirmation", "action_default_ask_rephrase", "action_default_fallback")
    assert set(overrides) <= set(domain["actions"])
