"""Masking of personal data for display and logs (reference.md §6.2 conventions)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")
# County, then town (镇/乡/街道, or 县城 written as "县城"), then village or community.
_ADDRESS = re.compile(
    r"^(?P<county>.*?县)?"
    r"(?P<town>城|.+?(?:镇|乡|街道))?"
    r"(?P<village>.+?(?:村|社区))?"
)
_STREET = re.compile(r"^.+?(?:大道|路|街)")


def mask_phone(phone: str) -> str:
    """13803731234 -> 138****1234. Short or odd numbers keep only their last two digits."""
    digits = "".join(_DIGITS.findall(phone))
    if len(digits) >= 7:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    if len(digits) > 2:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def mask_name(name: str) -> str:
    """王建国 -> 王*国, 张伟 -> 张*, 欧阳小明 -> 欧**明."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return f"{name[0]}*"
    return f"{name[0]}{'*' * (len(name) - 2)}{name[-1]}"


def mask_account_no(account_no: str) -> str:
    """Only the last four digits stay visible: ****0001."""
    digits = "".join(_DIGITS.findall(account_no))
    return f"****{digits[-4:]}" if digits else "****"


def mask_address(address: str) -> str:
    """Keep county, town and village only: 新乡县七里营镇七里营村3组12号 -> 新乡县七里营镇七里营村.

    Without a village (a town street or the county seat) the first street name is the finest
    level shown, never a house or unit number.
    """
    address = address.strip()
    match = _ADDRESS.match(address)
    if match is None:  # pragma: no cover - the pattern matches any string
        return ""
    county, town, village = match.group("county") or "", match.group("town") or "", match.group("village")
    if village:
        return f"{county}{town}{village}"
    if town and town != "城":
        return f"{county}{town}"
    rest = address[len(county) + len(town) :]
    street = _STREET.match(rest)
    return f"{county}{town}{street.group(0) if street else ''}"
