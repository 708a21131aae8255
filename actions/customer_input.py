"""Defensive parsing of what customers type for account numbers and identity factors.

The channel normaliser (backend.textnorm) already turns Chinese numerals, full-width
digits and separators into plain digits before NLU; these helpers repeat the
essentials because a slot can also be filled from raw text, and because actions
must never trust their input.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CHINESE_DIGITS = {
    "零": "0",
    "〇": "0",
    "○": "0",
    "一": "1",
    "幺": "1",
    "壹": "1",
    "二": "2",
    "贰": "2",
    "三": "3",
    "叁": "3",
    "四": "4",
    "肆": "4",
    "五": "5",
    "伍": "5",
    "六": "6",
    "陆": "6",
    "七": "7",
    "柒": "7",
    "八": "8",
    "捌": "8",
    "九": "9",
    "玖": "9",
}
# Only runs of four or more numerals are read as digits, so words such as
# "查一下" or "三组" keep their meaning.
_CHINESE_DIGIT_RUN = re.compile(f"[{''.join(_CHINESE_DIGITS)}]{{4,}}")
_SEPARATOR_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\s\-‐‑–—_·.]+(?=\d)")
_DIGIT_RUN = re.compile(r"\d+")

LEGACY_ACCOUNT_LENGTH = 10
ACCOUNT_LENGTH = 13
ACCOUNT_PREFIX = "410"  # current 13-digit number = "410" + legacy 10-digit number


def normalise_digits(text: str) -> str:
    """Full-width to ASCII, Chinese numeral runs to digits, separators inside numbers removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _CHINESE_DIGIT_RUN.sub(lambda m: "".join(_CHINESE_DIGITS[c] for c in m.group()), text)
    return _SEPARATOR_BETWEEN_DIGITS.sub("", text)


def digit_runs(text: str) -> list[str]:
    return _DIGIT_RUN.findall(normalise_digits(text))


def canonical_account_no(text: str | None) -> str | None:
    """The 13-digit account number in `text`, or None when there is not exactly one."""
    if not text:
        return None
    candidates = [run for run in digit_runs(text) if len(run) in (LEGACY_ACCOUNT_LENGTH, ACCOUNT_LENGTH)]
    if len(candidates) != 1:
        return None
    number = candidates[0]
    return ACCOUNT_PREFIX + number if len(number) == LEGACY_ACCOUNT_LENGTH else number


def mask_account_no(account_no: str) -> str:
    return "****" + account_no[-4:]


@dataclass(frozen=True)
class IdentityFactor:
    phone_last4: str | None = None
    name: str | None = None


_NAME_PREFIXES = (
    "户主的名字是",
    "户主名字是",
    "户主姓名是",
    "户主名字叫",
    "户名是",
    "户主是",
    "户主叫",
    "户主",
    "户名",
    "姓名是",
    "姓名",
    "名字是",
    "名字叫",
    "名字",
    "俺叫",
    "我叫",
    "咱叫",
    "俺是",
    "我是",
    "叫",
    "是",
)
_NAME_SUFFIXES = ("啊", "呀", "哈", "呢", "的", "吧")
_HAN_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}(?:·[\u4e00-\u9fff]{1,8})?$")
_NOT_NAMES = frozenset(
    {
        "不知道",
        "不记得",
        "忘了",
        "忘记了",
        "算了",
        "不用了",
        "不查了",
        "没有",
        "不是",
        "是的",
        "好的",
        "可以",
        "对的",
        "不对",
        "谢谢",
        "你好",
        "余额",
        "查余额",
        "电费",
        "转人工",
        "人工",
        "尾号",
        "手机",
        "手机号",
        "查一下",
        "查询",
        "余额多少",
        "多少钱",
    }
)
_PHONE_LENGTH = 11
_PUNCTUATION = re.compile(r"[\s，。！？、,.!?：:；;\"'“”‘’（）()]+")


def parse_phone_last4(text: str) -> str | None:
    runs = digit_runs(text)
    fours = [run for run in runs if len(run) == 4]
    if len(runs) == 1 and len(fours) == 1:
        return fours[0]
    # A whole registered phone number also proves the last four digits.
    phones = [run for run in runs if len(run) == _PHONE_LENGTH]
    if len(runs) == 1 and len(phones) == 1:
        return phones[0][-4:]
    return None


def parse_name(text: str) -> str | None:
    candidate = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", text))
    stripped = True
    while stripped:
        stripped = False
        for prefix in _NAME_PREFIXES:
            if candidate.startswith(prefix) and len(candidate) > len(prefix):
                candidate = candidate[len(prefix) :]
                stripped = True
                break
    while candidate and candidate.endswith(_NAME_SUFFIXES) and len(candidate) > 2:
        candidate = candidate[:-1]
    if candidate in _NOT_NAMES or not _HAN_NAME.match(candidate):
        return None
    return candidate


def parse_identity_factor(text: str | None) -> IdentityFactor | None:
    """Last four phone digits ("1234", "尾号1234", "后四位是1234") or a holder's name."""
    if not text:
        return None
    if digit_runs(text):
        last4 = parse_phone_last4(text)
        return IdentityFactor(phone_last4=last4) if last4 else None
    name = parse_name(text)
    return IdentityFactor(name=name) if name else None
