"""backend.textnorm: one block per rule, then the whole pipeline.

Runs under both virtualenvs (.venv and .venv-bot); the hypothesis properties live in
test_textnorm_properties.py because the bot venv has no hypothesis.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from backend.textnorm import (
    LEXICON_PATH,
    AsrLexicon,
    chinese_numerals_to_digits,
    collapse_fillers,
    collapse_punctuation,
    collapse_whitespace,
    correct_asr_homophones,
    join_digit_groups,
    load_lexicon,
    normalise,
    normalise_digits,
    strip_emoji,
    to_halfwidth,
)

# --- rule 1: full-width -> half-width -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("３１０００００００１", "3100000001"),
        ("ＡＢＣ　ａｂｃ", "ABC abc"),
        ("户号：３１００", "户号：3100"),  # Chinese colon after a word stays Chinese
        ("电费多少？！", "电费多少？！"),
        ("好的，谢谢。", "好的，谢谢。"),
        ("（七里营）《通知》", "（七里营）《通知》"),
        ("４５．２元", "45.2元"),
        ("①号", "1号"),
        ("＃％＆＋－／＝＠", "#%&+-/=@"),
    ],
)
def test_to_halfwidth(raw: str, expected: str) -> None:
    assert to_halfwidth(raw) == expected


# --- rule 5 parts: emoji, whitespace, punctuation, fillers ----------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("好的👍谢谢", "好的谢谢"),
        ("停电了😭😭", "停电了"),
        ("👨‍👩‍👧家里没电", "家里没电"),
        ("❤️谢谢", "谢谢"),
        ("[微笑]你好[捂脸]", "你好"),
        ("[电费]", "[电费]"),  # not a WeChat sticker code
        ("户号\u200b3100", "户号3100"),
        ("电费\x07多少", "电费 多少"),
    ],
)
def test_strip_emoji(raw: str, expected: str) -> None:
    assert strip_emoji(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  俺家   没电了 \n\t 咋办  ", "俺家 没电了 咋办"),
        ("\u3000", "\u3000".strip() or ""),
        ("", ""),
    ],
)
def test_collapse_whitespace(raw: str, expected: str) -> None:
    assert collapse_whitespace(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("啥时候来电！！！", "啥时候来电！"),
        ("没电了。。。。", "没电了。"),
        ("???", "?"),
        ("真的吗？？？！！", "真的吗？！"),
        ("等等……", "等等…"),
        ("45.2元", "45.2元"),
    ],
)
def test_collapse_punctuation(raw: str, expected: str) -> None:
    assert collapse_punctuation(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("嗯嗯嗯俺家没电了", "嗯俺家没电了"),
        ("那个那个户号是", "那个户号是"),
        ("那个，那个，户号是", "那个，户号是"),
        ("就是就是电费太贵", "就是电费太贵"),
        ("呃呃 我想问一下", "呃 我想问一下"),
        ("嗯", "嗯"),  # a lone 嗯 can be "yes": fillers collapse, they never vanish
        ("谢谢谢谢", "谢谢谢谢"),  # not a filler
        ("余额额度", "余额额度"),  # 额 is not treated as a filler
    ],
)
def test_collapse_fillers(raw: str, expected: str) -> None:
    assert collapse_fillers(raw) == expected


# --- rule 2: spaces and dashes inside numbers -----------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3100 0000 01", "3100000001"),
        ("138-0373-1234", "13803731234"),
        ("138 0373 1234", "13803731234"),
        ("138 - 0373 - 1234", "13803731234"),
        ("410 3100000001", "4103100000001"),
        ("1 3 8 0 3 7 3 1 2 3 4", "13803731234"),
        ("尾号12 34", "尾号1234"),
        # two facts stay two facts
        ("户号3100000001 尾号1234", "户号3100000001 尾号1234"),
        ("3100000001 1234", "3100000001 1234"),
        ("3100000001 13803731234", "3100000001 13803731234"),
        # dates, ranges and country codes are not chunked numbers
        ("2024-10-01", "2024-10-01"),
        ("2023-2024年", "2023-2024年"),
        ("3-5天", "3-5天"),
        ("10-12月", "10-12月"),
        ("交了100 200", "交了100 200"),
        ("+86 138 0373 1234", "+86 13803731234"),
        ("45.2 3", "45.2 3"),
        ("8：30来电", "8:30来电"),  # a clock time reads as ASCII
        ("户号：3100", "户号：3100"),
    ],
)
def test_join_digit_groups(raw: str, expected: str) -> None:
    assert join_digit_groups(raw) == expected


# --- rule 3: Chinese numerals ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # account numbers, phones, last four, work orders read digit by digit
        ("三一零零零零零零零一", "3100000001"),
        ("三幺零零零零零零零幺", "3100000001"),
        ("三幺〇〇〇〇〇〇〇幺", "3100000001"),
        ("两两两两两两两两两两", "2222222222"),
        ("幺三八零三七三幺二三四", "13803731234"),
        ("后四位是幺二三四", "后四位是1234"),
        ("尾号幺二三四", "尾号1234"),
        ("尾号一二三四", "尾号1234"),
        ("工单号二零二四幺零零八", "工单号20241008"),
        ("3100零零零零01", "3100000001"),
        ("尾号12三四", "尾号1234"),
        ("幺幺零", "110"),
        # amounts
        ("四十五块二", "45.2块"),
        ("两块五毛钱", "2.5块钱"),
        ("一块五", "1.5块"),
        ("四十五块钱", "45块钱"),
        ("一百二十块", "120块"),
        ("二十多块", "20多块"),
        ("三百五十元", "350元"),
        ("一千五百块", "1500块"),
        ("两万五千元", "25000元"),
        ("45块2", "45.2块"),
        ("45元2角", "45.2元"),
        ("四十五点二度", "45.2度"),
        ("一点五度", "1.5度"),
        ("电压才一百八十伏", "电压才180伏"),
        ("五十千瓦的光伏", "50千瓦的光伏"),
        # dates and times
        ("十月份", "10月份"),
        ("十二月", "12月"),
        ("三号", "3号"),
        ("十月一号", "10月1号"),
        ("下个月一号", "下个月1号"),
        ("一月份的电费", "1月份的电费"),
        ("二零二四年三月五号", "2024年3月5号"),
        ("下午一点停电", "下午1点停电"),
        ("明天上午八点到下午六点", "明天上午8点到下午6点"),
        ("三点半", "3点半"),
        # addresses
        ("七里营村三组十二号", "七里营村3组12号"),
        ("七里营村一组", "七里营村1组"),
        ("两户", "2户"),
    ],
)
def test_numerals_become_digits(raw: str, expected: str) -> None:
    assert chinese_numerals_to_digits(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "查一下",
        "统一缴费",
        "一户一表",
        "电费高了一点",
        "便宜一点点",
        "一般",
        "一直",
        "两个人",
        "万一停电",
        "一样",
        "十分感谢",
        "第一档",
        "第二档",
        "一下子",
        "等一会儿",
        "四五天了",
        "两三个月",
        "七八十块",
        "三天两头停电",
        "十天半个月",
        "七里营",
        "八里营",
        "五陵村",
        "五保户",
        "周一二三停电吗",
        "第一二三档",
        "一二三四组都停电了",
        "不管三七二十一",
        "千万别断电",
        "一块儿去",
        "两块地",
        "一天到晚停电",
        "一度以为",
        "唯一的办法",
        "统一号码",
        "两月没交了",
        "三三两两",
        "七零八落",
        "墙上有个洞三四米",
        "交了100一个月",
        "百分之",
        "十几天",
        "一次",
    ],
)
def test_words_with_numerals_survive(text: str) -> None:
    assert chinese_numerals_to_digits(text) == text


def test_numerals_next_to_a_place_name_do_not_swallow_it() -> None:
    # 七里营 must not join a preceding run of numerals into a number.
    assert chinese_numerals_to_digits("幺幺七里营") == "幺幺七里营"


# --- rule 4: ASR homophones -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("点费多少", "电费多少"),
        ("俺家条闸了", "俺家跳闸了"),
        ("户好是多少", "户号是多少"),
        ("又停点了", "又停电了"),
        ("电飞咋恁贵", "电费咋恁贵"),
        ("听电了", "停电了"),
        ("点表不走了", "电表不走了"),
        ("丰谷电价", "峰谷电价"),
        ("街梯电价咋算", "阶梯电价咋算"),
        ("电鸭低", "电压低"),
        ("新房子想包装电表", "新房子想报装电表"),
        ("包装申请到哪一步了", "报装申请到哪一步了"),
        ("我要保修 家里没电", "我要报修 家里没电"),
        ("光复并网", "光伏并网"),
        ("接替电价咋算", "阶梯电价咋算"),
        ("漏报跳了合不上", "漏保跳了合不上"),
        ("期里营村", "七里营村"),
    ],
)
def test_homophones_are_corrected(heard: str, meant: str) -> None:
    assert correct_asr_homophones(heard) == meant


@pytest.mark.parametrize(
    "text",
    [
        "跳闸了",
        "电费多少",
        "户号是3100000001",
        "点点",
        "好好",
        "停顿",
        "户口",
        "电话",
        "条件",
        "保修期",
        "空调还在保修期",
        "电器还在保修",
        "保修卡丢了",
        "包装盒坏了",
        "这个包装挺好看",
        "一点费用",
        "听点音乐",
        "保护好电表",
        "接替他的工作",
        "光复以后",
        "兼容",
        "小户人家",
        "交费缴费",
    ],
)
def test_valid_words_are_not_rewritten(text: str) -> None:
    assert correct_asr_homophones(text) == text


def test_custom_lexicon_and_first_listed_word_wins() -> None:
    lexicon = AsrLexicon.build(domain_words=["缴费", "交费"], protected_words=["叫座"])
    assert correct_asr_homophones("叫费在哪", lexicon) == "缴费在哪"
    assert correct_asr_homophones("交费在哪", lexicon) == "交费在哪"


def test_lexicon_file_loads_and_is_consistent() -> None:
    lexicon = load_lexicon(LEXICON_PATH)
    for word in ("电费", "跳闸", "户号", "停电", "报装", "报修", "欠费", "余额", "七里营", "供电所"):
        assert word in lexicon.domain_words
    for rule in lexicon.context_rules.values():
        assert rule.means in lexicon.domain_words, rule
    assert not set(lexicon.domain_words) & lexicon.protected_words


def test_load_lexicon_from_another_file(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yml"
    path.write_text("domain_words: [抄表]\nprotected_words: [超标]\n", encoding="utf-8")
    lexicon = load_lexicon(path)
    assert correct_asr_homophones("炒表员来了", lexicon) == "抄表员来了"
    assert correct_asr_homophones("电费超标了", lexicon) == "电费超标了"


def test_load_lexicon_rejects_a_non_mapping(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yml"
    path.write_text("- 电费\n", encoding="utf-8")
    with pytest.raises(ValueError, match="mapping"):
        load_lexicon(path)


# --- the pipeline ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("俺家户号是三幺零零 零零零零 零幺，后四位幺二三四", "俺家户号是3100000001，后四位1234"),
        ("户好三一零零零零零零零一 尾号一二三四", "户号3100000001 尾号1234"),
        ("嗯嗯 那个那个 俺家条闸了！！！😭", "嗯 那个 俺家跳闸了！"),
        ("十月份点费咋恁贵？？", "10月份电费咋恁贵？"),
        ("手机号 １３８－０３７３－１２３４", "手机号 13803731234"),
        ("上个月交了四十五块二", "上个月交了45.2块"),
        ("七里营镇七里营村三组十二号又停点了", "七里营镇七里营村3组12号又停电了"),
        ("查一下电费，统一缴费一户一表咋弄", "查一下电费，统一缴费一户一表咋弄"),
        ("   ", ""),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("户号：３１００ ０００ ００１", "户号：3100000001"),
        ("三幺零零零零零零零幺", "3100000001"),
        # only numbers change: no homophone fixing, no emoji or punctuation clean-up
        ("点费多少！！！👍", "点费多少！！！👍"),
    ],
)
def test_normalise_digits(raw: str, expected: str) -> None:
    assert normalise_digits(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "俺家户号是三幺零零 零零零零 零幺，后四位幺二三四",
        "嗯嗯 那个那个 俺家条闸了！！！😭",
        "新房子想包装电表 包装申请到哪一步了",
        "幺幺期里营",
        "两块五毛钱 一点五度 下午一点",
    ],
)
def test_normalise_is_idempotent_on_examples(raw: str) -> None:
    once = normalise(raw)
    assert normalise(once) == once


_MESSAGE_PARTS = (
    "俺家户好是三幺零零零零零零{}",
    "尾号{}",
    "条闸了合不上",
    "这个月点费{}块咋恁贵",
    "七里营村{}组停点了",
    "查一下余额",
    "新房子想包装电表",
    "统一缴费一户一表",
    "明天下午{}点停电不",
    "电压才{}伏",
    "我要保修 家里没电",
    "那个那个嗯嗯 就是就是",
    "街梯电价咋算",
    "光复并网补贴😭",
)


def _long_message(seed: int, size: int = 10_000) -> str:
    """A long rambling message: varied sentences with varied spoken numbers and ASR errors."""
    rng = random.Random(seed)
    pieces: list[str] = []
    while sum(map(len, pieces)) < size:
        spoken = "".join(rng.choice("一二三四五六七八九") for _ in range(rng.randint(1, 4)))
        pieces.append(rng.choice(_MESSAGE_PARTS).format(spoken) + rng.choice("，。！ "))
    return "".join(pieces)[:size]


def test_ten_thousand_character_messages_are_normalised_whole() -> None:
    # How fast this runs is measured by bench/bench_textnorm.py, not asserted here.
    for seed in (1, 2, 3):
        text = _long_message(seed)
        result = normalise(text)
        assert "跳闸" in result and "停电" in result and "条闸" not in result
        assert len(result) > 0.8 * len(text)


@pytest.mark.parametrize(
    "text", ["这两天老停电", "前两天报修的", "过两天再说", "报修三天了没人来", "隔两天就跳闸", "停了五天了"]
)
def test_durations_stay_words(text: str) -> None:
    # Durations are not number-like spans; as digits the NLU mistook them for account numbers.
    assert normalise(text) == text
