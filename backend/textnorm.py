"""The one text normaliser every channel (WeChat, web chat, IVR transcripts) applies before NLU.

`normalise(text)` runs, in this order:

1. `to_halfwidth`           full-width letters/digits/symbols/space -> ASCII (NFKC), Chinese
                            sentence punctuation (，。？！：；（）、“”《》…) kept as it is.
2. `strip_emoji`            emoji, WeChat ``[微笑]`` codes, zero-width and control characters.
3. `collapse_whitespace`    runs of whitespace -> one space, trimmed.
4. `collapse_punctuation`   "！！！" -> "！", "???" -> "?".
5. `collapse_fillers`       "嗯嗯嗯" -> "嗯", "那个那个" -> "那个" (fillers are collapsed, never deleted:
                            a lone 嗯 can be the user's "yes").
6. `chinese_numerals_to_digits`  digit-by-digit readings (幺三八…), and positional numbers
                            (四十五, 十二) only in front of a unit word (块/元/度/月/号/日/点/组/户…).
7. `join_digit_groups`      "138 0373 1234" -> "13803731234" (see its docstring for the rule).
8. `correct_asr_homophones` 点费 -> 电费, 条闸 -> 跳闸 … by toneless pinyin against
                            config/asr_lexicon.yml; if it changed anything, 6-8 run again (a fix
                            can complete a number context), at most three times.

Everything that shortens or reshapes the text (3-5) runs before the word rules (6-8), so that
those see the same text on every pass: that is what makes `normalise` idempotent.

`normalise_digits(text)` runs only steps 1, 6 and 7, for callers that only need numbers.
Both functions are idempotent and never raise on str input.

This module runs in both virtualenvs (Python 3.11 api/backend and Python 3.10 Rasa), so it imports
only the standard library, pypinyin, jieba and pyyaml.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

__all__ = [
    "LEXICON_PATH",
    "AsrLexicon",
    "ContextRule",
    "chinese_numerals_to_digits",
    "collapse_fillers",
    "collapse_punctuation",
    "collapse_whitespace",
    "correct_asr_homophones",
    "join_digit_groups",
    "load_lexicon",
    "normalise",
    "normalise_digits",
    "strip_emoji",
    "to_halfwidth",
]

LEXICON_PATH = Path(__file__).resolve().parent.parent / "config" / "asr_lexicon.yml"


# --------------------------------------------------------------------------------------------
# Rule 1: full-width -> half-width
# --------------------------------------------------------------------------------------------

# Chinese sentence punctuation stays Chinese: users and our replies read it, NLU training data
# uses it, and NFKC would turn "，" into "," and "。" is not a compatibility character anyway.
_CHINESE_PUNCTUATION = "，。？！：；（）、“”‘’《》【】「」…—"
_CHINESE_PUNCTUATION_SPLIT = re.compile("([" + re.escape(_CHINESE_PUNCTUATION) + "])")


def to_halfwidth(text: str) -> str:
    """NFKC everything except Chinese sentence punctuation (so "８：３０" is "8：30" here)."""
    parts = _CHINESE_PUNCTUATION_SPLIT.split(text)
    # split() with one capture group alternates text, separator, text, ...
    normalised = [
        part if index % 2 else unicodedata.normalize("NFKC", part) for index, part in enumerate(parts)
    ]
    return "".join(normalised)


# --------------------------------------------------------------------------------------------
# Rule 5 (part): emoji, invisible characters
# --------------------------------------------------------------------------------------------

_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, flags, skin tones, ...
    "\u2300-\u23ff"  # ⌚ ⏰ ⏳ …
    "\u2600-\u27bf"  # ☀ ☎ ✔ ❤ …
    "\u2b00-\u2bff"  # ⬆ ⭐ …
    "\u3030\u303d\u3297\u3299"
    "\ufe0e\ufe0f\u20e3\u200d"  # variation selectors, keycap, zero-width joiner
    "\U000e0000-\U000e007f"  # tag characters (subdivision flags)
    "]+"
)
# Zero-width and other format characters break number and word matching without being visible.
_INVISIBLE = re.compile("[\u200b\u200c\u200e\u200f\u2060-\u2064\ufeff\u00ad]")
# WeChat sends its built-in stickers as bracketed text; these carry no request.
_WECHAT_STICKERS = (
    "微笑", "撇嘴", "色", "发呆", "得意", "流泪", "害羞", "闭嘴", "睡", "大哭", "尴尬", "发怒", "调皮",
    "呲牙", "惊讶", "难过", "囧", "抓狂", "吐", "偷笑", "愉快", "白眼", "傲慢", "困", "惊恐", "憨笑",
    "悠闲", "咒骂", "疑问", "嘘", "晕", "衰", "骷髅", "敲打", "再见", "擦汗", "抠鼻", "鼓掌", "坏笑",
    "右哼哼", "左哼哼", "鄙视", "委屈", "快哭了", "阴险", "亲亲", "可怜", "笑脸", "生病", "脸红",
    "破涕为笑", "恐惧", "失望", "无语", "嘿哈", "捂脸", "奸笑", "机智", "皱眉", "耶", "吃瓜", "加油",
    "汗", "天啊", "社会社会", "旺柴", "好的", "打脸", "哇", "翻白眼", "666", "让我看看", "叹气",
    "苦涩", "裂开", "嘴唇", "爱心", "心碎", "拥抱", "强", "弱", "握手", "胜利", "抱拳", "勾引", "拳头",
    "OK", "合十", "啤酒", "咖啡", "蛋糕", "玫瑰", "凋谢", "菜刀", "炸弹", "便便", "月亮", "太阳",
    "庆祝", "礼物", "红包", "發", "福", "烟花", "爆竹", "猪头", "跳跳", "发抖", "转圈", "Emm",
)  # fmt: skip
_WECHAT_STICKER = re.compile(r"\[(?:" + "|".join(map(re.escape, _WECHAT_STICKERS)) + r")\]")


# C0/C1 control characters except tab and newlines (which are whitespace and collapse later).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strip_emoji(text: str) -> str:
    """Remove emoji, WeChat sticker codes, zero-width characters; controls become spaces."""
    text = _EMOJI.sub("", text)
    text = _WECHAT_STICKER.sub("", text)
    text = _INVISIBLE.sub("", text)
    return _CONTROL.sub(" ", text)


# --------------------------------------------------------------------------------------------
# Rule 5 (part): whitespace, punctuation, fillers
# --------------------------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")


def collapse_whitespace(text: str) -> str:
    """Every whitespace run becomes one ASCII space; leading/trailing whitespace is dropped."""
    return _WHITESPACE.sub(" ", text).strip()


_REPEATED_PUNCTUATION = re.compile(r"([!?.,;:~、。，！？；：…])\1+")


def collapse_punctuation(text: str) -> str:
    """A run of the same punctuation mark becomes one: "！！！" -> "！", "。。。。" -> "。"."""
    return _REPEATED_PUNCTUATION.sub(r"\1", text)


# Fillers from hotline speech and chat. 额 is left out: it is also the 额 of 余额/额度.
_FILLERS = ("就是说", "那个", "这个", "就是", "然后", "嗯", "呃", "啊", "哦", "唉", "诶")
_REPEATED_FILLER = re.compile("(" + "|".join(map(re.escape, _FILLERS)) + r")(?:[ ,，、]*\1)+")


def collapse_fillers(text: str) -> str:
    """Repeated fillers collapse to one ("嗯嗯嗯" -> "嗯", "那个，那个" -> "那个"); nothing else goes."""
    return _REPEATED_FILLER.sub(r"\1", text)


# --------------------------------------------------------------------------------------------
# Rule 3: Chinese numerals -> digits, only inside number-like spans
# --------------------------------------------------------------------------------------------

_DIGIT_VALUE = {
    "零": 0, "〇": 0, "○": 0, "洞": 0, "幺": 1, "一": 1, "二": 2, "两": 2, "三": 3,
    "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_ZEROS = "零〇○洞"
# Characters that only a read-out number uses: 幺 (phone-style 1) and the zeros.
_SPOKEN_DIGIT_MARKERS = frozenset("幺零〇○洞")
_MULTIPLIERS = {"十": 10, "百": 100, "千": 1000}

# Idioms, vague quantities and place names written with numerals; they are never numbers.
_NUMERAL_WORDS = (
    "三三两两", "七七八八", "七零八落", "七零八碎", "一五一十", "三七二十一", "九九八十一", "十有八九",
    "三天两头", "三天打鱼两天晒网", "十天半个月", "一天到晚", "七上八下", "乱七八糟", "五花八门",
    "一户一表", "一心一意", "一模一样", "十全十美", "四面八方", "千家万户", "千千万万", "万无一失",
    "七里营", "八里营", "五陵", "三里屯", "十里铺", "五保户", "二五八万",
)  # fmt: skip

_RUN_CHARS = "零〇○洞幺一二三四五六七八九两0-9"
# A digit run: digits (ASCII or Chinese) possibly chunked by single spaces or dashes.
_DIGIT_RUN = re.compile(f"[{_RUN_CHARS}]+(?:(?: ?[-‐‑] ?| )[{_RUN_CHARS}]+)*")
_CHUNK_SEPARATOR = re.compile(r"( ?[-‐‑] ?| )")
# After these, a short run of numerals is an ordinal or a weekday list: 第一二三档, 周一二三.
_ENUMERATION_PREFIXES = ("第", "周", "星期", "礼拜")
# After a run, these mark a counted enumeration like 一二三四组 or 三四五天, not a read-out number.
_COUNTED_BY = frozenset("组档个天月号楼栋户次年岁块元度家人点")

_POSITIONAL_SPAN = re.compile("[零〇一二三四五六七八九两十百千万]+")
# Units after which a positional number is a quantity, date or time; longest first.
_UNITS = ("千瓦时", "千伏安", "千瓦", "千伏", "块", "元", "毛", "角", "度", "月", "号", "日", "点",
          "组", "户", "瓦", "伏")  # fmt: skip
# 天 is deliberately no unit: durations (报修三天了, 这两天) are not number-like spans, and
# turning them into digits made the NLU read the digit as an account number.
_UNITS_ALLOWING_DUO = frozenset("块元度户")  # 二十多块 -> 20多块
# Characters that make a word with a preceding 一 (统一, 万一, 第一, 唯一 ...): that 一 is no number.
_FORMS_WORD_WITH_YI = frozenset("统唯万第同单之初划专归合整逐不独纯均这那哪每有")
_TIME_OF_DAY = ("上午", "下午", "中午", "晚上", "早上", "凌晨", "夜里", "半夜", "傍晚")
# 两块地, 三块砖: 块 as a measure word for things, not money.
_COUNTED_WITH_KUAI = frozenset("地田砖板石木布肉糖屏玻钢铁表")


def _numeral_word_mask(text: str) -> list[bool]:
    mask = [False] * len(text)
    for word in _numeral_words():
        start = text.find(word)
        while start != -1:
            for index in range(start, start + len(word)):
                mask[index] = True
            start = text.find(word, start + 1)
    return mask


def _numeral_words() -> tuple[str, ...]:
    # Domain place names from the lexicon can contain numerals too (七里营): protect them as well,
    # otherwise a homophone fix could create a new digit run on a second pass.
    lexicon_words = tuple(
        word
        for word in _default_lexicon_words()
        if any(char in _DIGIT_VALUE or char in "十百千万" for char in word)
    )
    return _NUMERAL_WORDS + lexicon_words


@lru_cache(maxsize=1)
def _default_lexicon_words() -> tuple[str, ...]:
    try:
        return tuple(load_lexicon().domain_words)
    except (OSError, yaml.YAMLError, ValueError):
        return ()


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def _ascending_by_one(digits: Sequence[int]) -> bool:
    return all(later - earlier == 1 for earlier, later in pairwise(digits))


def _convert_digit_run(text: str, start: int, end: int) -> str:
    """Decide whether one chunked run of numerals is a read-out number and convert it if so."""
    run = text[start:end]
    # A leading 洞 is the noun "hole" far more often than a spoken zero: it stays a word.
    holes = run[: len(run) - len(run.lstrip("洞 -‐‑"))]
    if holes:
        return holes + (_convert_digit_run(text, start + len(holes), end) if len(holes) < len(run) else "")
    chunks = _CHUNK_SEPARATOR.split(run)
    groups, separators = chunks[0::2], chunks[1::2]
    if any(char.isascii() and char.isdigit() for char in run):
        # Mixed like "3100零零零零01" or "尾号12三四": a Chinese part converts when it is clearly
        # digit speech (2+ numerals, or a 幺/零). A lone 一 after digits is prose: "100一个月".
        converted = []
        for group in groups:
            converted.append("".join(_convert_mixed_piece(piece) for piece in _split_ascii(group)))
        return _rejoin(converted, separators)
    # A few characters of context are enough for every rule (星期, 第, 十, 组 ...).
    return _convert_pure_run(run, text[max(0, start - 4) : start], text[end : end + 2])


def _convert_pure_run(run: str, before: str, after: str) -> str:
    chunks = _CHUNK_SEPARATOR.split(run)
    groups, separators = chunks[0::2], chunks[1::2]
    numerals = "".join(groups)
    if not numerals:
        return run
    spoken = any(char in _SPOKEN_DIGIT_MARKERS for char in numerals)
    # 两 is a digit only in phone-style speech (with 幺/零) or in long runs; otherwise 三三两两.
    if "两" in numerals and not spoken and len(numerals) < 5:
        return run
    if len(numerals) < 3:
        return run
    # Next to 十百千万 the numerals are positional (三七二十一, 二零二四万?): leave to that rule.
    if (before and before[-1] in "十百千万亿") or (after and after[0] in "十百千万亿"):
        return run
    values = [_DIGIT_VALUE[char] for char in numerals]
    if not spoken and len(values) <= 4 and _ascending_by_one(values):
        counted = bool(after) and after[0] in _COUNTED_BY
        if counted or before.endswith(_ENUMERATION_PREFIXES):
            return run
    converted = ["".join(str(_DIGIT_VALUE[char]) for char in group) for group in groups]
    return _rejoin(converted, separators)


def _split_ascii(group: str) -> list[str]:
    return re.findall(r"[0-9]+|[^0-9]+", group)


def _convert_mixed_piece(piece: str) -> str:
    if piece.isascii():
        return piece
    spoken = any(char in _SPOKEN_DIGIT_MARKERS for char in piece)
    digit_like = len(piece) >= 2 and set(piece) != {"两"}
    if spoken or digit_like:
        return "".join(str(_DIGIT_VALUE[char]) for char in piece)
    return piece


def _rejoin(groups: Sequence[str], separators: Sequence[str]) -> str:
    pieces = [groups[0]]
    for separator, group in zip(separators, groups[1:], strict=False):
        pieces.extend((separator, group))
    return "".join(pieces)


def _parse_below_10000(numeral: str) -> int | None:
    """Parse 四十五, 一百零五, 三百五 (=350), 十二; None for anything that is not one number."""
    total = 0
    pending: int | None = None
    last_multiplier: int | None = None
    zero_since_multiplier = False
    for index, char in enumerate(numeral):
        if char in _MULTIPLIERS:
            multiplier = _MULTIPLIERS[char]
            if last_multiplier is not None and multiplier >= last_multiplier:
                return None
            if pending is None:
                if char == "十" and index == 0:
                    pending = 1
                else:
                    return None
            total += pending * multiplier
            pending, last_multiplier, zero_since_multiplier = None, multiplier, False
        elif char in _ZEROS:
            if last_multiplier is None or pending is not None or zero_since_multiplier:
                return None
            zero_since_multiplier = True
        elif char in _DIGIT_VALUE and char != "幺":
            if pending is not None:
                return None  # two digits in a row: 四五 (a vague range), not a number
            pending = _DIGIT_VALUE[char]
        else:
            return None
    if pending is None:
        return None if zero_since_multiplier or last_multiplier is None else total
    if last_multiplier is None or zero_since_multiplier or last_multiplier == 10:
        return total + pending
    # 三百五 = 350, 一千二 = 1200: the trailing digit counts in the next lower place.
    return total + pending * (last_multiplier // 10)


def _parse_positional(numeral: str) -> int | None:
    if "万" not in numeral:
        return _parse_below_10000(numeral)
    high, _, low = numeral.partition("万")
    if not high or "万" in low:
        return None
    high_value = _parse_below_10000(high)
    if not high_value:
        return None
    if not low:
        return high_value * 10000
    if len(low) == 1 and low in _DIGIT_VALUE and low not in _ZEROS:
        return high_value * 10000 + _DIGIT_VALUE[low] * 1000  # 两万五 = 25000
    if low[0] in _ZEROS:
        low_value = _parse_below_10000(low[1:]) if len(low) > 1 else None
        return None if low_value is None or low_value >= 1000 else high_value * 10000 + low_value
    low_value = _parse_below_10000(low)
    return None if low_value is None or low_value < 1000 else high_value * 10000 + low_value


def _unit_after(text: str, position: int) -> str | None:
    for unit in _UNITS:
        if text.startswith(unit, position):
            return unit
    return None


def _yi_is_a_number(text: str, start: int, unit: str, after_unit: int) -> bool:
    """Whether a lone 一 in front of `unit` is the number 1 (一号, 下午一点) or a word (一点, 一块儿)."""
    previous = text[start - 1] if start else ""
    if previous in _FORMS_WORD_WITH_YI:
        return False
    if unit in ("号", "日"):
        return not previous or not _is_han(previous) or previous in "月份是到至从在于"
    if unit == "月":
        return True
    if unit == "点":
        return text[:start].endswith(_TIME_OF_DAY)
    if unit == "块":
        following = text[after_unit : after_unit + 1]
        return following == "钱" or (following != "" and following in _DIGIT_VALUE)
    if unit == "元":
        return True
    if unit == "组":
        return previous == "村"
    return False


_DECIMAL_TAIL = re.compile("点([零〇一二三四五六七八九两]{1,2})")
_DECIMAL_UNITS = ("千瓦时", "千瓦", "千伏", "块", "元", "度", "伏", "瓦")


# Digits right before a positional number (幺十户, 3十号), or before it across a space or dash
# (三-五天, 幺 二伏): converting would fuse the two, or turn a range into half digits.
_GARBLED_DIGITS_BEFORE = re.compile(
    r"(?:[0-9幺洞○]|[0-9零〇○洞幺一二三四五六七八九两十百千万](?: ?[-‐‑] ?| ))$"
)


def _convert_positional_numbers(text: str, protected: Sequence[bool]) -> str:
    pieces: list[str] = []
    cursor = 0
    for match in _POSITIONAL_SPAN.finditer(text):
        start, end = match.span()
        if start < cursor or any(protected[start:end]):
            continue  # already consumed as a decimal's fraction, or part of an idiom
        if _GARBLED_DIGITS_BEFORE.search(text, max(0, start - 3), start):
            continue
        numeral = match.group()
        # 五千瓦 is 5 kW, not 5000 W: a trailing 千 belongs to the unit.
        if numeral.endswith("千") and text.startswith(("瓦", "伏"), end) and len(numeral) > 1:
            numeral, end = numeral[:-1], end - 1
        replacement = _positional_replacement(text, start, end, numeral)
        if replacement is None:
            continue
        new_text, consumed_end = replacement
        pieces.append(text[cursor:start])
        pieces.append(new_text)
        cursor = consumed_end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _positional_replacement(text: str, start: int, end: int, numeral: str) -> tuple[str, int] | None:
    value = _parse_positional(numeral)
    if value is None:
        return None
    # 四十五点二度 / 一点五度: a decimal in front of a unit that takes decimals.
    decimal = _DECIMAL_TAIL.match(text, end)
    if decimal:
        unit = _unit_after(text, decimal.end())
        if unit in _DECIMAL_UNITS:
            fraction = "".join(str(_DIGIT_VALUE[char]) for char in decimal.group(1))
            return f"{value}.{fraction}", decimal.end()
    unit_start = end
    if text.startswith("多", end):
        unit_start = end + 1
    unit = _unit_after(text, unit_start)
    if unit is None or (unit_start != end and unit not in _UNITS_ALLOWING_DUO):
        return None
    after_unit = unit_start + len(unit)
    if numeral == "一" and (unit_start != end or not _yi_is_a_number(text, start, unit, after_unit)):
        return None
    if numeral == "两" and unit in ("月", "号", "日"):
        return None  # 两月 is "two months", never February
    if unit == "块" and text[after_unit : after_unit + 1] in _COUNTED_WITH_KUAI:
        return None
    return str(value), end


# 45块2 / 两块五毛 / 45元2角: a single digit after 块/元 is jiao. Canonical form: "45.2块".
_MONEY_WITH_JIAO = re.compile(
    "([0-9]+)(块|元)([0-9一二三四五六七八九两])(毛|角)?(?![0-9.零〇一二三四五六七八九两十百千万分])"
)
_NOT_AFTER_AMBIGUOUS_JIAO = frozenset("个天月号日点度年次组户块元箱瓶袋斤条只遍回趟位")


def _fold_jiao(text: str) -> str:
    protected: list[bool] = []

    def replace(match: re.Match[str]) -> str:
        jiao_char, jiao_unit = match.group(3), match.group(4)
        if not protected:
            protected.extend(_numeral_word_mask(text))
        if protected[match.start(3)]:
            return match.group()  # 50块七里营: the 七 belongs to a place name
        following = match.string[match.end() : match.end() + 1]
        if not jiao_unit:
            if following in _NOT_AFTER_AMBIGUOUS_JIAO and following:
                return match.group()
            # 一/两 right before more Chinese is usually "一个/两天…", not jiao.
            if jiao_char in "一两" and following and _is_han(following) and following != "钱":
                return match.group()
        jiao = jiao_char if jiao_char.isdigit() else str(_DIGIT_VALUE[jiao_char])
        return f"{match.group(1)}.{jiao}{match.group(2)}"

    return _MONEY_WITH_JIAO.sub(replace, text)


def chinese_numerals_to_digits(text: str) -> str:
    """Numerals inside number-like spans become ASCII digits; numerals in words stay.

    * Digit-by-digit readings of three or more numerals (幺三八零三七三…, 三一零零零零零零零一,
      二零二四年) become digits; a run chunked by spaces or dashes counts as one run. Mixed runs
      ("尾号12三四") convert their Chinese part when it is clearly spoken digits.
    * Positional numbers (四十五, 一百二十, 十二) become digits only in front of a unit word, and a
      single 一 only where it cannot be a word (十月一号, 下午一点, 一块五, 一月份 — but 一点,
      一块儿, 一户一表, 一天 stay). Vague quantities (四五天, 两三个) stay.
    * Money: "四十五块二" -> "45.2块", "两块五毛" -> "2.5块".
    * Idioms and place names with numerals (三天两头, 七里营) are never touched.
    """
    if not any(char in _DIGIT_VALUE or char in "十百千万" for char in text):
        return _fold_jiao(text) if ("块" in text or "元" in text) else text
    protected = _numeral_word_mask(text)
    pieces: list[str] = []
    cursor = 0
    for match in _DIGIT_RUN.finditer(text):
        start, end = match.span()
        if all(char.isascii() for char in match.group()):
            continue
        # Split the run around protected words so that 幺幺七里营 keeps 七里营.
        for sub_start, sub_end in _unprotected_stretches(start, end, protected):
            pieces.append(text[cursor:sub_start])
            pieces.append(_convert_digit_run_trimmed(text, sub_start, sub_end))
            cursor = sub_end
    pieces.append(text[cursor:])
    text = "".join(pieces)
    # Lengths are unchanged by the digit-run step (one character per numeral), so the mask holds.
    text = _convert_positional_numbers(text, _numeral_word_mask(text))
    return _fold_jiao(text)


def _unprotected_stretches(start: int, end: int, protected: Sequence[bool]) -> Iterable[tuple[int, int]]:
    stretch_start: int | None = None
    for index in range(start, end):
        if protected[index]:
            if stretch_start is not None:
                yield stretch_start, index
                stretch_start = None
        elif stretch_start is None:
            stretch_start = index
    if stretch_start is not None:
        yield stretch_start, end


def _convert_digit_run_trimmed(text: str, start: int, end: int) -> str:
    # A stretch cut out of a run may begin or end with a separator; keep those as they are.
    run = text[start:end]
    stripped = run.strip(" -‐‑")
    if not stripped:
        return run
    lead = len(run) - len(run.lstrip(" -‐‑"))
    inner_start, inner_end = start + lead, start + lead + len(stripped)
    return text[start:inner_start] + _convert_digit_run(text, inner_start, inner_end) + text[inner_end:end]


# --------------------------------------------------------------------------------------------
# Rule 2: spaces and dashes inside numbers
# --------------------------------------------------------------------------------------------

_DIGIT_GROUPS = re.compile(r"(?<![0-9.])[0-9]+(?:(?: *[-‐‑] *| +)[0-9]+)+(?![0-9]|\.[0-9])")
_GROUP_SEPARATOR = re.compile(r"( *[-‐‑] *| +)")
# A full-width colon between digits is a clock time ("8：30"), which should read like "8:30".
# Done here, after the numerals rule, because "八：三十" only becomes digits there.
_COLON_IN_TIME = re.compile(r"(?<=[0-9])：(?=[0-9])")
_KNOWN_NUMBER_LENGTHS = (10, 11, 13)  # legacy account no., mobile phone, current account no.
_LAST_FOUR_CUES = ("尾号", "后四位", "后4位", "末四位", "末4位", "后几位", "尾数")


def _looks_like_year(group: str) -> bool:
    return len(group) == 4 and group.startswith(("19", "20"))


def _should_join(groups: Sequence[str], separators: Sequence[str], before: str) -> bool:
    joined = "".join(groups)
    dashed = any("-" in s or "‐" in s or "‑" in s for s in separators)
    if dashed and _looks_like_year(groups[0]) and all(len(g) <= 2 for g in groups[1:]):
        return False  # 2024-10-01 is a date
    if dashed and len(groups) == 2 and all(_looks_like_year(g) for g in groups):
        return False  # 2023-2024 is a range of years
    if len(joined) in _KNOWN_NUMBER_LENGTHS:
        return True
    if len(joined) >= 7 and all(len(g) <= 4 for g in groups):
        return True
    return len(joined) == 4 and not dashed and before[-8:].rstrip().endswith(_LAST_FOUR_CUES)


def join_digit_groups(text: str) -> str:
    """Glue digit groups separated only by spaces or dashes when they are one chunked number.

    Also turns a full-width colon between digits into ":" ("8：30" -> "8:30").

    Glued: any chunking of a 10-, 11- or 13-digit number ("3100 0000 01", "138-0373-1234",
    "410 3100000001"), any run of short chunks of at least 7 digits ("1 3 8 0 3 7 3 …"), and a
    chunked last-four after 尾号/后四位 ("尾号12 34").
    Kept apart, because they are two facts: "3100000001 1234" (14 digits, the first group is
    not a chunk), "户号3100000001 尾号1234" (a word in between), dates "2024-10-01", ranges
    "3-5", "2023-2024", and a "+86" country code.
    """

    def replace(match: re.Match[str]) -> str:
        chunks = _GROUP_SEPARATOR.split(match.group())
        groups, separators = chunks[0::2], chunks[1::2]
        before = match.string[max(0, match.start() - 10) : match.start()]
        if before.endswith("+") and len(groups) > 1:
            # Keep the country code apart, join the national number behind it.
            rest_groups, rest_separators = groups[1:], separators[1:]
            joined_rest = (
                "".join(rest_groups)
                if len(rest_groups) > 1 and _should_join(rest_groups, rest_separators, before)
                else _rejoin(rest_groups, rest_separators)
            )
            return groups[0] + separators[0] + joined_rest
        if _should_join(groups, separators, before):
            return "".join(groups)
        return match.group()

    return _DIGIT_GROUPS.sub(replace, _COLON_IN_TIME.sub(":", text))


# --------------------------------------------------------------------------------------------
# Rule 4: ASR homophones of domain words
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextRule:
    """A valid word (`heard`) that means the domain word `means` only in the right context."""

    heard: str
    means: str
    near_any: tuple[str, ...] = ()
    within: int = 6
    followed_by_any: tuple[str, ...] = ()
    not_followed_by: tuple[str, ...] = ()
    not_preceded_by: tuple[str, ...] = ()

    def applies(self, text: str, start: int) -> bool:
        end = start + len(self.heard)
        reach = self.within + 16  # enough for the window and the longest cue
        after, before = text[end : end + reach], text[max(0, start - reach) : start]
        if self.not_followed_by and after.startswith(self.not_followed_by):
            return False
        if self.not_preceded_by and before.endswith(self.not_preceded_by):
            return False
        if self.followed_by_any and not after.startswith(self.followed_by_any):
            return False
        if self.near_any:
            neighbourhood = before[-self.within :] + " " + after[: self.within]
            return any(cue in neighbourhood for cue in self.near_any)
        return True


@dataclass(frozen=True)
class AsrLexicon:
    """Domain words, protected words and context rules, with a toneless-pinyin index."""

    domain_words: tuple[str, ...]
    protected_words: frozenset[str]
    context_rules: Mapping[str, ContextRule]
    by_pinyin: Mapping[tuple[str, ...], str] = field(repr=False)
    window_lengths: tuple[int, ...]
    # first character -> lengths of the exact (domain, protected, context) words starting with it
    exact_lengths_by_first: Mapping[str, tuple[int, ...]]
    first_syllables: frozenset[str]
    syllables: frozenset[str]
    # Characters that can be part of a misheard window; everything else is skipped cheaply.
    candidate_chars: frozenset[str]

    @classmethod
    def build(
        cls,
        domain_words: Iterable[str],
        protected_words: Iterable[str] = (),
        context_rules: Iterable[ContextRule] = (),
    ) -> AsrLexicon:
        words = tuple(dict.fromkeys(w for w in domain_words if w and all(_is_han(c) for c in w)))
        protected_words = frozenset(protected_words)
        rules = {rule.heard: rule for rule in context_rules}
        by_pinyin: dict[tuple[str, ...], str] = {}
        for word in words:
            # Index both the per-character default reading (what the text side computes) and
            # the phrase reading, so heteronyms such as 翟 (di/zhai) still match.
            for key in (_char_pinyin_key(word), tuple(lazy_pinyin(word, style=Style.NORMAL))):
                by_pinyin.setdefault(key, word)  # first listed wins: 缴费 over 交费
        protected = frozenset(protected_words) | frozenset(rules)
        syllables = frozenset(s for key in by_pinyin for s in key)
        exact = frozenset(words) | protected
        return cls(
            domain_words=words,
            protected_words=protected_words,
            context_rules=rules,
            by_pinyin=by_pinyin,
            window_lengths=tuple(sorted({len(key) for key in by_pinyin}, reverse=True)),
            exact_lengths_by_first={
                first: tuple(sorted({len(w) for w in exact if w[0] == first}, reverse=True))
                for first in {w[0] for w in exact if w}
            },
            first_syllables=frozenset(key[0] for key in by_pinyin if key),
            syllables=syllables,
            candidate_chars=_chars_read_as(syllables) | frozenset("".join(by_pinyin.values())),
        )

    def is_exact(self, word: str) -> bool:
        return word in self.domain_words or word in self.protected_words


def load_lexicon(path: Path | str | None = None) -> AsrLexicon:
    """Read config/asr_lexicon.yml (or `path`) into an AsrLexicon; the default one is cached."""
    if path is None:
        return _default_lexicon()
    return _read_lexicon(Path(path))


@lru_cache(maxsize=1)
def _default_lexicon() -> AsrLexicon:
    return _read_lexicon(LEXICON_PATH)


def _read_lexicon(path: Path) -> AsrLexicon:
    with path.open(encoding="utf-8") as handle:
        data: Any = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    rules = [
        ContextRule(
            heard=str(raw["heard"]),
            means=str(raw["means"]),
            near_any=tuple(map(str, raw.get("near_any", ()))),
            within=int(raw.get("within", 6)),
            followed_by_any=tuple(map(str, raw.get("followed_by_any", ()))),
            not_followed_by=tuple(map(str, raw.get("not_followed_by", ()))),
            not_preceded_by=tuple(map(str, raw.get("not_preceded_by", ()))),
        )
        for raw in data.get("context_rules") or ()
    ]
    return AsrLexicon.build(
        domain_words=map(str, data.get("domain_words") or ()),
        protected_words=map(str, data.get("protected_words") or ()),
        context_rules=rules,
    )


@lru_cache(maxsize=65536)
def _pinyin_of_char(char: str) -> str:
    return lazy_pinyin(char, style=Style.NORMAL)[0]


def _char_pinyin_key(word: str) -> tuple[str, ...]:
    return tuple(_pinyin_of_char(char) for char in word)


def _chars_read_as(syllables: frozenset[str]) -> frozenset[str]:
    """Han characters with at least one toneless reading among `syllables` (pypinyin's table)."""
    toneless = lru_cache(maxsize=None)(to_normal)
    return frozenset(
        chr(codepoint)
        for codepoint, readings in pinyin_dict.items()
        if _is_han(chr(codepoint)) and any(toneless(reading) in syllables for reading in readings.split(","))
    )


class _Segmenter:
    """A private jieba tokenizer: its dictionary tells valid words and word boundaries.

    Private so that the bot's jieba (with its own user dictionary) is not changed by us; loaded
    lazily because only texts with a correction candidate need it.
    """

    def __init__(self) -> None:
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    import jieba

                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    self._tokenizer = tokenizer
        return self._tokenizer

    def is_word(self, text: str) -> bool:
        return bool(self._get().FREQ.get(text))

    def boundaries(self, text: str) -> frozenset[int]:
        return self._cached_boundaries(text)

    @lru_cache(maxsize=4096)  # noqa: B019 - one module-level instance, lives as long as the process
    def _cached_boundaries(self, text: str) -> frozenset[int]:
        # jieba's own dictionary-only segmentation (its cut(HMM=False) minus the tokenising of
        # Latin runs, which never touches a Han window): best route through the word DAG.
        tokenizer = self._get()
        route: dict[int, tuple[float, int]] = {}
        tokenizer.calc(text, tokenizer.get_DAG(text), route)
        offsets = {0}
        position = 0
        while position < len(text):
            position = route[position][1] + 1
            offsets.add(position)
        return frozenset(offsets)


_SEGMENTER = _Segmenter()
_BOUNDARY_CONTEXT = 6


def _splits_a_word(text: str, start: int, end: int) -> bool:
    left = max(0, start - _BOUNDARY_CONTEXT)
    right = min(len(text), end + _BOUNDARY_CONTEXT)
    boundaries = _SEGMENTER.boundaries(text[left:right])
    return (start - left) not in boundaries or (end - left) not in boundaries


def correct_asr_homophones(text: str, lexicon: AsrLexicon | None = None) -> str:
    """Rewrite misheard domain words (点费 -> 电费, 条闸 -> 跳闸, 户好 -> 户号) by toneless pinyin.

    A window is rewritten only if its pinyin equals a domain word's, it is not already a domain
    or protected word, it is not an ordinary dictionary word, and it does not cut a word of its
    neighbourhood in two (一点费用 keeps 点费). Valid words such as 包装/保修 change only through
    their context rule. Repeated until nothing changes, so that the result is stable.
    """
    lexicon = lexicon or load_lexicon()
    for _ in range(4):
        corrected = _correct_once(text, lexicon)
        if corrected == text:
            break
        text = corrected
    return text


def _correct_once(text: str, lexicon: AsrLexicon) -> str:
    # Only characters with a reading that occurs in some domain word can be part of a window.
    candidates = lexicon.candidate_chars
    interesting = [char in candidates for char in text]
    if not any(interesting):
        return text
    pieces: list[str] = []
    cursor = 0
    position = 0
    length = len(text)
    while position < length:
        if not interesting[position]:
            position += 1
            continue
        skip = _exact_word_length(text, position, lexicon)
        if skip:
            rule = lexicon.context_rules.get(text[position : position + skip])
            if rule is not None and rule.applies(text, position):
                pieces.extend((text[cursor:position], rule.means))
                cursor = position + skip
            position += skip
            continue
        replaced = _homophone_at(text, position, interesting, lexicon)
        if replaced is None:
            position += 1
            continue
        word = replaced
        pieces.extend((text[cursor:position], word))
        position += len(word)
        cursor = position
    pieces.append(text[cursor:])
    return "".join(pieces)


def _exact_word_length(text: str, position: int, lexicon: AsrLexicon) -> int:
    for size in lexicon.exact_lengths_by_first.get(text[position], ()):
        candidate = text[position : position + size]
        if len(candidate) == size and (lexicon.is_exact(candidate) or candidate in lexicon.context_rules):
            return size
    return 0


def _homophone_at(text: str, position: int, interesting: Sequence[bool], lexicon: AsrLexicon) -> str | None:
    if _pinyin_of_char(text[position]) not in lexicon.first_syllables:
        return None
    for size in lexicon.window_lengths:
        end = position + size
        if end > len(text) or not all(interesting[position:end]):
            continue
        window = text[position:end]
        word = lexicon.by_pinyin.get(_char_pinyin_key(window))
        if word is None or word == window:
            continue
        if _SEGMENTER.is_word(window) or _splits_a_word(text, position, end):
            continue
        return word
    return None


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------


def normalise_digits(text: str) -> str:
    """Rules 1-3 only: half-width, Chinese numerals to digits, chunked numbers joined."""
    text = to_halfwidth(text)
    text = chinese_numerals_to_digits(text)
    return join_digit_groups(text)


def normalise(text: str) -> str:
    """The canonical form of a user message, as every channel hands it to NLU."""
    text = collapse_whitespace(strip_emoji(to_halfwidth(text)))
    # Punctuation and fillers go before the word rules: context rules measure distances in
    # characters, and they must measure the same text on every pass (idempotence).
    text = collapse_fillers(collapse_punctuation(text))
    for _ in range(_MAX_PASSES):
        text = join_digit_groups(chinese_numerals_to_digits(text))
        corrected = correct_asr_homophones(text)
        if corrected == text:
            break
        # A fix can complete a number context (三互好 -> 三户号, and 三户 is "3户"): go again.
        text = corrected
    return collapse_whitespace(text)


_MAX_PASSES = 3
