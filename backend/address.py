"""Read a Chinese address of the service area (新乡县) into town, village, group, house number, ….

Customers write the same place many ways: 七里营, 七里营镇, 七里营镇七里营村三组, 俺是七里营东街的,
新乡县七里营镇七里营村3组12号. Outage matching needs the canonical town and village, so this module
turns free text into a `ParsedAddress` with a spaCy pipeline that needs no downloaded model:

- tokenizer: `spacy.blank("zh")` with the jieba segmenter, given a private jieba dictionary that
  knows every name in config/places.yml (so 七里营镇 is one token, not 七里 + 营镇) and that splits
  a numeral from the unit word after it (三组 -> 三 + 组), so that rules see the same tokens
  whether people write digits or Chinese numerals;
- an EntityRuler: phrase patterns generated from the gazetteer (towns, villages, roads,
  compounds, with their aliases) plus token patterns for groups, house numbers, buildings,
  units, rooms, roads with numbers, compounds not in the gazetteer, irrigation wells, and
  administrative places outside the county.

Why spaCy rather than regexes: the ruler gives non-overlapping, longest-match spans with labels
and canonical ids over word tokens, so 3号楼 is a building and not house number 3, and 3号机井 is
a well. See docs/adr/0003-spacy-for-addresses.md.

The pipeline is built once per process (lazily, about one second) and reused; a parse then takes
well under a millisecond.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast, get_args

import jieba
import spacy
import yaml
from spacy.lang.zh import ChineseTokenizer
from spacy.language import Language
from spacy.pipeline import EntityRuler
from spacy.tokens import Doc, Span

AreaType = Literal["urban", "rural", "remote"]

DEFAULT_PLACES_PATH = Path(__file__).resolve().parent.parent / "config" / "places.yml"

# Entity labels the ruler assigns.
COUNTY = "COUNTY"
NEUTRAL = "NEUTRAL"  # 河南省, 新乡市: contain the county, say nothing about the town
OUTSIDE = "OUTSIDE"  # an administrative place that is not ours (郑州市, 金水区, 获嘉县)
TOWN = "TOWN"
VILLAGE = "VILLAGE"
ROAD = "ROAD"
COMPOUND = "COMPOUND"
GROUP = "GROUP"
HOUSE_NO = "HOUSE_NO"
BUILDING = "BUILDING"
UNIT = "UNIT"
ROOM = "ROOM"
BUILDING_UNIT_ROOM = "BUILDING_UNIT_ROOM"  # 3-2-501
FACILITY = "FACILITY"  # 3号机井: makes the address remote

_NUMERAL_CHARS = "零〇一二两三四五六七八九十百幺"
_NUMBER_RE = rf"^第?(?:[0-9]+|[{_NUMERAL_CHARS}]+)$"
_HAN = "\u4e00-\u9fff"
_GROUP_WORDS = ["组", "队", "小组", "村民组", "村民小组"]
_BUILDING_WORDS = ["号楼", "栋", "幢", "号栋"]
_ROOM_WORDS = ["室", "号", "户"]
_ROAD_SUFFIXES = ["路", "大道", "大街", "街"]
_COMPOUND_SUFFIXES = ["小区", "花园", "家园", "公寓", "社区"]
_DASHES = ["-", "—", "~"]
# Unit words that may follow a numeral inside one jieba token (三组, 十二号, 第三组).
_UNIT_WORDS = sorted(
    {*_GROUP_WORDS, *_BUILDING_WORDS, *_ROOM_WORDS, "号院", "单元", "楼"}, key=len, reverse=True
)
_SPOKEN_DIGITS = re.compile(f"[{_NUMERAL_CHARS}]+")
_SPOKEN_NUMBER = re.compile(f"第?[{_NUMERAL_CHARS}]+")
_NUMERAL_UNIT_RE = re.compile(rf"(第?(?:[0-9]+|[{_NUMERAL_CHARS}]+))({'|'.join(_UNIT_WORDS)})")

# Words the ruler must not take for the first part of a village, road or compound name.
# fmt: off
_NOT_A_NAME = [
    "俺们", "我们", "咱们", "你们", "他们", "这个", "那个", "哪个", "隔壁", "附近", "整个", "全部",
    "一条", "这条", "那条", "哪条", "马路", "公路", "道路", "半路", "什么", "停电", "没电",
]
# fmt: on
# Whole tokens ending in 村 that are not village names.
# fmt: off
_NOT_A_VILLAGE = [
    "农村", "乡村", "俺村", "咱村", "我村", "本村", "全村", "整村", "各村", "该村",
    "这村", "那村", "邻村", "外村", "山村", "村村", "新农村", "城中村", "俺们村", "咱们村",
]
# fmt: on
# 区 endings that are parts of a town rather than districts elsewhere.
_OUTSIDE_RE = (
    rf"^(?!.*(?:小区|社区|园区|景区|片区|城区|山区|校区|厂区|矿区|库区|营业区|服务区|开发区|示范区)$)"
    rf"[{_HAN}]{{2,8}}(?:省|市|县|区|镇|乡)$"
)

# Large enough that a gazetteer name always wins over jieba's own split of the same characters.
_USER_WORD_FREQ = 1_000_000


# --------------------------------------------------------------------------- gazetteer


@dataclass(frozen=True)
class Village:
    name: str
    aliases: tuple[str, ...] = ()
    area_type: AreaType | None = None  # None: the town's


@dataclass(frozen=True)
class Town:
    name: str
    aliases: tuple[str, ...]
    area_type: AreaType
    villages: tuple[Village, ...] = ()
    roads: tuple[str, ...] = ()
    compounds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Gazetteer:
    """config/places.yml, with lookups from any written form to the canonical name."""

    county: str
    county_aliases: tuple[str, ...]
    neutral_places: tuple[str, ...]
    remote_features: tuple[str, ...]
    towns: tuple[Town, ...]
    effective_date: date
    source: str
    town_by_name: Mapping[str, Town] = field(default_factory=dict)
    village_by_name: Mapping[str, str] = field(default_factory=dict)
    towns_by_village: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    towns_by_road: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    towns_by_compound: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def canonical_town(self, name: str) -> str | None:
        town = self.town_by_name.get(_clean(name))
        return town.name if town else None

    def canonical_village(self, name: str) -> str | None:
        return self.village_by_name.get(_clean(name))

    def area_type_of(self, town: str, village: str | None) -> AreaType:
        found = self.town_by_name[town]
        for candidate in found.villages:
            if candidate.name == village and candidate.area_type is not None:
                return candidate.area_type
        return found.area_type

    def all_names(self) -> set[str]:
        names = {*self.county_aliases, self.county, *self.neutral_places, *self.remote_features}
        names.update(self.town_by_name, self.village_by_name, self.towns_by_road, self.towns_by_compound)
        return names


def load_gazetteer(path: Path = DEFAULT_PLACES_PATH) -> Gazetteer:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return gazetteer_from_mapping(data)


def gazetteer_from_mapping(data: Mapping[str, Any]) -> Gazetteer:
    """Build and check the gazetteer; a name that could mean two different things is refused."""
    for required in ("county", "towns", "effective_date", "source"):
        if required not in data:
            raise ValueError(f"places config: missing '{required}'")
    towns = tuple(_town_from_mapping(entry) for entry in data["towns"])

    town_by_name: dict[str, Town] = {}
    village_by_name: dict[str, str] = {}
    towns_by_village: dict[str, list[str]] = {}
    towns_by_road: dict[str, list[str]] = {}
    towns_by_compound: dict[str, list[str]] = {}
    for town in towns:
        for name in (town.name, *town.aliases):
            if name in town_by_name:
                raise ValueError(f"places config: town name '{name}' used twice")
            town_by_name[name] = town
        for village in town.villages:
            towns_by_village.setdefault(village.name, []).append(town.name)
            for name in (village.name, *village.aliases):
                if village_by_name.setdefault(name, village.name) != village.name:
                    raise ValueError(f"places config: '{name}' names two different villages")
        for road in town.roads:
            towns_by_road.setdefault(road, []).append(town.name)
        for compound in town.compounds:
            towns_by_compound.setdefault(compound, []).append(town.name)
    clashes = set(town_by_name) & set(village_by_name)
    if clashes:
        raise ValueError(f"places config: names used for both a town and a village: {sorted(clashes)}")

    effective = data["effective_date"]
    return Gazetteer(
        county=str(data["county"]),
        county_aliases=tuple(data.get("county_aliases") or (data["county"],)),
        neutral_places=tuple(data.get("neutral_places") or ()),
        remote_features=tuple(data.get("remote_features") or ()),
        towns=towns,
        effective_date=effective if isinstance(effective, date) else date.fromisoformat(str(effective)),
        source=str(data["source"]),
        town_by_name=town_by_name,
        village_by_name=village_by_name,
        towns_by_village={name: tuple(found) for name, found in towns_by_village.items()},
        towns_by_road={name: tuple(found) for name, found in towns_by_road.items()},
        towns_by_compound={name: tuple(found) for name, found in towns_by_compound.items()},
    )


def _area_type(value: Any, where: str) -> AreaType:
    if value not in get_args(AreaType):
        raise ValueError(f"places config: {where}: area_type must be one of {get_args(AreaType)}")
    return cast(AreaType, value)


def _town_from_mapping(entry: Mapping[str, Any]) -> Town:
    name = str(entry["name"])
    villages: list[Village] = []
    for item in entry.get("villages") or ():
        if isinstance(item, str):
            villages.append(Village(name=item))
        else:
            override = item.get("area_type")
            villages.append(
                Village(
                    name=str(item["name"]),
                    aliases=tuple(item.get("aliases") or ()),
                    area_type=_area_type(override, f"{name}/{item['name']}") if override else None,
                )
            )
    return Town(
        name=name,
        aliases=tuple(entry.get("aliases") or ()),
        area_type=_area_type(entry.get("area_type"), name),
        villages=tuple(villages),
        roads=tuple(entry.get("roads") or ()),
        compounds=tuple(entry.get("compounds") or ()),
    )


# --------------------------------------------------------------------------- pipeline


class _AddressSegmenter:
    """What spaCy's Chinese tokenizer calls as its jieba: a private jieba with the place names.

    Private so that the place names do not change how any other jieba user in the process
    segments text (backend/textnorm.py keeps its own for the same reason).
    """

    def __init__(self, user_words: Sequence[str]) -> None:
        self._jieba = jieba.Tokenizer()
        for word in user_words:
            self._jieba.add_word(word, freq=_USER_WORD_FREQ)

    def cut(self, text: str, cut_all: bool = False) -> list[str]:
        return _address_tokens(self._jieba.cut(text, cut_all=cut_all))


def _address_tokens(jieba_tokens: Iterable[str]) -> list[str]:
    """Re-cut jieba's tokens so that every number and every unit word is a token of its own.

    jieba glues a numeral to its unit (三组), a unit to the next word (2 + 组新宅) and splits
    spoken digits (五零 + 一); the patterns want 三 | 组, 组 | 新宅 and 五零一.
    """
    tokens: list[str] = []
    for token in jieba_tokens:
        match = _NUMERAL_UNIT_RE.fullmatch(token)
        if match:
            tokens.extend(match.groups())
            continue
        if tokens and _is_number(tokens[-1]):
            unit = next((word for word in _UNIT_WORDS if token.startswith(word)), None)
            if unit is not None and token != unit:
                tokens.extend((unit, token[len(unit) :]))
                continue
        tokens.append(token)
    merged: list[str] = []
    for token in tokens:
        if merged and _SPOKEN_NUMBER.fullmatch(merged[-1]) and _SPOKEN_DIGITS.fullmatch(token):
            merged[-1] += token
        else:
            merged.append(token)
    return merged


def build_pipeline(gazetteer: Gazetteer) -> Language:
    """A blank Chinese pipeline: jieba tokens plus an EntityRuler; nothing trained, nothing downloaded."""
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    tokenizer = cast(ChineseTokenizer, nlp.tokenizer)
    unit_words = ["号楼", "号院", "单元", "村民小组", "村民组"]
    tokenizer.jieba_seg = _AddressSegmenter(sorted(gazetteer.all_names()) + unit_words)
    ruler = cast(EntityRuler, nlp.add_pipe("entity_ruler", config={"overwrite_ents": True}))
    ruler.add_patterns(_patterns(gazetteer))
    return nlp


def _patterns(gazetteer: Gazetteer) -> list[dict[str, Any]]:
    known = sorted(gazetteer.all_names())
    number: dict[str, Any] = {"TEXT": {"REGEX": _NUMBER_RE}}
    optional_number: dict[str, Any] = {"TEXT": {"REGEX": _NUMBER_RE}, "OP": "?"}
    optional_hao: dict[str, Any] = {"TEXT": "号", "OP": "?"}
    name_part: dict[str, Any] = {"TEXT": {"REGEX": f"^[{_HAN}]{{2,6}}$", "NOT_IN": known + _NOT_A_NAME}}

    patterns: list[dict[str, Any]] = []

    def add(label: str, pattern: str | list[dict[str, Any]], ident: str | None = None) -> None:
        entry: dict[str, Any] = {"label": label, "pattern": pattern}
        if ident is not None:
            entry["id"] = ident
        patterns.append(entry)

    # Gazetteer names: phrase patterns, the id is the canonical name.
    for name in gazetteer.county_aliases:
        add(COUNTY, name, gazetteer.county)
    for name in gazetteer.neutral_places:
        add(NEUTRAL, name, name)
    for written, town in gazetteer.town_by_name.items():
        add(TOWN, written, town.name)
    for written, village in gazetteer.village_by_name.items():
        add(VILLAGE, written, village)
    for road in gazetteer.towns_by_road:
        add(ROAD, [{"TEXT": road}, optional_number, optional_hao], road)
    for compound in gazetteer.towns_by_compound:
        add(COMPOUND, compound, compound)

    # Names not (yet) in the gazetteer: the register is incomplete, the words around them are not.
    add(VILLAGE, [{"TEXT": {"REGEX": f"^[{_HAN}]{{1,5}}村$", "NOT_IN": known + _NOT_A_VILLAGE}}])
    add(VILLAGE, [name_part, {"TEXT": "村"}])
    road_re = f"^[{_HAN}]{{2,6}}(?:路|大道|大街)$"
    add(ROAD, [{"TEXT": {"REGEX": road_re, "NOT_IN": known + _NOT_A_NAME}}, optional_number, optional_hao])
    add(ROAD, [name_part, {"TEXT": {"IN": _ROAD_SUFFIXES}}, optional_number, optional_hao])
    compound_re = f"^[{_HAN}]{{2,8}}(?:{'|'.join(_COMPOUND_SUFFIXES)}|苑)$"
    add(COMPOUND, [{"TEXT": {"REGEX": compound_re, "NOT_IN": known}}])
    add(COMPOUND, [name_part, {"TEXT": {"IN": _COMPOUND_SUFFIXES}}])
    add(OUTSIDE, [{"TEXT": {"REGEX": _OUTSIDE_RE, "NOT_IN": known}}])
    add(OUTSIDE, [name_part, {"TEXT": {"IN": ["省", "市", "县", "区", "镇", "乡"]}}])

    # Numbered parts.
    add(GROUP, [number, {"TEXT": {"IN": _GROUP_WORDS}}])
    add(HOUSE_NO, [number, {"TEXT": {"IN": ["号", "号院"]}}])
    add(BUILDING, [number, {"TEXT": {"IN": _BUILDING_WORDS}}])
    add(BUILDING, [number, {"TEXT": "号"}, {"TEXT": "楼"}])
    add(UNIT, [number, {"TEXT": "单元"}, optional_number, {"TEXT": {"IN": _ROOM_WORDS}, "OP": "?"}])
    add(ROOM, [number, {"TEXT": "室"}])
    dash: dict[str, Any] = {"TEXT": {"IN": _DASHES}}
    add(BUILDING_UNIT_ROOM, [number, dash, number, dash, number])
    for feature in gazetteer.remote_features:
        add(FACILITY, [number, optional_hao, {"TEXT": feature}])
        add(FACILITY, [{"TEXT": feature}])
    add(FACILITY, [number, {"TEXT": "号"}, {"TEXT": "井"}])
    return patterns


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class AddressSpan:
    """One recognised part: offsets are into ParsedAddress.text (the normalised input)."""

    label: str
    text: str
    start: int
    end: int
    value: str  # canonical: 七里营镇 for 七里营, "3" for 三组


@dataclass(frozen=True)
class ParsedAddress:
    raw: str
    text: str  # raw after NFKC and with whitespace removed
    town: str | None = None  # canonical, only towns of the service area
    village: str | None = None  # canonical if in the gazetteer, else as written (张家村)
    group: int | None = None
    house_no: str | None = None
    road: str | None = None
    compound: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    facility: str | None = None  # 3号机井
    area_type: AreaType | None = None
    village_known: bool = False  # the village is in the gazetteer under `town`
    town_candidates: tuple[str, ...] = ()  # several towns fit and none was named (东街村)
    outside_place: str | None = None  # 郑州市: the customer named a place outside the county
    # A rule-based certainty grade, not a probability: 1.0 town named and village known,
    # 0.9 town named, 0.7 town inferred from a village/road/compound, 0.4 ambiguous, 0.2 only
    # numbers, 0.0 nothing of ours. Actions ask back below 0.7.
    confidence: float = 0.0
    spans: tuple[AddressSpan, ...] = ()

    @property
    def in_service_area(self) -> bool:
        return self.town is not None


# --------------------------------------------------------------------------- parsing


def normalise_address_text(text: str) -> str:
    # Full-width digits (１２号) become ASCII; spaces carry no meaning in a Chinese address and
    # would break token patterns (3 组).
    return "".join(unicodedata.normalize("NFKC", text).split())


# Index = value; 幺 is 1 and 两 is 2 on the phone.
_NUMERAL_VALUES = {
    ch: value
    for value, chars in enumerate(["零〇", "一幺", "二两", "三", "四", "五", "六", "七", "八", "九"])
    for ch in chars
}


def chinese_number(text: str) -> int | None:
    """12, 十二, 二十三, 一百零五, 第三 -> int; digit by digit without 十/百 (五零一 -> 501)."""
    text = text.removeprefix("第")
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    if not text or any(ch not in _NUMERAL_VALUES and ch not in "十百" for ch in text):
        return None
    if "十" not in text and "百" not in text:
        return int("".join(str(_NUMERAL_VALUES[ch]) for ch in text))
    total = current = 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _NUMERAL_VALUES[ch]
    return total + current


def _number_text(token_text: str) -> str:
    value = chinese_number(token_text)
    return str(value) if value is not None else token_text


def _is_number(token_text: str) -> bool:
    return re.fullmatch(_NUMBER_RE, token_text) is not None


class AddressParser:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self.nlp = build_pipeline(gazetteer)

    def parse(self, text: str) -> ParsedAddress:
        normalised = normalise_address_text(text)
        doc = self.nlp(normalised)
        return _resolve(text, doc, self.gazetteer)


def _span_value(ent: Span) -> str:
    if ent.ent_id_:
        return ent.ent_id_
    if ent.label_ == ROAD:
        return "".join(token.text for token in ent if not _is_number(token.text) and token.text != "号")
    if ent.label_ in (GROUP, HOUSE_NO, BUILDING, ROOM):
        return _number_text(ent[0].text)
    if ent.label_ in (UNIT, BUILDING_UNIT_ROOM, FACILITY):
        return "".join(_number_text(token.text) if _is_number(token.text) else token.text for token in ent)
    return ent.text


def _resolve(raw: str, doc: Doc, gazetteer: Gazetteer) -> ParsedAddress:
    spans = tuple(
        AddressSpan(ent.label_, ent.text, ent.start_char, ent.end_char, _span_value(ent)) for ent in doc.ents
    )
    ents_by_label: dict[str, list[Span]] = {}
    for ent in doc.ents:
        ents_by_label.setdefault(ent.label_, []).append(ent)

    def first(label: str) -> Span | None:
        found = ents_by_label.get(label)
        return found[0] if found else None

    def first_value(label: str) -> str | None:
        ent = first(label)
        return _span_value(ent) if ent is not None else None

    outside_place = first_value(OUTSIDE)
    named_town = first_value(TOWN)
    village = first_value(VILLAGE)
    road = first_value(ROAD)
    compound = first_value(COMPOUND)

    # Towns each hint allows; a hint that fits several towns narrows, never decides alone.
    hints = [
        gazetteer.towns_by_village.get(village or "", ()),
        gazetteer.towns_by_road.get(road or "", ()),
        gazetteer.towns_by_compound.get(compound or "", ()),
    ]
    town = named_town
    town_candidates: tuple[str, ...] = ()
    if town is None and outside_place is None:
        possible: set[str] | None = None
        for allowed in hints:
            if allowed:
                possible = set(allowed) if possible is None else possible & set(allowed)
        if possible is not None and len(possible) == 1:
            town = possible.pop()
        elif possible:
            town_candidates = tuple(sorted(possible))

    village_known = town is not None and town in hints[0]

    def numbers_in(label: str) -> list[int]:
        ent = first(label)
        if ent is None:
            return []
        values = (chinese_number(token.text) for token in ent if _is_number(token.text))
        return [value for value in values if value is not None]

    def nth(values: list[int], index: int) -> str | None:
        return str(values[index]) if len(values) > index else None

    group_numbers = numbers_in(GROUP)
    group = group_numbers[0] if group_numbers else None
    house_no = nth(numbers_in(HOUSE_NO), 0) or nth(numbers_in(ROAD), 0)  # 工业路18号
    unit_room = numbers_in(UNIT)  # 2单元501
    building_unit_room = numbers_in(BUILDING_UNIT_ROOM)  # 3-2-501
    building = nth(numbers_in(BUILDING), 0) or nth(building_unit_room, 0)
    unit = nth(unit_room, 0) or nth(building_unit_room, 1)
    room = nth(unit_room, 1) or nth(numbers_in(ROOM), 0) or nth(building_unit_room, 2)
    facility = first_value(FACILITY)

    area_type: AreaType | None = None
    if town is not None:
        area_type = "remote" if facility else gazetteer.area_type_of(town, village if village_known else None)

    confidence = _confidence(
        town=town,
        town_named=named_town is not None,
        village=village,
        village_known=village_known,
        ambiguous=bool(town_candidates),
        outside=outside_place is not None,
        anything=bool(spans),
    )
    return ParsedAddress(
        raw=raw,
        text=doc.text,
        town=town,
        village=village,
        group=group,
        house_no=house_no,
        road=road,
        compound=compound,
        building=building,
        unit=unit,
        room=room,
        facility=facility,
        area_type=area_type,
        village_known=village_known,
        town_candidates=town_candidates,
        outside_place=outside_place,
        confidence=confidence,
        spans=spans,
    )


def _confidence(
    *,
    town: str | None,
    town_named: bool,
    village: str | None,
    village_known: bool,
    ambiguous: bool,
    outside: bool,
    anything: bool,
) -> float:
    if town is None:
        if outside:
            return 0.0
        if ambiguous:
            return 0.4
        return 0.2 if anything else 0.0
    score = 0.9 if town_named else 0.7
    if village is not None:
        score += 0.1 if village_known else -0.1
    if outside:
        score -= 0.3  # a town of ours next to a place elsewhere: ask back
    return round(min(max(score, 0.0), 1.0), 2)


# --------------------------------------------------------------------------- the process-wide parser

_parser: AddressParser | None = None
_parser_lock = threading.Lock()


def default_parser() -> AddressParser:
    """The parser over config/places.yml, built on first use (about a second) and then shared."""
    global _parser
    if _parser is None:
        with _parser_lock:
            if _parser is None:
                _parser = AddressParser(load_gazetteer(DEFAULT_PLACES_PATH))
    return _parser


def parse_address(text: str) -> ParsedAddress:
    return default_parser().parse(text)


# --------------------------------------------------------------------------- matching


def same_place(a: ParsedAddress, b: ParsedAddress) -> bool:
    """Both name the same place as far as both go: same town, and no part that both give differs.

    七里营 and 七里营镇七里营村3组 are the same place; 七里营村3组 and 七里营村4组 are not.
    """
    if a.town is None or a.town != b.town:
        return False
    pairs: list[tuple[object, object]] = [
        (a.village, b.village),
        (a.group, b.group),
        (a.road, b.road),
        (a.compound, b.compound),
    ]
    return all(left is None or right is None or left == right for left, right in pairs)


def covers(
    area_town: str, villages: Sequence[str], addr: ParsedAddress, gazetteer: Gazetteer | None = None
) -> bool:
    """Whether an outage area (a town and, optionally, its villages) certainly includes `addr`.

    An empty village list means the whole town. A `<road>沿线` entry covers addresses on that road.
    An address that names only the town is not certainly covered by an area of some villages:
    check `same_place(parse_address(area_town), addr)` to tell such a customer about it.
    """
    places = gazetteer or default_parser().gazetteer
    town = places.canonical_town(area_town)
    if town is None or addr.town != town:
        return False
    if not villages:
        return True
    for entry in villages:
        entry = _clean(entry)
        if entry.endswith("沿线"):
            if addr.road is not None and addr.road == entry.removesuffix("沿线"):
                return True
        elif addr.village is not None and addr.village == (places.canonical_village(entry) or entry):
            return True
    return False


def _clean(name: str) -> str:
    return normalise_address_text(name)
