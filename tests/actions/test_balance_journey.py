"""The balance journey, driven through our actions against the real api/ (see conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actions import replies
from actions.backend_client import get_backend_client
from actions.billing import ActionQueryBalance
from actions.identity import (
    ActionAfterVerification,
    ActionAskAccountNo,
    ActionAskIdentityCheck,
    ValidateVerifyForm,
)
from harness import Conversation

Start = Callable[[str], Conversation]
ASK = {"account_no": ActionAskAccountNo(), "identity_check": ActionAskIdentityCheck()}
WANG = "4103100000001"
LI = "4103100000002"


def followups(events: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in events if e.get("event") == "followup"]


def assert_no_personal_data(conv: Conversation) -> None:
    for text in conv.texts():
        for secret in ("王建国", "李秀兰", "3100000001", "3100000002", "13803731234", "13937305678"):
            assert secret not in text


async def ask_balance_then_form(conv: Conversation) -> None:
    """query_balance -> action_query_balance -> FollowupAction(verify_form) -> form activation."""
    events = await conv.run(ActionQueryBalance())
    assert followups(events) == ["verify_form"]
    assert conv.slots["pending_intent"] == "query_balance"
    await conv.run_form(ValidateVerifyForm(), ASK)


async def form_turn(
    conv: Conversation, text: str, intent: str = "inform", entities: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    conv.user(text, intent, entities)
    return await conv.run_form(ValidateVerifyForm(), ASK)


async def finish(conv: Conversation) -> None:
    assert conv.active_loop is None, "verify_form should have ended"
    await conv.run(ActionAfterVerification())


# ------------------------------------------------------------------ happy paths


async def test_wang_jianguo_by_phone_last4_step_by_step(backend: str, conversation: Start) -> None:
    conv = conversation("balance_question")
    await ask_balance_then_form(conv)
    assert conv.last_text() == replies.ASK_ACCOUNT_NO

    await form_turn(conv, "3100000001", entities={"account_no": "3100000001"})
    assert conv.slots["account_no"] == WANG
    assert conv.slots["requested_slot"] == "identity_check"
    assert "****0001" in conv.last_text()

    await form_turn(conv, "尾号1234", entities={"phone_last4": "1234"})
    assert conv.slots["verified_accounts"] == [WANG]
    await finish(conv)

    answer = conv.last_text()
    assert answer.startswith("您的户号****0001（王*国）当前余额86.50元")
    assert "供电正常" in answer and "欠费" not in answer
    assert conv.slots["pending_intent"] is None and conv.slots["identity_check"] is None
    assert_no_personal_data(conv)


@pytest.mark.parametrize("wording", ["王建国", "俺叫王建国", "户主是王建国"])
async def test_wang_jianguo_by_holder_name_typed_as_free_text(
    backend: str, conversation: Start, wording: str
) -> None:
    conv = conversation("balance_question")
    await ask_balance_then_form(conv)
    await form_turn(conv, "3100000001", entities={"account_no": "3100000001"})
    # No entity: the form's from_text mapping fills identity_check with the raw words.
    await form_turn(conv, wording)
    await finish(conv)
    assert "****0001（王*国）当前余额86.50元" in conv.last_text()
    assert_no_personal_data(conv)


async def test_li_xiulan_arrears_and_suspension_with_13_digits_and_name_at_once(
    backend: str, conversation: Start
) -> None:
    conv = conversation("balance_all_at_once_13_digits_name")
    events = await conv.run(ActionQueryBalance())

    assert followups(events) == [], "everything was given: no form"
    assert conv.slots["verified_accounts"] == [LI]
    answer = conv.last_text()
    assert answer.startswith("您的户号****0002（李*兰）当前余额0.00元，欠费45.20元，已于")
    assert "因欠费暂停供电" in answer

    # What the API says about restoring supply decides the wording we must see.
    balance = await get_backend_client().get_balance(account_no=LI, conversation_id=conv.state["sender_id"])
    if balance.restore_hint:
        assert balance.restore_hint in answer  # configured wording, verbatim
    else:
        assert replies.RESTORE_SUPPLY in answer  # pay via 网上国网App / 微信公众号 / 营业厅
        assert "小时" not in answer  # no promised restoration time without configuration
    assert_no_personal_data(conv)


@pytest.mark.parametrize("typed", ["3100000001", "4103100000001"])
async def test_everything_in_one_message_is_answered_directly_for_10_and_13_digits(
    backend: str, conversation: Start, typed: str
) -> None:
    conv = conversation("balance_all_at_once")
    conv.state["latest_message"]["entities"][0]["value"] = typed
    events = await conv.run(ActionQueryBalance())

    assert followups(events) == []
    assert len(conv.replies) == 1
    assert conv.last_text().startswith("您的户号****0001（王*国）当前余额86.50元")
    assert conv.slots["verified_accounts"] == [WANG]
    assert conv.slots["verification_failures"] == 0.0


async def test_verified_account_is_answered_again_without_asking(backend: str, conversation: Start) -> None:
    conv = conversation("balance_all_at_once")
    await conv.run(ActionQueryBalance())

    conv.user("余额还剩多少", "query_balance")
    events = await conv.run(ActionQueryBalance())
    assert followups(events) == []
    assert conv.texts()[-1] == conv.texts()[0]

    # Naming the verified account in the form skips the second factor.
    conv.user("查下户号3100000002的余额", "query_balance", {"account_no": "3100000002"})
    await ask_balance_then_form(conv)
    conv.user("算了还是查3100000001", "inform", {"account_no": "3100000001"})
    await conv.run_form(ValidateVerifyForm(), ASK)
    await finish(conv)
    assert conv.last_text().startswith("您的户号****0001（王*国）当前余额86.50元")


# ------------------------------------------------------------------ other accounts


async def test_another_account_asks_for_its_own_verification(backend: str, conversation: Start) -> None:
    conv = conversation("balance_all_at_once")
    await conv.run(ActionQueryBalance())  # 王建国 verified for real in this conversation

    conv.user("那3100000002的余额呢", "query_balance", {"account_no": "3100000002"})
    events = await conv.run(ActionQueryBalance())
    assert followups(events) == ["verify_form"]
    assert conv.slots["account_no"] == LI
    await conv.run_form(ValidateVerifyForm(), ASK)
    assert conv.slots["requested_slot"] == "identity_check"
    assert "****0002" in conv.last_text(), "asks for THAT account's verification"

    # 王建国's phone does not prove 李秀兰's account.
    await form_turn(conv, "1234", entities={"phone_last4": "1234"})
    assert conv.texts()[-2] == replies.VERIFY_MISMATCH
    assert conv.slots["verified_accounts"] == [WANG]

    await form_turn(conv, "3100000002", entities={"account_no": "3100000002"})
    await form_turn(conv, "户主是李秀兰", entities={"person_name": "李秀兰"})
    await finish(conv)
    assert conv.last_text().startswith("您的户号****0002（李*兰）")
    assert conv.slots["verified_accounts"] == [WANG, LI]

    # Two accounts verified and none named: ask which one.
    conv.user("余额多少", "query_balance")
    events = await conv.run(ActionQueryBalance())
    assert followups(events) == ["verify_form"] and conv.slots["account_no"] is None


async def test_fixture_other_account_session(backend: str, conversation: Start) -> None:
    conv = conversation("balance_other_account")
    events = await conv.run(ActionQueryBalance())
    assert followups(events) == ["verify_form"]
    await conv.run_form(ValidateVerifyForm(), ASK)
    assert "****0002" in conv.last_text()


async def test_session_slot_without_api_record_is_verified_again(backend: str, conversation: Start) -> None:
    """The slot says 0001 is verified but the API (keyed by conversation) disagrees: the
    API wins (403 -> NotVerified) and the customer is asked to verify again."""
    conv = conversation("balance_other_account")
    conv.user("余额多少", "query_balance")
    events = await conv.run(ActionQueryBalance())
    assert followups(events) == ["verify_form"]
    assert conv.slots["verified_accounts"] == []
    assert conv.slots["account_no"] == WANG
    assert not any("余额" in text and "元" in text for text in conv.texts())


# ------------------------------------------------------------------ failures


async def test_wrong_factor_and_unknown_account_get_the_same_words(backend: str, conversation: Start) -> None:
    wrong = conversation("balance_wrong_factor_at_once")
    events = await wrong.run(ActionQueryBalance())
    assert wrong.texts() == [replies.VERIFY_MISMATCH]
    assert followups(events) == ["verify_form"]
    assert wrong.slots["verification_failures"] == 1.0
    assert wrong.slots["account_no"] is None

    unknown = conversation("balance_question")
    await ask_balance_then_form(unknown)
    await form_turn(unknown, "3199999999", entities={"account_no": "3199999999"})
    await form_turn(unknown, "1234", entities={"phone_last4": "1234"})
    mismatch_turn = unknown.texts()[-2:]
    assert mismatch_turn == [replies.VERIFY_MISMATCH, replies.ASK_ACCOUNT_NO]
    assert unknown.slots["verification_failures"] == 1.0
    assert unknown.slots["requested_slot"] == "account_no"


async def test_three_failures_stop_the_form_and_offer_hotline_or_human(
    backend: str, conversation: Start
) -> None:
    conv = conversation("balance_question")
    await ask_balance_then_form(conv)
    for attempt, name in enumerate(["张三", "李四", "王五"], start=1):
        await form_turn(conv, "3100000001", entities={"account_no": "3100000001"})
        await form_turn(conv, name, entities={"person_name": name})
        assert conv.slots["verification_failures"] == float(attempt)
    assert conv.texts().count(replies.VERIFY_MISMATCH) == 2, "the third failure gets the lock-out text"
    await finish(conv)

    assert conv.last_text() == replies.LOCKED_OUT
    assert "95598" in conv.last_text() and conv.offered_human()
    assert conv.slots["verified_accounts"] in (None, [])

    # Asking again in the same session does not restart verification.
    conv.user(
        "户号3100000001 尾号1234 查余额", "query_balance", {"account_no": "3100000001", "phone_last4": "1234"}
    )
    events = await conv.run(ActionQueryBalance())
    assert followups(events) == [] and conv.last_text() == replies.LOCKED_OUT


async def test_locked_out_fixture(backend: str, conversation: Start) -> None:
    conv = conversation("balance_question_locked_out")
    events = await conv.run(ActionQueryBalance())
    assert followups(events) == []
    assert conv.texts() == [replies.LOCKED_OUT] and conv.offered_human()


async def test_malformed_account_number_is_explained_and_asked_again(
    backend: str, conversation: Start
) -> None:
    conv = conversation("balance_question")
    await ask_balance_then_form(conv)
    await form_turn(conv, "户号12345")  # digits but no account_no entity
    assert conv.texts()[-2:] == [replies.ACCOUNT_NO_FORMAT, replies.ASK_ACCOUNT_NO]
    assert conv.slots["account_no"] is None
    assert conv.slots["verification_failures"] == 0.0, "a typo is not a failed verification"


async def test_unrecognisable_factor_is_explained_not_counted(backend: str, conversation: Start) -> None:
    conv = conversation("balance_question")
    await ask_balance_then_form(conv)
    await form_turn(conv, "3100000001", entities={"account_no": "3100000001"})
    await form_turn(conv, "123")
    assert replies.IDENTITY_CHECK_FORMAT in conv.texts()
    assert conv.slots["requested_slot"] == "identity_check"
    assert conv.slots["verification_failures"] == 0.0


async def test_giving_up_during_the_factor_hands_back_to_the_rules(backend: str, conversation: Start) -> None:
    conv = conversation("balance_question")
    await ask_balance_then_form(conv)
    await form_turn(conv, "3100000001", entities={"account_no": "3100000001"})
    events = await form_turn(conv, "算了不查了", intent="deny")
    assert any(e.get("event") == "action_execution_rejected" for e in events)
    assert conv.slots["identity_check"] is None
    assert conv.slots["verification_failures"] == 0.0


# ------------------------------------------------------------------ backend down


async def test_backend_down_all_at_once_is_polite_and_offers_a_human(
    backend_down: str, conversation: Start
) -> None:
    conv = conversation("balance_all_at_once")
    events = await conv.run(ActionQueryBalance())
    assert conv.texts() == [replies.BACKEND_DOWN] and conv.offered_human()
    assert followups(events) == []


async def test_backend_down_inside_the_form_ends_it_quietly(backend_down: str, conversation: Start) -> None:
    conv = conversation("balance_question")
    await ask_balance_then_form(conv)
    await form_turn(conv, "3100000001", entities={"account_no": "3100000001"})
    await form_turn(conv, "尾号1234", entities={"phone_last4": "1234"})
    assert conv.last_text() == replies.BACKEND_DOWN and conv.offered_human()
    assert conv.slots["verification_failures"] == 0.0
    replies_before = len(conv.replies)
    await finish(conv)
    assert len(conv.replies) == replies_before, "the customer was already told"


async def test_account_number_given_again_instead_of_the_factor_switches_account(
    backend: str, conversation: Start
) -> None:
    conv = conversation("balance_question")
    await ask_balance_then_form(conv)
    await form_turn(conv, "3100000001", entities={"account_no": "3100000001"})
    await form_turn(conv, "不对是3100000002", entities={"account_no": "3100000002"})
    assert replies.IDENTITY_CHECK_FORMAT not in conv.texts()
    assert conv.slots["account_no"] == LI and conv.slots["requested_slot"] == "identity_check"
    assert "****0002" in conv.last_text()


async def test_malformed_account_number_in_the_question_is_explained(
    backend: str, conversation: Start
) -> None:
    conv = conversation("new_session")
    conv.user("户号31000001查余额", "query_balance", {"account_no": "31000001"})
    await ask_balance_then_form(conv)
    assert conv.texts() == [replies.ACCOUNT_NO_FORMAT, replies.ASK_ACCOUNT_NO]
    assert conv.slots["account_no"] is None
