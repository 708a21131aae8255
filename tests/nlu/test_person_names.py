"""The account holder's name where the customer introduces it (bot/components/person_names.py)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.person_names import PersonNameExtractor, introduced_names, resolve_names


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("俺叫袁小兵家里没电了", ["袁小兵"]),
        ("户主是武振中", ["武振中"]),
        ("户主是俺爹邓长海", ["邓长海"]),
        ("户主 牛春生", ["牛春生"]),
        ("户号3100000001户主叫王建国", ["王建国"]),
        ("我叫王磊", ["王磊"]),
        ("名字是欧阳春华", ["欧阳春华"]),
        ("姓名：杜秀云 电话13803731234", ["杜秀云"]),
        ("我是户主崔国庆", ["崔国庆"]),
        ("俺是宋大勇", ["宋大勇"]),
        ("嗯户主是呃那个俺爹武振中", ["武振中"]),  # hotline fillers
    ],
)
def test_introduced_names_are_found(text: str, names: list[str]) -> None:
    assert [name for _, _, name in introduced_names(text)] == names


@pytest.mark.parametrize(
    "text",
    [
        "我是七里营的",  # a place, and 七 is no surname
        "俺是马庄村的",  # 马 is a surname, but 马庄 is followed by 村
        "我是古固寨的",  # a known place of the service area
        "我是房东",  # an ordinary word after the loose "我是"
        "我是高压用户",
        "叫王师傅来修",  # staff are not marked
        "户主不在家",
        "我是想问问电费",
    ],
)
def test_places_roles_and_staff_are_not_names(text: str) -> None:
    assert introduced_names(text) == []


def test_a_truncated_guess_is_replaced_and_staff_and_single_characters_dropped() -> None:
    text = "户主是武振中 王师傅来过了"
    guesses = [
        {"entity": "person_name", "value": "武", "start": 3, "end": 4},
        {"entity": "person_name", "value": "王", "start": 7, "end": 8},
        {"entity": "person_name", "value": "王师傅", "start": 7, "end": 10},
        {"entity": "address", "value": "七里营", "start": 0, "end": 0},
    ]
    resolved = resolve_names(text, guesses, "PersonNameExtractor")
    assert [(e["entity"], e["value"]) for e in resolved] == [("address", "七里营"), ("person_name", "武振中")]
    [name] = [e for e in resolved if e["entity"] == "person_name"]
    assert text[name["start"] : name["end"]] == "武振中"


def test_an_introduced_name_claims_its_span_from_other_entity_types() -> None:
    text = "户主是俺爹武振中 家里没电了"
    guesses = [
        {"entity": "fault_type", "value": "武振中", "start": 5, "end": 8},  # seen from the trained model
        {"entity": "fault_type", "value": "没电", "start": 11, "end": 13},
    ]
    resolved = resolve_names(text, guesses, "PersonNameExtractor")
    assert [(e["entity"], e["value"]) for e in resolved] == [
        ("fault_type", "没电"),
        ("person_name", "武振中"),
    ]


def test_a_bare_name_from_the_model_is_kept() -> None:
    guesses = [{"entity": "person_name", "value": "李秀兰", "start": 0, "end": 3}]
    assert resolve_names("李秀兰", guesses, "PersonNameExtractor") == guesses


def test_component_sets_entities_on_the_message() -> None:
    message = Message.build(text="俺叫袁小兵")
    message.set("entities", [])
    [processed] = PersonNameExtractor().process([message])
    assert [(e["entity"], e["value"], e["start"], e["end"]) for e in processed.get("entities")] == [
        ("person_name", "袁小兵", 2, 5)
    ]
