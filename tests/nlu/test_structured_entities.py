"""The pipeline's filter for structured entities of the wrong shape (bot/components)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.structured_entities import StructuredEntityFilter, has_valid_shape


@pytest.mark.parametrize(
    ("entity", "value", "valid"),
    [
        ("account_no", "3100000001", True),
        ("account_no", "4103100000001", True),
        ("account_no", "400", False),
        ("account_no", "", False),
        ("account_no", "5103100000001", False),
        ("phone", "138 0373 1234", True),
        ("phone", "1380373123", False),
        ("phone_last4", "1234", True),
        ("phone_last4", "12345", False),
        ("ticket_no", "20261119000207", True),
        ("ticket_no", "", False),
        ("address", "七里营镇", True),  # not a structured entity: never filtered
    ],
)
def test_shapes(entity: str, value: str, valid: bool) -> None:
    assert has_valid_shape({"entity": entity, "value": value}) is valid


def test_filter_keeps_good_entities_and_drops_bad_ones() -> None:
    message = Message(
        data={
            "text": "俺家一个月用400度户号3100000001",
            "entities": [
                {"entity": "account_no", "value": "400", "start": 6, "end": 9},
                {"entity": "account_no", "value": "3100000001", "start": 12, "end": 22},
                {"entity": "date", "value": "一个月", "start": 2, "end": 5},
            ],
        }
    )
    StructuredEntityFilter().process([message])
    assert [e["value"] for e in message.get("entities")] == ["3100000001", "一个月"]
