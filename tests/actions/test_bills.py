"""Bills, usage, payments and tariff advice, driven through our actions against the real api/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from actions import replies
from actions.bills import ActionQueryBill
from actions.identity import (
    ActionAfterVerification,
    ActionAskAccountNo,
    ActionAskIdentityCheck,
    ValidateVerifyForm,
)
from actions.payments import ActionPayBill
from actions.periods import add_months, month_label, parse_period
from actions.tariff_advice import ActionAskTariffAdvice
from actions.usage import ActionQueryUsage
from harness import Conversation

Start = Callable[[str], Conversation]
ASK = {"account_no": ActionAskAccountNo(), "identity_check": ActionAskIdentityCheck()}
BEIJING = timezone(timedelta(hours=8))


def today() -> Any:
    return datetime.now(BEIJING).date()


def last_month_label() -> str:
    return month_label(add_months(today().replace(day=1), -1))


def followups(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events if e.get("event") == "followup"]


async def verify_step_by_step(conv: Conversation, account: str, last4: str) -> None:
    await conv.run_form(ValidateVerifyForm(), ASK)
    assert conv.last_text() == replies.ASK_ACCOUNT_NO
    conv.user(account, "inform", {"account_no": account})
    await conv.run_form(ValidateVerifyForm(), ASK)
    conv.user(f"尾号{last4}", "inform", {"phone_last4": last4})
    await conv.run_form(ValidateVerifyForm(), ASK)
    assert conv.active_loop is None
    await conv.run(ActionAfterVerification())


def assert_no_personal_data(conv: Conversation, *secrets: str) -> None:
    for text in conv.texts():
        for secret in secrets:
            assert secret not in text


async def test_sun_li_why_so_high_after_verification(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("上个月电费咋恁贵", "query_bill", {"date": "上个月"})
    events = await conv.run(ActionQueryBill())
    assert followups(events) == ["verify_form"]
    assert conv.slots["pending_intent"] == "query_bill"
    assert conv.slots["pending_request"] == "上个月电费咋恁贵"
    await verify_step_by_step(conv, "3100000007", "1357")

    answer = conv.last_text()
    assert f"户号****0007，{last_month_label()}电费373.20元（用电520度）" in answer
    assert "第1档180度×0.56元=100.80元" in answer and "第3档260度×0.86元=223.60元" in answer
    assert "131度，73.36元" in answer and "多用了389度，电费多了299.84元" in answer
    assert "82.00元" in answer  # the higher tiers' surcharge
    assert "去年同月的用电记录系统里没有" in answer
    assert "以当地营业厅公布为准" in answer
    assert conv.slots["pending_request"] is None
    assert_no_personal_data(conv, "孙丽", "15537301357", "3100000007")


async def test_named_month_all_in_one_message(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user(
        "户号3100000007 尾号1357 查上上个月电费",
        "query_bill",
        {"account_no": "3100000007", "phone_last4": "1357"},
    )
    events = await conv.run(ActionQueryBill())
    assert followups(events) == []
    two_months_ago = month_label(add_months(today().replace(day=1), -2))
    assert f"{two_months_ago}电费73.36元（用电131度）" in conv.last_text()
    assert "咋" not in conv.last_text()

    # The same session asks about another month: no second verification.
    conv.user("去年腊月电费多少", "query_bill", {"date": "去年腊月"})
    await conv.run(ActionQueryBill())
    asked = parse_period("去年腊月", today())
    assert asked is not None and asked.note
    assert asked.note in conv.last_text() and "农历腊月" in conv.last_text()


async def test_month_without_records_says_which_months_exist(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user(
        "户号3100000001 尾号1234 查2001年3月电费",
        "query_bill",
        {"account_no": "3100000001", "phone_last4": "1234"},
    )
    await conv.run(ActionQueryBill())
    assert "没有户号****0001" in conv.last_text() and "能查到的是" in conv.last_text()


async def test_commercial_bill_without_prices_gives_no_amount(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user(
        "户号3100000003 尾号9012 上个月电费",
        "query_bill",
        {"account_no": "3100000003", "phone_last4": "9012"},
    )
    await conv.run(ActionQueryBill())
    answer = conv.last_text()
    assert "用电2350度" in answer and "以当地营业厅公布为准" in answer
    assert "元（用电" not in answer


async def test_wang_usage_year_with_trend(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("近一年用电量", "query_usage", {"date": "近一年"})
    await conv.run(ActionQueryUsage())
    await verify_step_by_step(conv, "3100000001", "1234")
    answer = conv.last_text()
    assert "共用电2282度" in answer and "平均每月190.17度" in answer
    assert "（310度）" in answer and "（128度）" in answer
    assert "总体在上升" in answer
    assert not conv.replies[-1].get("image")  # not a web-chat conversation: text only


async def test_usage_of_last_month_compares_with_the_month_before(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.state["sender_id"] = "web-" + conv.state["sender_id"]
    conv.user(
        "户号3100000001 尾号1234 上个月用了多少度",
        "query_usage",
        {"account_no": "3100000001", "phone_last4": "1234"},
    )
    await conv.run(ActionQueryUsage())
    answer = conv.last_text()
    assert f"{last_month_label()}用电176度" in answer and "多38度" in answer
    image = conv.replies[-1].get("image")
    assert image and image.startswith("/charts/usage/") and image.endswith(".svg")


async def test_liu_fang_tariff_advice(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user(
        "户号3100000005 尾号7890 俺家办峰谷电划算不",
        "ask_tariff_advice",
        {"account_no": "3100000005", "phone_last4": "7890"},
    )
    await conv.run(ActionAskTariffAdvice())
    answer = conv.last_text()
    assert "实际用电3110度" in answer
    assert "1. 居民阶梯电价（一户一表）：共1878.60元" in answer
    assert "（您现在的方式）" in answer and "峰段每度加价多少" in answer
    assert "谷段每度便宜0.12元" in answer and "1492.8度" in answer and "179.14元" in answer
    assert "不超过0.11元" in answer
    assert "没法确定哪种更省" in answer
    assert "5个月用到了第三档" in answer and "355度" in answer
    assert "以当地营业厅公布为准" in answer


async def test_li_xiulan_suspended_asks_how_to_get_power_back(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user(
        "户号3100000002 尾号5678 交多少钱才能来电",
        "pay_bill",
        {"account_no": "3100000002", "phone_last4": "5678"},
    )
    await conv.run(ActionPayBill())
    answer = conv.last_text()
    assert "因欠费暂停供电" in answer and "欠费45.20元" in answer and "至少要交清这45.20元" in answer
    assert "24小时" in answer and "12小时" in answer and "以当地营业厅公布为准" in answer
    assert "网上国网App" in answer


async def test_payment_not_arrived_without_a_record_offers_a_human(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user(
        "户号3100000001 尾号1234 钱交了咋没到账",
        "pay_bill",
        {"account_no": "3100000001", "phone_last4": "1234"},
    )
    await conv.run(ActionPayBill())
    answer = conv.last_text()
    assert "没有查到户号****0001的交费记录" in answer and "交费凭证" in answer
    assert conv.offered_human()


async def test_how_to_pay_needs_no_verification(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.user("电费咋交", "pay_bill")
    events = await conv.run(ActionPayBill())
    assert followups(events) == []
    assert "网上国网App" in conv.last_text() and "95598网站" in conv.last_text()


async def test_backend_down_offers_a_human(backend_down: str, conversation: Start) -> None:
    conv = conversation("new_session")
    conv.state["slots"]["verified_accounts"] = ["4103100000007"]
    conv.user("上个月电费多少", "query_bill")
    await conv.run(ActionQueryBill())
    assert conv.offered_human() and "95598" in conv.last_text()


async def test_expired_api_verification_asks_again(backend: str, conversation: Start) -> None:
    conv = conversation("new_session")
    # The session thinks it verified, but the API has no verification for this conversation.
    conv.state["slots"]["verified_accounts"] = ["4103100000007"]
    conv.user("上个月电费多少", "query_bill")
    events = await conv.run(ActionQueryBill())
    assert followups(events) == ["verify_form"]
    assert conv.slots["verified_accounts"] == [] and conv.slots["pending_request"] == "上个月电费多少"
