from __future__ import annotations

import pytest

from backend.masking import mask_account_no, mask_address, mask_name, mask_phone
from backend.services.accounts import InvalidAccountNo, normalise_account_no


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("3100000001", "4103100000001"),
        ("4103100000001", "4103100000001"),
        (" 310 0000 001 ", "4103100000001"),
        ("310-000-0001", "4103100000001"),
        ("410-3100-000001", "4103100000001"),
        ("３１０００００００１", "4103100000001"),
        ("三一零零零零零零零一", "4103100000001"),
        ("三幺〇〇〇〇〇〇〇幺", "4103100000001"),
        ("三幺零零 零零七零三八", "4103100007038"),
        ("两两两两两两两两两两", "4102222222222"),
        ("3100000001\u3000", "4103100000001"),
        # 13 digits without the Henan prefix: kept as given (warn elsewhere, never reject).
        ("4203100000001", "4203100000001"),
    ],
)
def test_accepted_forms(raw, canonical):
    assert normalise_account_no(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "310000000",
        "31000000011",
        "410310000000",
        "41031000000011",
        "户号3100000001",
        "3100000001a",
        "٣١٠٠٠٠٠٠٠١",
        "3100000001.",
        "十",
    ],
)
def test_rejected_forms(raw):
    with pytest.raises(InvalidAccountNo):
        normalise_account_no(raw)


def test_invalid_account_no_is_a_value_error():
    assert issubclass(InvalidAccountNo, ValueError)


# Masking of what the assistant may show (reference.md §6.2).


def test_mask_phone():
    assert mask_phone("13803731234") == "138****1234"
    assert mask_phone("138 0373 1234") == "138****1234"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("王建国", "王*国"), ("李秀兰", "李*兰"), ("张伟", "张*"), ("欧阳小明", "欧**明"), (" 刘芳 ", "刘*")],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_mask_account_no_keeps_last_four():
    assert mask_account_no("4103100000001") == "****0001"
    assert mask_account_no("3100000002") == "****0002"


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("新乡县七里营镇七里营村3组12号", "新乡县七里营镇七里营村"),
        ("新乡县翟坡镇翟坡村东地3号机井", "新乡县翟坡镇翟坡村"),
        ("新乡县合河乡合河村4组15号", "新乡县合河乡合河村"),
        ("新乡县小冀镇工业路18号", "新乡县小冀镇"),
        ("新乡县城金穗大道中段幸福小区3号楼2单元501", "新乡县城金穗大道"),
    ],
)
def test_mask_address_keeps_town_and_village_only(address, masked):
    assert mask_address(address) == masked
