"""Find the account holder's name where the customer introduces it (俺叫韩小军, 户主是马振华).

Names are an open class: DIET learns the contexts but often cuts an unseen name short
("户主是马振华" -> "马") or misses it. When a customer *says* whose name it is, the phrase
itself tells us, so this component reads names after an introducing phrase, checks that
they start with a Chinese surname, and lets them win over DIET's partial guesses.

It also drops what cannot be the account holder's name: one Han character alone, and
staff addressed by title (王师傅, 李经理), which shared/spec/intents.md says are not
marked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

ENTITY = "person_name"

# The most common Chinese surnames (about 99% of the population), then compound ones.
SINGLE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左"
    "柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶"
    "解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬"
    "边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "令狐", "慕容", "夏侯", "端木",
)  # fmt: skip

# Phrases after which the holder's name follows. Kinship words in between are skipped
# ("户主是俺爹王建国"). A STRONG phrase says outright that a name follows; after a LOOSE
# one ("我是", "俺是") a place or a role may follow instead ("我是七里营的", "我是房东"), so
# the candidate must also not be an ordinary dictionary word.
_KIN = (
    r"(?:那个|就是|这个|嗯|呃|啊|\s)*"  # hotline fillers: 户主是呃那个王建国
    r"(?:我|俺|咱)?"
    r"(?:爷爷|奶奶|父亲|母亲|老公|对象|媳妇|老伴|儿子|闺女|女儿|爸|妈|爹|娘|爷|奶|哥|姐|弟|妹)?"
)
_STRONG = re.compile(
    r"(?:我叫|俺叫|我的名字叫|我的名字是|俺的名字叫|俺的名字是|俺名字叫|名字叫|名字是|姓名是|姓名叫|姓名[:：]?"
    r"|名字[:：]|户主是|户主叫|户主名字是|户主姓名是|户主名叫|户主[:：]|户名是|户名叫|户名[:：]?"
    r"|开户人是|开户人叫|登记的名字是|登记人是|名下是|户主)" + _KIN + r"[\s:：,，]*"
)
_LOOSE = re.compile(r"(?:我是|俺是|本人是|本人|用的是|写的是|写的|登记的是|名字|叫)" + _KIN + r"[\s:：,，]*")
# Characters that end a name when they follow it: particles, verbs and nouns that start
# the next part of the message, never a given-name character in practice.
_STOP = frozenset(
    "的家户住在电我俺是要想查手号了啊呀吧呢哩嘞哈他她们给帮和跟这那从咋啥请麻你恁交报没不有就呗嘛哦"
)
# A candidate whose next character (or whose last character) is one of these is a place
# (马庄村, 于庄的, 温县的), not a person.
_PLACE_SUFFIXES = "村镇乡县庄营寨屯街路组集岗坡铺湾桥店区市省园"
_STAFF_TITLES = ("师傅", "经理", "主任", "所长", "站长", "书记", "村长", "大夫", "老师", "同志", "电工")
_HAN = re.compile(r"[\u4e00-\u9fff]")


PLACES_PATH = Path(__file__).resolve().parents[1] / "jieba_dict" / "places.txt"


def _surname_length(text: str) -> int:
    if text.startswith(COMPOUND_SURNAMES):
        return 2
    return 1 if text[:1] in SINGLE_SURNAMES else 0


@lru_cache(maxsize=1)
def known_places() -> tuple[str, ...]:
    """Place names of the service area (the jieba user dictionary), longest first."""
    with PLACES_PATH.open(encoding="utf-8") as handle:
        names = {line.split()[0] for line in handle if line.strip() and not line.startswith("#")}
    return tuple(sorted(names, key=len, reverse=True))


@lru_cache(maxsize=1)
def _word_tags() -> dict[str, str]:
    """jieba's dictionary with part-of-speech tags (read once by jieba.posseg, about half a second)."""
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab


def is_ordinary_word(candidate: str) -> bool:
    """True when the candidate or its first two characters are a dictionary word that is
    not a person name (房东, 管理员, 高压); jieba tags person names nr, nrfg, nrt."""
    tags = _word_tags()
    for part in {candidate, candidate[:2]}:
        tag = tags.get(part)
        if tag is not None and not tag.startswith("nr"):
            return True
    return False


def name_at(text: str, start: int, loose: bool = False) -> str | None:
    """The name (surname + one or two given-name characters) starting at `start`, if any."""
    rest = text[start:]
    surname = _surname_length(rest)
    if not surname or rest.startswith(known_places()):
        return None
    given = ""
    for char in rest[surname:]:
        if len(given) == 2 or not _HAN.match(char) or char in _STOP:
            break
        given += char
    if not given:
        return None
    name = rest[: surname + len(given)]
    following = rest[len(name) :]
    if is_staff(name, rest, len(name)):
        return None
    if name[-1] in _PLACE_SUFFIXES or (following and following[0] in _PLACE_SUFFIXES):
        return None
    if loose and is_ordinary_word(name):
        return None
    return name


def introduced_names(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) for every name the text introduces with a phrase."""
    found: dict[int, tuple[int, int, str]] = {}
    for pattern, loose in ((_STRONG, False), (_LOOSE, True)):
        for match in pattern.finditer(text):
            name = name_at(text, match.end(), loose=loose)
            if name and match.end() not in found:
                found[match.end()] = (match.end(), match.end() + len(name), name)
    return [found[key] for key in sorted(found)]


def is_staff(value: str, text: str, end: int | None) -> bool:
    if value.endswith(_STAFF_TITLES):
        return True
    return end is not None and text[end:].startswith(_STAFF_TITLES)


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def resolve_names(text: str, entities: Iterable[dict[str, Any]], extractor: str) -> list[dict[str, Any]]:
    """Entities with person_name fixed: an introduced name claims its span from every
    overlapping guess (a cut-short name, or DIET calling the name a fault_type)."""
    introduced = introduced_names(text)
    spans = [(s, e) for s, e, _ in introduced]
    kept: list[dict[str, Any]] = []
    for entity in entities:
        value = str(entity.get(ENTITY_ATTRIBUTE_VALUE) or "")
        start, end = entity.get(ENTITY_ATTRIBUTE_START), entity.get(ENTITY_ATTRIBUTE_END)
        if start is not None and end is not None and any(_overlaps(start, end, s, e) for s, e in spans):
            continue
        if entity.get(ENTITY_ATTRIBUTE_TYPE) == ENTITY and (len(value) < 2 or is_staff(value, text, end)):
            continue
        kept.append(entity)
    for start, end, name in introduced:
        kept.append(
            {
                ENTITY_ATTRIBUTE_TYPE: ENTITY,
                ENTITY_ATTRIBUTE_START: start,
                ENTITY_ATTRIBUTE_END: end,
                ENTITY_ATTRIBUTE_VALUE: name,
                EXTRACTOR: extractor,
            }
        )
    return kept


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class PersonNameExtractor(GraphComponent):
    """Pipeline step after DIETClassifier (bot/config.yml)."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PersonNameExtractor:
        # Read the place list and jieba's tagged dictionary when the model loads, not while
        # the first customer waits for an answer.
        known_places()
        _word_tags()
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = message.get(ENTITIES) or []
            resolved = resolve_names(text, entities, type(self).__name__)
            if resolved != entities:
                message.set(ENTITIES, resolved, add_to_output=True)
        return messages
