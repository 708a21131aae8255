"""GET /api/v1/accounts/{account_no}/balance: only for a conversation that verified this account."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict

from api.deps import NOT_VERIFIED_MESSAGE, SessionDep, SettingsDep, require_service_token
from backend.clock import ensure_utc
from backend.services import accounts

router = APIRouter(
    prefix="/api/v1/accounts", tags=["accounts"], dependencies=[Depends(require_service_token)]
)

CENT = Decimal("0.01")
INVALID_ACCOUNT_NO_MESSAGE = (
    "户号格式不正确：户号是10位或13位数字。 Invalid account number: it has 10 or 13 digits."
)
NOT_FOUND_MESSAGE = "未找到该户号。 Account not found."


def money(value: Decimal) -> str:
    """Two decimals, never a float on the way."""
    return str(Decimal(value).quantize(CENT))


class BalanceResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_no": "4103100000001",
                    "account_masked": "****0001",
                    "holder_masked": "王*国",
                    "payment_mode": "prepaid",
                    "balance_yuan": "86.50",
                    "arrears_yuan": "0.00",
                    "supply_status": "normal",
                    "suspended_since": None,
                    "address_masked": "新乡县七里营镇七里营村",
                }
            ]
        }
    )

    account_no: str
    account_masked: str
    holder_masked: str
    payment_mode: Literal["prepaid", "postpaid"]
    balance_yuan: str
    arrears_yuan: str
    supply_status: Literal["normal", "suspended_for_arrears"]
    suspended_since: datetime | None
    address_masked: str


class ErrorDetail(BaseModel):
    detail: str


@router.get(
    "/{account_no}/balance",
    response_model=BalanceResponse,
    responses={
        403: {"model": ErrorDetail, "description": "this conversation has not verified this account"},
        404: {"model": ErrorDetail, "description": "unknown account (only reachable after verification)"},
        422: {"model": ErrorDetail, "description": "not a 10- or 13-digit account number"},
    },
)
def balance(
    account_no: str,
    session: SessionDep,
    settings: SettingsDep,
    conversation_id: str = Query(min_length=1, max_length=40),
) -> BalanceResponse:
    try:
        canonical = accounts.normalise_account_no(account_no)
    except accounts.InvalidAccountNo as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, INVALID_ACCOUNT_NO_MESSAGE) from error
    try:
        view = accounts.get_balance(
            session,
            conversation_id=conversation_id,
            account_no=canonical,
            ttl_minutes=settings.verification_ttl_minutes,
        )
    except accounts.NotVerified as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_VERIFIED_MESSAGE) from error
    except accounts.AccountNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND_MESSAGE) from error
    return BalanceResponse(
        account_no=view.account_no,
        account_masked=view.account_masked,
        holder_masked=view.holder_masked,
        payment_mode=view.payment_mode,
        balance_yuan=money(view.balance_yuan),
        arrears_yuan=money(view.arrears_yuan),
        supply_status=view.supply_status,
        suspended_since=ensure_utc(view.suspended_since) if view.suspended_since else None,
        address_masked=view.address_masked,
    )
