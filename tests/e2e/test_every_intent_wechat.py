"""Every intent gets a real answer through /wechat (the intents without a flow test of their own)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack


def ask(stack: Stack, text: str) -> str:
    return stack.wechat(f"o_e2e_any_{secrets.token_hex(6)}", text)


@pytest.mark.parametrize(
    ("text", "expected_any"),
    [
        ("你好", ["您好", "你好"]),
        ("谢谢你啊", ["不客气", "不用谢", "应该的"]),
        ("没事了 再见", ["再见", "慢走"]),
        ("你是机器人吗", ["智能", "机器人", "自动"]),
        ("阶梯电价咋算", ["0.56", "180"]),
        ("浇地的电多少钱一度", ["农业"]),
        ("营业厅在哪 几点下班", ["营业厅", "8:30"]),
        ("夏天空调开多少度省电", ["空调"]),
        ("电费在哪交", ["网上国网"]),
        ("帮我订张火车票", ["供电", "电费"]),
        ("俺家水费咋交", ["供电", "电费"]),
        ("是的", ["什么业务", "查余额"]),
    ],
)
def test_the_intent_is_answered(stack: Stack, text: str, expected_any: list[str]) -> None:
    answer = ask(stack, text)
    assert answer, f"no answer to {text!r}"
    assert any(word in answer for word in expected_any), f"{text!r} -> {answer!r}"
    assert "系统暂时繁忙" not in answer  # never the router's Rasa-down fallback
