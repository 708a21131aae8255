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

    async def get_info(self, path: str) -> Mapping[str, Any]:
        """GET a public information endpoint (/api/v1/info/service, /api/v1/info/tariffs)."""
        return await self._request("GET", path)

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

    # ---------------------------------------------------------------- outages, repairs, hazards (issue 5)
    # Plain JSON mappings: the shapes are those of api/routes/outages.py and api/routes/repairs.py.

    async def search_outages(
        self,
        *,
        place: str | None = None,
        account_no: str | None = None,
        conversation_id: str | None = None,
        day: str | None = None,
        days: int = 1,
    ) -> Mapping[str, Any]:
        """What covers a place (customer's words) or a verified account's address; day is YYYY-MM-DD."""
        params: dict[str, str] = {}
        if place:
            params["place"] = place
        if account_no and conversation_id:
            params.update(account_no=account_no, conversation_id=conversation_id)
        if day:
            params.update(day=day, days=str(days))
        return await self._request("GET", "/api/v1/outages/search", params=params)

    async def report_fault(self, **body: Any) -> Mapping[str, Any]:
        """POST /api/v1/repairs; body: conversation_id, channel, address|account_no, fault_type, ..."""
        return await self._request("POST", "/api/v1/repairs", json_body=body)

    async def report_hazard(self, **body: Any) -> Mapping[str, Any]:
        """POST /api/v1/hazards; body: conversation_id, channel, location, description, contact_phone."""
        return await self._request("POST", "/api/v1/hazards", json_body=body)

    async def get_repair(self, *, ticket_no: str, conversation_id: str) -> Mapping[str, Any]:
        return await self._request(
            "GET", f"/api/v1/repairs/{ticket_no}", params={"conversation_id": conversation_id}
        )

    # ------------------------------------------------------ bills, usage, payments, tariffs (issue 4)
    # Plain JSON mappings: the shapes are those of api/routes/billing.py (amounts as strings).

    async def get_bill(
        self, *, account_no: str, conversation_id: str, period: str | None = None
    ) -> Mapping[str, Any]:
        """The bill of `period` (YYYY-MM) or the latest, with its comparison; 403 unless verified."""
        params = {"conversation_id": conversation_id}
        if period:
            params["period"] = period
        return await self._request("GET", f"/api/v1/accounts/{account_no}/bills", params=params)

    async def get_usage(
        self, *, account_no: str, conversation_id: str, start: str | None = None, end: str | None = None
    ) -> Mapping[str, Any]:
        params = {"conversation_id": conversation_id}
        if start:
            params["start"] = start
        if end:
            params["end"] = end
        return await self._request("GET", f"/api/v1/accounts/{account_no}/usage", params=params)

    async def get_tariff_comparison(self, *, account_no: str, conversation_id: str) -> Mapping[str, Any]:
        path = f"/api/v1/accounts/{account_no}/tariff-comparison"
        return await self._request("GET", path, params={"conversation_id": conversation_id})

    async def get_payment_status(self, *, account_no: str, conversation_id: str) -> Mapping[str, Any]:
        path = f"/api/v1/accounts/{account_no}/payment-status"
        return await self._request("GET", path, params={"conversation_id": conversation_id})

    async def get_service_info(self) -> Mapping[str, Any]:
        return await self._request("GET", "/api/v1/info/service")

    # ---------------------------------------------------------------- work orders (issue 7)
    # Plain JSON mappings: the shapes are those of api/routes/workorders.py (WorkOrderOut).

    async def lodge_work_order(self, **body: Any) -> Mapping[str, Any]:
        """POST /api/v1/workorders; body: conversation_id, channel, kind, category, summary,
        account_no?, contact_phone?, contact_time?, related_ticket_no?, details?"""
        return await self._request("POST", "/api/v1/workorders", json_body=body)

    async def list_work_orders(
        self, *, conversation_id: str, account_no: str | None = None
    ) -> list[Mapping[str, Any]]:
        params = {"conversation_id": conversation_id}
        if account_no:
            params["account_no"] = account_no
        body = await self._request("GET", "/api/v1/workorders", params=params)
        orders = body.get("orders")
        if not isinstance(orders, list):
            raise BackendUnavailable(f"work orders: malformed answer {body!r}")
        return orders

    async def get_work_order(self, *, ticket_no: str, conversation_id: str) -> Mapping[str, Any]:
        """404 (AccountNotFound) when unknown or not this customer's."""
        return await self._request(
            "GET", f"/api/v1/workorders/{ticket_no}", params={"conversation_id": conversation_id}
        )

    async def rate_work_order(
        self, *, ticket_no: str, conversation_id: str, channel: str, rating: str
    ) -> Mapping[str, Any]:
        return await self._request(
            "POST",
            f"/api/v1/workorders/{ticket_no}/rating",
            json_body={"conversation_id": conversation_id, "channel": channel, "rating": rating},
        )

    # ---------------------------------------------------------------- applications (issue 6)
    # Plain JSON mappings: the shapes are those of api/routes/applications.py (ApplicationOut).

    async def get_application_types(self) -> Mapping[str, Any]:
        """Types with fields, documents, steps and time limits (config/applications.yml)."""
        return await self._request("GET", "/api/v1/applications/types")

    async def create_application(self, **body: Any) -> Mapping[str, Any]:
        """POST /api/v1/applications; body: conversation_id, channel, business_type, confirmed,
        account_no?, address?, supply_class?, contact_phone?, capacity_kw?, new_holder_name?,
        preferred_survey_time?. 403 (NotVerified) for an account this conversation did not verify."""
        return await self._request("POST", "/api/v1/applications", json_body=body)

    async def get_application(self, *, application_no: str, conversation_id: str) -> Mapping[str, Any]:
        """404 (AccountNotFound) when unknown or not this customer's."""
        return await self._request(
            "GET", f"/api/v1/applications/{application_no}", params={"conversation_id": conversation_id}
        )

    async def list_applications(
        self, *, conversation_id: str, account_no: str | None = None
    ) -> list[Mapping[str, Any]]:
        params = {"conversation_id": conversation_id}
        if account_no:
            params["account_no"] = account_no
        body = await self._request("GET", "/api/v1/applications", params=params)
        found = body.get("applications")
        if not isinstance(found, list):
            raise BackendUnavailable(f"applications: malformed answer {body!r}")
        return found

    async def nearest_hall(self, *, place: str | None) -> Mapping[str, Any]:
        return await self._request(
            "GET", "/api/v1/applications/nearest-hall", params={"place": place} if place else None
        )

    # ---------------------------------------------------------------- handoff (issue 8)
    # The shape is that of api/routes/handoff.py (HandoffResponse).

    async def request_handoff(
        self,
        *,
        conversation_id: str,
        channel: str,
        reason: str,
        summary: Mapping[str, Any],
        priority: str | None = None,
    ) -> Mapping[str, Any]:
        """POST /api/v1/handoff -> handoff_id, state, queue, priority, position, wait_minutes, message."""
        body: dict[str, Any] = {
            "conversation_id": conversation_id,
            "channel": channel,
            "reason": reason,
            "summary": dict(summary),
        }
        if priority:
            body["priority"] = priority
        return await self._request("POST", "/api/v1/handoff", json_body=body)


_shared_client: BackendClient | None = None


def get_backend_client() -> BackendClient:
    """The process-wide client; created on first use, never at import time."""
    global _shared_client
    if _shared_client is None:
        _shared_client = BackendClient()
    return _shared_client
