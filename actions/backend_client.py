"""The one shared async client that actions use to reach the business API (api/).

Why one module: every action talks to the backend the same way (bearer token,
explicit timeouts, the same error mapping), and one aiohttp session is reused so
connections are pooled instead of opened per call. Timeouts stay far below
Rasa's 60 s lock lifetime so a slow backend never stalls a conversation.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp

DEFAULT_BACKEND_URL = "http://127.0.0.1:8000"
DEFAULT_SERVICE_TOKEN = "dev-service-token"

CONNECT_TIMEOUT_SECONDS = 2.0
TOTAL_TIMEOUT_SECONDS = 5.0


class BackendError(Exception):
    """Base class: the backend did not give us a usable answer."""


class BackendUnavailable(BackendError):
    """Connection refused, timeout, 5xx, or an answer we cannot parse."""


class BackendRejected(BackendError):
    """A 4xx status that is not one of the typed cases below (e.g. 401: bad token)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"backend answered {status}: {detail}")
        self.status = status
        self.detail = detail


class NotVerified(BackendRejected):
    """403: this conversation has not verified this account (or it expired)."""


class AccountNotFound(BackendRejected):
    """404: unknown account (only reachable after a successful verification)."""


class InvalidRequest(BackendRejected):
    """422: the request did not pass the API's validation."""


_TYPED_STATUS: dict[int, type[BackendRejected]] = {
    403: NotVerified,
    404: AccountNotFound,
    422: InvalidRequest,
}


@dataclass(frozen=True)
class VerificationResult:
    verified: bool
    account_no: str | None
    account_masked: str | None
    reason: str | None


@dataclass(frozen=True)
class Balance:
    account_no: str
    account_masked: str
    holder_masked: str
    payment_mode: str
    balance_yuan: Decimal
    arrears_yuan: Decimal
    supply_status: str
    suspended_since: datetime | None
    address_masked: str | None
    # Dated, configured wording on how supply is restored; used verbatim when present.
    restore_hint: str | None = None

    @property
    def is_suspended(self) -> bool:
        return self.supply_status != "normal"


def _parse_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _balance_from_json(body: Mapping[str, Any]) -> Balance:
    return Balance(
        account_no=str(body["account_no"]),
        account_masked=str(body["account_masked"]),
        holder_masked=str(body["holder_masked"]),
        payment_mode=str(body["payment_mode"]),
        # Amounts travel as strings; Decimal(str) keeps them exact.
        balance_yuan=Decimal(str(body["balance_yuan"])),
        arrears_yuan=Decimal(str(body["arrears_yuan"])),
        supply_status=str(body["supply_status"]),
        suspended_since=_parse_datetime(body.get("suspended_since")),
        address_masked=body.get("address_masked"),
        restore_hint=body.get("restore_hint") or None,
    )


class BackendClient:
    """Typed calls to the business API. Create once; see `get_backend_client()`."""

    def __init__(self, base_url: str | None = None, token: str | None = None) -> None:
        # None means "read the environment at call time", so a deployment (or a test)
        # can point the running action server elsewhere without re-importing.
        self._base_url = base_url
        self._token = token
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    @property
    def base_url(self) -> str:
        url = self._base_url or os.environ.get("BACKEND_URL") or DEFAULT_BACKEND_URL
        return url.rstrip("/")

    @property
    def token(self) -> str:
        return self._token or os.environ.get("SERVICE_TOKEN") or DEFAULT_SERVICE_TOKEN

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        # A session belongs to the loop it was created on; the action server has one
        # loop for its lifetime, but test runners may start a new loop per test.
        if self._session is None or self._session.closed or self._session_loop is not loop:
            timeout = aiohttp.ClientTimeout(
                total=TOTAL_TIMEOUT_SECONDS,
                sock_connect=CONNECT_TIMEOUT_SECONDS,
                connect=CONNECT_TIMEOUT_SECONDS,
            )
            self._session = aiohttp.ClientSession(timeout=timeout)
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        self._session_loop = None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        session = self._get_session()
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with session.request(
                method, f"{self.base_url}{path}", json=json_body, params=params, headers=headers
            ) as response:
                status = response.status
                text = await response.text()
                body: Any = None
                if text:
                    try:
                        body = await response.json(content_type=None)
                    except ValueError:
                        body = None
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise BackendUnavailable(f"{method} {path}: {exc!r}") from exc

        if status >= 500:
            raise BackendUnavailable(f"{method} {path}: status {status}")
        if not 200 <= status < 300:
            detail = str(body.get("detail")) if isinstance(body, dict) else text[:200]
            raise _TYPED_STATUS.get(status, BackendRejected)(status, detail)
        if not isinstance(body, dict):
            raise BackendUnavailable(f"{method} {path}: unexpected body {text[:200]!r}")
        return body

    async def verify_identity(
        self,
        *,
        conversation_id: str,
        channel: str,
        account_no: str,
        phone_last4: str | None = None,
        name: str | None = None,
    ) -> VerificationResult:
        body = await self._request(
            "POST",
            "/api/v1/identity/verify",
            json_body={
                "conversation_id": conversation_id,
                "channel": channel,
                "account_no": account_no,
                "phone_last4": phone_last4,
                "name": name,
            },
        )
        try:
            return VerificationResult(
                verified=body["verified"] is True,
                account_no=body.get("account_no"),
                account_masked=body.get("account_masked"),
                reason=body.get("reason"),
            )
        except KeyError as exc:
            raise BackendUnavailable(f"verify: malformed answer {body!r}") from exc

    async def get_balance(self, *, account_no: str, conversation_id: str) -> Balance:
        body = await self._request(
            "GET",
            f"/api/v1/accounts/{account_no}/balance",
            params={"conversation_id": conversation_id},
        )
        try:
            return _balance_from_json(body)
        except (KeyError, ArithmeticError, ValueError) as exc:
            raise BackendUnavailable(f"balance: malformed answer {body!r}") from exc


_shared_client: BackendClient | None = None


def get_backend_client() -> BackendClient:
    """The process-wide client; created on first use, never at import time."""
    global _shared_client
    if _shared_client is None:
        _shared_client = BackendClient()
    return _shared_client
