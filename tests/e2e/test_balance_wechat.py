"""The balance conversation end to end through /wechat, for the demo customers."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.services.conversations import conversation_id_for, transcript

if TYPE_CHECKING:
    from tests.e2e.conftest import Stack


def new_openid() -> str:
    return f"o_e2e_{secrets.token_hex(6)}"


def test_wang_jianguo_balance_step_by_step(stack: Stack) -> None:
    openid = new_openid()
    ask_account = stack.wechat(openid, "俺想问问俺家电费还剩多少")
    assert "户号" in ask_account
    ask_factor = stack.wechat(openid, "3100 0000 01")
    assert "后四位" in ask_factor or "姓名" in ask_factor
    answer = stack.wechat(openid, "1234")
    assert "86.50" in answer
    assert "****0001" in answer
    assert "王建国" not in answer  # personal data masked
    assert "13803731234" not in answer


def test_wang_jianguo_verified_by_name_with_spoken_account_number(stack: Stack) -> None:
    openid = new_openid()
    stack.wechat(openid, "查余额")
    stack.wechat(openid, "三幺零零零零零零零幺")
    answer = stack.wechat(openid, "户主是王建国")
    assert "86.50" in answer


def test_li_xiulan_all_at_once_reports_arrears_and_suspension(stack: Stack) -> None:
    answer = stack.wechat(new_openid(), "户号3100000002 尾号5678 查余额")
    assert "45.20" in answer
    assert "暂停" in answer or "停电" in answer
    assert "缴" in answer or "交" in answer  # how to restore supply


def test_failed_verification_does_not_reveal_account_and_locks_after_three(stack: Stack) -> None:
    openid = new_openid()
    stack.wechat(openid, "查一下余额")
    stack.wechat(openid, "3100000001")
    wrong_factor = stack.wechat(openid, "9999")
    assert "86.50" not in wrong_factor
    assert "不一致" in wrong_factor

    stack.wechat(openid, "3199999999")  # an account that does not exist
    unknown_account = stack.wechat(openid, "1234")
    # Same wording whether the account exists or not.
    assert "不一致" in unknown_account
    assert "不存在" not in unknown_account

    stack.wechat(openid, "3100000001")
    locked = stack.wechat(openid, "0000")
    assert "95598" in locked or "人工" in locked
    assert "86.50" not in locked


def test_other_account_needs_its_own_verification(stack: Stack) -> None:
    openid = new_openid()
    first = stack.wechat(openid, "户号3100000001 尾号1234 查余额")
    assert "86.50" in first
    other = stack.wechat(openid, "那户号3100000002的余额呢")
    assert "45.20" not in other
    assert "后四位" in other or "姓名" in other


def test_bad_signature_is_refused_and_nothing_recorded(stack: Stack) -> None:
    openid = new_openid()
    response = stack.post_wechat(openid, "查余额", token="not-the-token")
    assert response.status_code == 403
    with Session(make_engine(stack.database_url)) as session:
        assert transcript(session, conversation_id_for("wechat", openid)) == []


def test_both_sides_are_recorded_in_the_transcript(stack: Stack) -> None:
    openid = new_openid()
    reply = stack.wechat(openid, "户号3100000001 尾号1234 查余额")
    with Session(make_engine(stack.database_url)) as session:
        messages = transcript(session, conversation_id_for("wechat", openid))
    directions = [str(getattr(m.direction, "value", m.direction)) for m in messages]
    assert directions[0] == "in" and set(directions[1:]) == {"out"}
    assert messages[0].text == "户号3100000001 尾号1234 查余额"
    # One row per bot message; the passive reply joins them with a blank line.
    assert "\n\n".join(m.text for m in messages[1:]) == reply
