"""Defensive parsing of account numbers and identity factors (no backend needed)."""

from __future__ import annotations

import pytest

from actions.customer_input import canonical_account_no, parse_identity_factor


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("3100000001", "4103100000001"),
        ("4103100000001", "4103100000001"),
        ("310 000 0001", "4103100000001"),
        ("410-3100-0000-02", "4103100000002"),
        ("３１００００００01", "4103100000001"),  # full-width digits
        ("三幺零零零零零零零幺", "4103100000001"),  # 幺 read as 1
        ("户号是3100000003", "4103100000003"),
    ],
)
def test_account_numbers_in_any_typed_form_become_the_13_digit_number(typed: str, canonical: str) -> None:
    assert canonical_account_no(typed) == canonical


@pytest.mark.parametrize(
    "typed", ["12345", "13803731234", "31000000011", "", "户号", "3100000001 3100000002"]
)
def test_anything_but_exactly_one_10_or_13_digit_number_is_rejected(typed: str) -> None:
    assert canonical_account_no(typed) is None


@pytest.mark.parametrize(
    ("typed", "last4"),
    [
        ("1234", "1234"),
        ("尾号1234", "1234"),
        ("后四位是1234", "1234"),
        ("后四位是幺二三四", "1234"),
        ("手机尾号 1 2 3 4", "1234"),
        ("13803731234", "1234"),
    ],
)
def test_phone_last4_wordings(typed: str, last4: str) -> None:
    factor = parse_identity_factor(typed)
    assert factor is not None and factor.phone_last4 == last4 and factor.name is None


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("王建国", "王建国"),
        ("俺叫王建国", "王建国"),
        ("户主是王建国", "王建国"),
        ("我叫李秀兰啊。", "李秀兰"),
    ],
)
def test_holder_name_wordings(typed: str, name: str) -> None:
    factor = parse_identity_factor(typed)
    assert factor is not None and factor.name == name and factor.phone_last4 is None


@pytest.mark.parametrize("typed", ["算了", "不知道", "123", "12345", "尾号是多少来着我忘了吧啊", ""])
def test_non_answers_are_not_taken_as_identity(typed: str) -> None:
    assert parse_identity_factor(typed) is None
