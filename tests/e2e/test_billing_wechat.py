"""Bills, usage, tariff advice and payments end to end through /wechat, for the demo customers.

Amounts are those the tariff engine computes from the seeded usage (config/tariffs.yml)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack


def new_openid() -> str:
    return f"o_e2e_bill_{secrets.token_hex(6)}"


def test_sun_li_asks_why_last_months_bill_is_so_high(stack: Stack) -> None:
    openid = new_openid()
    ask_account = stack.wechat(openid, "上个月电费咋恁贵")
    assert "户号" in ask_account
    ask_factor = stack.wechat(openid, "3100000007")
    assert "****0007" in ask_factor and ("后四位" in ask_factor or "姓名" in ask_factor)
    answer = stack.wechat(openid, "1357")
    assert "373.20元" in answer and "520度" in answer
    assert "131度，73.36元" in answer and "299.84元" in answer
    assert "第3档260度×0.86元=223.60元" in answer
    assert "以当地营业厅公布为准" in answer
    assert "孙丽" not in answer and "15537301357" not in answer

    # Same session, another month: no second verification; 腊月 is mapped and explained.
    lunar = stack.wechat(openid, "去年腊月电费多少")
    assert "农历腊月" in lunar and "元（用电" in lunar


def test_wang_jianguo_usage_over_the_year(stack: Stack) -> None:
    answer = stack.wechat(new_openid(), "户号3100000001 尾号1234 近一年用了多少度电")
    assert "共用电2282度" in answer
    assert "（310度）" in answer and "总体在上升" in answer
    assert "王建国" not in answer


def test_liu_fang_tariff_advice_from_her_own_usage(stack: Stack) -> None:
    openid = new_openid()
    assert "户号" in stack.wechat(openid, "俺家办峰谷电划算不")
    stack.wechat(openid, "3100000005")
    answer = stack.wechat(openid, "7890")
    assert "实际用电3110度" in answer
    assert "179.14元" in answer and "峰段每度加价多少" in answer
    assert "以当地营业厅公布为准" in answer


def test_li_xiulan_suspended_wants_to_pay(stack: Stack) -> None:
    answer = stack.wechat(new_openid(), "我要交电费 户号3100000002 尾号5678")
    assert "暂停供电" in answer and "45.20元" in answer
    assert "24小时" in answer and "以当地营业厅公布为准" in answer
    assert "网上国网App" in answer


def test_how_to_pay_is_answered_without_verification(stack: Stack) -> None:
    answer = stack.wechat(new_openid(), "电费咋交")
    assert "网上国网App" in answer and "户号" not in answer.split("\n")[0]
