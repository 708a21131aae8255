"""backend/address.py: the spaCy address parser over config/places.yml, and outage matching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jieba
import pytest
import spacy
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.lang.zh import ChineseTokenizer
from spacy.pipeline import EntityRuler

from api.routes import addresses
from backend import address
from backend.address import (
    DEFAULT_PLACES_PATH,
    AddressParser,
    ParsedAddress,
    chinese_number,
    covers,
    default_parser,
    gazetteer_from_mapping,
    load_gazetteer,
    parse_address,
    same_place,
)
from backend.settings import Settings

DEMO = yaml.safe_load(Settings().demo_data.read_text(encoding="utf-8"))


def _outage(area: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = DEMO["planned_outages"] + DEMO["active_faults"]
    for entry in entries:
        if entry["area"] == area:
            return entry
    raise AssertionError(f"no demo outage for {area}")


# --------------------------------------------------------------------------- spellings


@pytest.mark.parametrize(
    ("text", "town", "village", "group", "house_no"),
    [
        ("七里营", "七里营镇", None, None, None),
        ("七里营镇", "七里营镇", None, None, None),
        ("七里营镇七里营村3组", "七里营镇", "七里营村", 3, None),
        ("七里营镇七里营村三组", "七里营镇", "七里营村", 3, None),
        ("七里营镇七里营村第三组", "七里营镇", "七里营村", 3, None),
        ("七里营镇七里营村三队", "七里营镇", "七里营村", 3, None),
        ("七里营镇七里营村幺组", "七里营镇", "七里营村", 1, None),
        ("新乡县七里营镇七里营村3组12号", "七里营镇", "七里营村", 3, "12"),
        ("河南省新乡市新乡县七里营镇七里营村3组12号", "七里营镇", "七里营村", 3, "12"),
        ("俺家在七里营镇七里营村三组十二号", "七里营镇", "七里营村", 3, "12"),
        ("七里营镇 七里营村 ３组 １２号", "七里营镇", "七里营村", 3, "12"),
        ("俺是七里营东街的", "七里营镇", "东街村", None, None),
        ("俺家住七里营镇西街村二十三组", "七里营镇", "西街村", 23, None),
        ("朗公庙村5组8号", "朗公庙镇", "朗公庙村", 5, "8"),
        ("郎公庙毛庄", "朗公庙镇", "毛庄村", None, None),
        ("宅坡镇翟坡村", "翟坡镇", "翟坡村", None, None),
        ("合河乡合河村四组十五号", "合河乡", "合河村", 4, "15"),
        ("合河村4组15号", "合河乡", "合河村", 4, "15"),
        ("新乡县古固寨镇古固寨村2组新宅", "古固寨镇", "古固寨村", 2, None),
        ("大召营镇大召营村1组21号", "大召营镇", "大召营村", 1, "21"),
        ("小冀镇工业路18号", "小冀镇", None, None, "18"),
        ("七里营一百零五号", "七里营镇", None, None, "105"),
        ("七里营镇张家村2组", "七里营镇", "张家村", 2, None),
    ],
)
def test_spellings_of_rural_addresses(
    text: str, town: str, village: str | None, group: int | None, house_no: str | None
) -> None:
    parsed = parse_address(text)
    assert (parsed.town, parsed.village, parsed.group, parsed.house_no) == (town, village, group, house_no)
    assert parsed.in_service_area
    assert parsed.raw == text


def test_town_compound_building_unit_room() -> None:
    parsed = parse_address("县城金穗大道幸福小区3号楼2单元501")
    assert parsed.town == "县城"
    assert parsed.road == "金穗大道"
    assert parsed.compound == "幸福小区"
    assert (parsed.building, parsed.unit, parsed.room) == ("3", "2", "501")
    assert parsed.house_no is None  # 3号楼 is a building, not house number 3
    assert parsed.area_type == "urban"


@pytest.mark.parametrize(
    "text",
    [
        "新乡县城金穗大道中段幸福小区3号楼2单元501",
        "幸福小区三号楼二单元五零一",
        "幸福小区3-2-501",
        "金穗大道幸福小区3号楼2单元501室",
    ],
)
def test_compound_spellings_agree(text: str) -> None:
    parsed = parse_address(text)
    assert parsed.town == "县城"
    assert (parsed.compound, parsed.building, parsed.unit, parsed.room) == ("幸福小区", "3", "2", "501")


def test_irrigation_well_is_remote_although_its_town_is_rural() -> None:
    well = parse_address("翟坡镇翟坡村东地3号机井")
    assert (well.town, well.village, well.facility) == ("翟坡镇", "翟坡村", "3号机井")
    assert well.area_type == "remote"
    assert well.house_no is None  # 3号机井 is a well, not house number 3
    assert parse_address("翟坡镇翟坡村2组").area_type == "rural"
    assert parse_address("翟坡村东地三号机井").facility == "3号机井"


def test_village_override_of_area_type() -> None:
    assert parse_address("翟坡镇滩区新村").area_type == "remote"


def test_road_without_town_infers_the_town_from_the_gazetteer() -> None:
    parsed = parse_address("工业路18号")
    assert (parsed.town, parsed.road, parsed.house_no) == ("小冀镇", "工业路", "18")
    assert parsed.confidence < parse_address("小冀镇工业路18号").confidence


@pytest.mark.parametrize("text", ["郑州市金水区", "郑州市金水区人民路25号", "获嘉县亢村镇", "新乡市红旗区"])
def test_places_outside_the_county_have_no_town(text: str) -> None:
    parsed = parse_address(text)
    assert parsed.town is None
    assert not parsed.in_service_area
    assert parsed.outside_place is not None
    assert parsed.area_type is None
    assert parsed.confidence == 0.0


@pytest.mark.parametrize("text", ["俺村咋又停电了", "电费还剩多少", "", "   "])
def test_text_without_an_address(text: str) -> None:
    parsed = parse_address(text)
    assert parsed.town is None and parsed.village is None
    assert parsed.confidence == 0.0


def test_village_name_shared_by_two_towns_is_not_guessed() -> None:
    parsed = parse_address("东街村")
    assert parsed.town is None
    assert parsed.town_candidates == ("七里营镇", "小冀镇")
    assert parse_address("小冀镇东街村").town == "小冀镇"


def test_village_not_in_the_named_town_is_kept_but_flagged() -> None:
    parsed = parse_address("七里营镇毛庄村")  # 毛庄村 is in 朗公庙镇 in the gazetteer
    assert (parsed.town, parsed.village, parsed.village_known) == ("七里营镇", "毛庄村", False)
    assert parsed.confidence < parse_address("朗公庙镇毛庄村").confidence


def test_spans_point_into_the_normalised_text() -> None:
    parsed = parse_address("新乡县 七里营镇七里营村３组12号")
    assert parsed.text == "新乡县七里营镇七里营村3组12号"
    assert [(span.label, span.value) for span in parsed.spans] == [
        ("COUNTY", "新乡县"),
        ("TOWN", "七里营镇"),
        ("VILLAGE", "七里营村"),
        ("GROUP", "3"),
        ("HOUSE_NO", "12"),
    ]
    for span in parsed.spans:
        assert parsed.text[span.start : span.end] == span.text


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("七里营镇村东街组号楼单元机井三十一2 5-路小区市县第幺俺的")),
        max_size=40,
    )
)
def test_parser_never_fails_and_spans_stay_consistent(text: str) -> None:
    parsed = parse_address(text)
    for span in parsed.spans:
        assert parsed.text[span.start : span.end] == span.text
    if parsed.town is None:
        assert parsed.area_type is None


@pytest.mark.parametrize(
    ("spoken", "value"),
    [
        ("12", 12),
        ("三", 3),
        ("十", 10),
        ("十二", 12),
        ("二十三", 23),
        ("一百零五", 105),
        ("五零一", 501),
        ("幺", 1),
        ("两", 2),
        ("第三", 3),
        ("三里", None),
        ("", None),
    ],
)
def test_chinese_number(spoken: str, value: int | None) -> None:
    assert chinese_number(spoken) == value


# --------------------------------------------------------------------------- demo data


@pytest.mark.parametrize("customer", DEMO["customers"], ids=lambda customer: customer["account_no"])
def test_every_demo_customer_address_gives_its_town_and_area_type(customer: dict[str, Any]) -> None:
    parsed = parse_address(customer["address"])
    assert parsed.town == customer["town"]
    assert parsed.area_type == customer["area_type"]


def test_every_demo_outage_village_is_in_the_gazetteer() -> None:
    gazetteer = load_gazetteer()
    for entry in DEMO["planned_outages"] + DEMO["active_faults"]:
        town = gazetteer.canonical_town(entry["area"])
        assert town == entry["area"]
        for village in entry["villages"]:
            if village.endswith("沿线"):
                assert town in gazetteer.towns_by_road[village.removesuffix("沿线")]
            else:
                assert town in gazetteer.towns_by_village[village]


def test_places_file_states_its_date_and_source() -> None:
    raw = DEFAULT_PLACES_PATH.read_text(encoding="utf-8")
    assert "company's own village" in raw or "village register" in raw
    gazetteer = load_gazetteer()
    assert gazetteer.effective_date.year >= 2026
    assert gazetteer.source.strip()


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("新乡县七里营镇七里营村3组12号", True),
        ("俺是七里营东街的", True),
        ("七里营镇西街村二十三组", True),
        ("七里营村", True),  # the town follows from the village
        ("七里营镇刘庄村", False),  # same town, village not in the outage
        ("七里营", False),  # town only: not certainly affected
        ("小冀镇东街村", False),  # same village name, other town
        ("朗公庙镇朗公庙村", False),
        ("郑州市金水区", False),
    ],
)
def test_covers_the_planned_outage_in_qiliying(text: str, expected: bool) -> None:
    outage = _outage("七里营镇")
    assert covers(outage["area"], outage["villages"], parse_address(text)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("新乡县小冀镇工业路18号", True),  # 工业路沿线
        ("工业路18号", True),
        ("小冀村2组", True),
        ("小冀镇京华村", False),
        ("县城人民路", False),
        ("小冀镇", False),
    ],
)
def test_covers_the_active_fault_in_xiaoji(text: str, expected: bool) -> None:
    fault = _outage("小冀镇")
    assert covers(fault["area"], fault["villages"], parse_address(text)) is expected


def test_covers_accepts_the_area_in_any_spelling_and_empty_villages_mean_the_whole_town() -> None:
    assert covers("七里营", ["东街"], parse_address("七里营镇东街村5组"))
    assert covers("七里营镇", [], parse_address("七里营镇刘庄村"))
    assert not covers("七里营镇", [], parse_address("朗公庙镇"))
    assert not covers("不存在镇", [], parse_address("七里营镇"))


def test_town_only_address_is_told_about_a_village_outage_through_same_place() -> None:
    outage = _outage("朗公庙镇")
    customer = parse_address("郎公庙")
    assert not covers(outage["area"], outage["villages"], customer)
    assert same_place(parse_address(outage["area"]), customer)


def test_same_place() -> None:
    spellings = [
        "七里营",
        "七里营镇",
        "七里营镇七里营村3组",
        "新乡县七里营镇七里营村3组12号",
        "七里营镇七里营村三组",
    ]
    parsed = [parse_address(text) for text in spellings]
    assert all(same_place(a, b) for a in parsed for b in parsed)
    assert not same_place(parse_address("七里营镇七里营村3组"), parse_address("七里营镇七里营村4组"))
    assert not same_place(parse_address("七里营镇七里营村"), parse_address("俺是七里营东街的"))
    assert not same_place(parse_address("七里营镇"), parse_address("朗公庙镇"))
    assert not same_place(parse_address("郑州市金水区"), parse_address("郑州市金水区"))  # not our place


# --------------------------------------------------------------------------- the pipeline itself


def test_pipeline_uses_no_downloaded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the address parser must not load a packaged spaCy model")

    monkeypatch.setattr(spacy, "load", refuse)
    monkeypatch.setattr(spacy.util, "load_model", refuse)
    parser = AddressParser(load_gazetteer())
    nlp = parser.nlp
    assert nlp.lang == "zh"
    assert nlp.pipe_names == ["entity_ruler"]
    assert isinstance(nlp.get_pipe("entity_ruler"), EntityRuler)
    # Nothing trainable: a component with weights would need a model package.
    assert not any(hasattr(component, "model") for _, component in nlp.pipeline)
    assert isinstance(nlp.tokenizer, ChineseTokenizer)
    assert nlp.tokenizer.segmenter == "jieba"
    assert parser.parse("七里营镇七里营村3组").group == 3


def test_place_names_do_not_leak_into_the_global_jieba() -> None:
    default_parser()
    assert jieba.dt.FREQ.get("七里营镇", 0) < address._USER_WORD_FREQ


def test_pipeline_is_built_once() -> None:
    assert default_parser() is default_parser()


def test_gazetteer_refuses_a_name_that_means_two_things() -> None:
    base: dict[str, Any] = {"county": "新乡县", "effective_date": "2026-11-01", "source": "test"}
    clash_town_village = {
        **base,
        "towns": [
            {
                "name": "甲镇",
                "aliases": ["东街"],
                "area_type": "rural",
                "villages": [{"name": "东街村", "aliases": ["东街"]}],
            },
        ],
    }
    with pytest.raises(ValueError, match="both a town and a village"):
        gazetteer_from_mapping(clash_town_village)
    two_villages = {
        **base,
        "towns": [
            {"name": "甲镇", "area_type": "rural", "villages": [{"name": "东街村", "aliases": ["东街"]}]},
            {"name": "乙镇", "area_type": "rural", "villages": [{"name": "东大街村", "aliases": ["东街"]}]},
        ],
    }
    with pytest.raises(ValueError, match="two different villages"):
        gazetteer_from_mapping(two_villages)
    with pytest.raises(ValueError, match="area_type"):
        gazetteer_from_mapping({**base, "towns": [{"name": "甲镇", "area_type": "suburban"}]})


def test_a_different_gazetteer_file_gives_a_different_service_area(tmp_path: Path) -> None:
    places = tmp_path / "places.yml"
    places.write_text(
        "county: 测试县\neffective_date: 2026-01-01\nsource: test\n"
        "towns:\n  - {name: 甲镇, aliases: [甲], area_type: remote,\n"
        "     villages: [{name: 乙村, aliases: [乙]}]}\n",
        encoding="utf-8",
    )
    parser = AddressParser(load_gazetteer(places))
    parsed = parser.parse("甲镇乙村3组")
    assert (parsed.town, parsed.village, parsed.group, parsed.area_type) == ("甲镇", "乙村", 3, "remote")
    assert parser.parse("七里营镇").town is None


# --------------------------------------------------------------------------- HTTP


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.state.settings = Settings(service_token="test-service-token")
    app.include_router(addresses.router)
    return TestClient(app)


def test_parse_endpoint_requires_the_service_token(client: TestClient) -> None:
    assert client.post("/api/v1/addresses/parse", json={"text": "七里营"}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/api/v1/addresses/parse", json={"text": "七里营"}, headers=wrong).status_code == 401


def test_parse_endpoint_returns_the_parsed_fields(client: TestClient) -> None:
    response = client.post(
        "/api/v1/addresses/parse",
        json={"text": "俺是七里营镇七里营村三组的"},
        headers={"Authorization": "Bearer test-service-token"},
    )
    assert response.status_code == 200
    body = response.json()
    expected: ParsedAddress = parse_address("俺是七里营镇七里营村三组的")
    assert (body["town"], body["village"], body["group"], body["area_type"]) == (
        "七里营镇",
        "七里营村",
        3,
        "rural",
    )
    assert body["in_service_area"] is True
    assert body["confidence"] == expected.confidence
    assert [span["label"] for span in body["spans"]] == ["TOWN", "VILLAGE", "GROUP"]


def test_parse_endpoint_rejects_empty_text(client: TestClient) -> None:
    response = client.post(
        "/api/v1/addresses/parse", json={"text": ""}, headers={"Authorization": "Bearer test-service-token"}
    )
    assert response.status_code == 422
