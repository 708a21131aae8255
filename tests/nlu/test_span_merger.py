"""Pieces of one address tagged separately are joined (bot/components/span_merger.py)."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.components.span_merger import AdjacentSpanMerger, merge_adjacent


def entity(kind: str, text: str, start: int, end: int) -> dict:
    return {"entity": kind, "value": text[start:end], "start": start, "end": end}


def test_touching_and_space_separated_pieces_are_joined() -> None:
    text = "县城人民路阳光花园 3号楼 家里没电"
    pieces = [entity("address", text, 0, 5), entity("address", text, 5, 9), entity("address", text, 10, 13)]
    [joined] = merge_adjacent(text, pieces, ["address"])
    assert (joined["value"], joined["start"], joined["end"]) == ("县城人民路阳光花园3号楼", 0, 13)


def test_separated_spans_other_types_and_unlisted_types_stay_apart() -> None:
    text = "七里营镇俺叫王建国朗公庙镇明天后天"
    entities = [
        entity("address", text, 0, 4),
        entity("person_name", text, 6, 9),
        entity("address", text, 9, 13),  # touches the name, not the first address
        entity("date", text, 13, 15),
        entity("date", text, 15, 17),  # dates are not joined unless configured
    ]
    merged = merge_adjacent(text, entities, ["address"])
    assert [(e["entity"], e["value"]) for e in merged] == [
        ("address", "七里营镇"),
        ("person_name", "王建国"),
        ("address", "朗公庙镇"),
        ("date", "明天"),
        ("date", "后天"),
    ]


def test_component_replaces_the_pieces_on_the_message() -> None:
    text = "小冀镇工业路18号"
    message = Message.build(text=text)
    message.set("entities", [entity("address", text, 0, 3), entity("address", text, 3, 9)])
    [processed] = AdjacentSpanMerger(["address"]).process([message])
    assert [(e["value"], e["start"], e["end"]) for e in processed.get("entities")] == [
        ("小冀镇工业路18号", 0, 9)
    ]
