"""POST /api/v1/identity/verify: 户号 plus one knowledge factor, for the Rasa actions."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, require_service_token
from backend.services import accounts

router = APIRouter(
    prefix="/api/v1/identity", tags=["identity"], dependencies=[Depends(require_service_token)]
)


class VerifyRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "wx-0123456789abcdef01234567",
                    "channel": "wechat",
                    "account_no": "3100000001",
                    "phone_last4": "1234",
                    "name": None,
                }
            ]
        }
    )

    conversation_id: str = Field(min_length=1, max_length=40)
    channel: str = Field(min_length=1, max_length=16)
    account_no: str = Field(max_length=64, description="10 or 13 digits; spaces and dashes allowed")
    phone_last4: str | None = Field(default=None, max_length=16)
    name: str | None = Field(default=None, max_length=64)


class VerifyResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "verified": True,
                    "account_no": "4103100000001",
                    "account_masked": "****0001",
                    "reason": None,
                },
                {"verified": False, "account_no": None, "account_masked": None, "reason": "mismatch"},
            ]
        }
    )

    verified: bool
    account_no: str | None
    account_masked: str | None
    reason: Literal["mismatch", "invalid_account_no", "missing_factor"] | None


@router.post("/verify", response_model=VerifyResponse)
def verify(body: VerifyRequest, session: SessionDep) -> VerifyResponse:
    """Unknown account and wrong factor both answer `mismatch`, so existence is never revealed.
    Every attempt is recorded in the audit chain with masked values only."""
    result = accounts.verify_identity(
        session,
        conversation_id=body.conversation_id,
        channel=body.channel,
        account_no=body.account_no,
        phone_last4=body.phone_last4,
        name=body.name,
    )
    return VerifyResponse(
        verified=result.verified,
        account_no=result.account_no,
        account_masked=result.account_masked,
        reason=result.reason,
    )
