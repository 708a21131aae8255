"""Closed-class entities reach the actions as the catalog's canonical values (bot/entity_values.yml)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.canonical_values import CanonicalValueMapper
from bot.entity_values import Rule, canonical_value, load_rules, parse_rules

CATALOG = {
    # shared/spec/intents.md, "Entities"
    "fault_type": {"全户停电", "跳闸", "电压低", "电表故障", "线路故障"},
    "business_type": {"新装", "增容", "减容", "过户", "更名", "销户", "暂停", "光伏并网", "充电桩"},
    "tariff_type": {"阶梯电价", "峰谷电价", "农业生产", "一般工商业", "大工业"},
    "rating": {"非常满意", "满意", "一般", "不满意", "非常不满意"},
}


def test_rules_name_exactly_the_catalog_values() -> None:
    rules = load_rules()
    assert {entity: {rule.value for rule in table} for entity, table in rules.items()} == CATALOG


@pytest.mark.parametrize(
    ("entity", "span", "expected"),
    [
        ("fault_type", "电表黑屏了", "电表故障"),
        ("fault_type", "空开老跳", "跳闸"),
        ("fault_type", "表箱里漏保跳了", "跳闸"),  # 跳闸 is tried before 电表故障
        ("fault_type", "进户线烧断了", "线路故障"),
        ("fault_type", "灯忽明忽暗", "电压低"),
        ("fault_type", "一点电都木有", "全户停电"),
        ("fault_type", "线路故障", "线路故障"),
        ("fault_type", "跳", "跳闸"),  # broad keyword
        ("fault_type", "电表乱跳", "电表故障"),  # a keyword beats another value's broad keyword
        ("fault_type", "特别暗", "电压低"),
        ("fault_type", "电线", "线路故障"),  # 线 before 电
        ("business_type", "装个电表", "新装"),
        ("business_type", "屋顶装光伏", "光伏并网"),  # not 新装 although it says 装
        ("business_type", "减少容量", "减容"),
        ("tariff_type", "峰平谷", "峰谷电价"),
        ("tariff_type", "机井浇地", "农业生产"),
        ("rating", "非常不满意", "非常不满意"),
        ("rating", "不满意", "不满意"),  # not 满意, which it contains
        ("rating", "太差了", "非常不满意"),
        ("rating", "还中", "一般"),
        ("rating", "不咋样", "不满意"),
        ("rating", "五星", "非常满意"),
        ("rating", "好评", "满意"),
    ],
)
def test_spans_map_to_canonical_values(entity: str, span: str, expected: str) -> None:
    assert canonical_value(entity, span) == expected


def test_unmatched_spans_and_other_entities_are_left_alone() -> None:
    assert canonical_value("fault_type", "有点怪") is None
    assert canonical_value("address", "七里营镇") is None


def test_malformed_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="fault_type"):
        parse_rules({"fault_type": [{"value": "跳闸"}]})
    with pytest.raises(ValueError, match="rating"):
        parse_rules({"rating": []})
    with pytest.raises(ValueError, match="broad"):
        parse_rules({"fault_type": [{"value": "跳闸", "keywords": ["闸"], "broad": [""]}]})


def test_component_rewrites_only_non_canonical_values() -> None:
    mapper = CanonicalValueMapper({"fault_type": (Rule("跳闸", ("闸",)),)})
    message = Message.build(text="总闸老掉 七里营")
    message.set(
        "entities",
        [
            {"entity": "fault_type", "value": "总闸老掉", "start": 0, "end": 4},
            {"entity": "address", "value": "七里营", "start": 5, "end": 8},
        ],
    )
    [processed] = mapper.process([message])
    values = [(e["entity"], e["value"]) for e in processed.get("entities")]
    assert values == [("fault_type", "跳闸"), ("address", "七里营")]
