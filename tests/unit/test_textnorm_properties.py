"""Property tests for backend.textnorm: never raises, idempotent, digits-only stays digits-only.

Separate from test_textnorm.py because the bot venv (.venv-bot) has no hypothesis.
"""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from backend.textnorm import normalise, normalise_digits  # noqa: E402

# Text made of the characters the rules care about, so that random strings actually exercise
# numerals, units, homophones, fillers, separators and emoji rather than only noise.
_INTERESTING = (
    "零〇洞幺一二三四五六七八九两十百千万点块元毛角度月号日组天户瓦伏多钱第周"
    "0123456789 -+.。，！？!?：:"
    "电费点跳条闸户号好停包装报保修期表听光复伏并网营七里期嗯呃那个就是"
    "３１０－　😭👍\u200b\n\t"
)
chinese_heavy_text = st.text(alphabet=st.sampled_from(_INTERESTING), max_size=60)
any_text = st.text(max_size=200)


@settings(max_examples=400, deadline=None)
@given(st.one_of(any_text, chinese_heavy_text))
def test_normalise_never_raises_and_returns_str(text: str) -> None:
    assert isinstance(normalise(text), str)
    assert isinstance(normalise_digits(text), str)


@settings(max_examples=600, deadline=None)
@given(st.one_of(any_text, chinese_heavy_text))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@settings(max_examples=600, deadline=None)
@given(st.one_of(any_text, chinese_heavy_text))
def test_normalise_digits_is_idempotent(text: str) -> None:
    once = normalise_digits(text)
    assert normalise_digits(once) == once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789", min_size=1, max_size=4), min_size=2, max_size=4))
def test_chunked_numbers_are_joined(chunks: list[str]) -> None:
    joined = "".join(chunks)
    dashed = "-".join(chunks)

    def is_year(chunk: str) -> bool:
        return len(chunk) == 4 and chunk.startswith(("19", "20"))

    # 2024-10-01 is a date and 2023-2024 a range of years, not one chunked number
    looks_like_date = is_year(chunks[0]) and all(len(c) <= 2 for c in chunks[1:])
    looks_like_date = looks_like_date or (len(chunks) == 2 and all(map(is_year, chunks)))
    if len(joined) >= 7:
        assert normalise(" ".join(chunks)) == joined
        assert normalise(dashed) == (dashed if looks_like_date else joined)
    else:
        # short groups are counted or ranged numbers ("3-5天", "100 200"), not one chunked number
        assert normalise(dashed) == dashed


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=13))
def test_spoken_digits_round_trip(digits: str) -> None:
    spoken = "".join("零幺二三四五六七八九"[int(d)] for d in digits)
    if len(digits) >= 3:
        assert normalise_digits(spoken) == digits
