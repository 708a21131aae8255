"""Agent replies to WeChat customers through the 客服消息 API (message/custom/send).

The access token is cached until shortly before it expires and refreshed once when WeChat says
it is invalid or expired (40001/40014/42001: another server may have fetched a new one, which
invalidates ours). With REDIS_URL set the token is shared through Redis, so several api processes
do not keep invalidating each other's tokens (WeChat wants one central refresher).
The 48-hour window and the 5-replies-per-message limit are checked before sending
(backend.services.handoff.wechat_reply_window); WeChat's own refusals (45015, 45047) are
translated for the console as well.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx

logger = logging.getLogger(__name__)

TOKEN_SAFETY_MARGIN_SECONDS = 300
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
REDIS_TOKEN_KEY = "kefu:wechat:access_token"
ERROR_REASONS = {
    45015: "客户最后一条消息已超过48小时，微信不允许再主动回复。",
    45047: "已超过微信客服消息条数限制（每条客户消息后最多5条）。",
    43004: "客户已取消关注公众号，无法发送。",
}


class PushFailed(Exception):
    """The reply did not reach WeChat; `reason` is Chinese, for the agent."""

    def __init__(self, reason: str, errcode: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errcode = errcode


class WeChatPush:
    def __init__(
        self,
        api_base: str,
        appid: str,
        secret: str,
        *,
        redis_url: str = "",
        timeout_seconds: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self._appid, self._secret = appid, secret
        self._timeout = timeout_seconds
        self._transport = transport
        self._redis_url = redis_url
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock: asyncio.Lock | None = None
        self.token_fetches = 0  # observable for tests and metrics

    @property
    def configured(self) -> bool:
        return bool(self._appid and self._secret)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.api_base, timeout=self._timeout, transport=self._transport)

    def _get_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _redis_get(self) -> str | None:
        if not self._redis_url:
            return None
        from redis import asyncio as redis_asyncio

        client = redis_asyncio.from_url(self._redis_url, decode_responses=True)  # type: ignore[no-untyped-call]
        try:
            value: str | None = await client.get(REDIS_TOKEN_KEY)
            return value
        finally:
            await client.aclose()

    async def _redis_set(self, token: str, ttl: int) -> None:
        if not self._redis_url:
            return
        from redis import asyncio as redis_asyncio

        client = redis_asyncio.from_url(self._redis_url, decode_responses=True)  # type: ignore[no-untyped-call]
        try:
            await client.set(REDIS_TOKEN_KEY, token, ex=max(1, ttl))
        finally:
            await client.aclose()

    async def access_token(self, *, refresh: bool = False) -> str:
        async with self._get_lock():
            if not refresh and self._token and time.monotonic() < self._expires_at:
                return self._token
            if not refresh:
                shared = await self._redis_get()
                if shared:
                    self._token, self._expires_at = shared, time.monotonic() + 60
                    return shared
            return await self._fetch_token()

    async def _fetch_token(self) -> str:
        if not self.configured:
            raise PushFailed("未配置公众号 WECHAT_APPID / WECHAT_SECRET，无法通过微信发送。")
        try:
            async with self._client() as client:
                response = await client.get(
                    "/cgi-bin/token",
                    params={"grant_type": "client_credential", "appid": self._appid, "secret": self._secret},
                )
                body: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PushFailed("暂时连不上微信服务器，请稍后再发。") from exc
        self.token_fetches += 1
        token = body.get("access_token")
        if not token:
            logger.error("wechat token refused: %s", body)
            raise PushFailed(f"获取微信 access_token 失败（{body.get('errcode')}）。", body.get("errcode"))
        ttl = int(body.get("expires_in") or 7200) - TOKEN_SAFETY_MARGIN_SECONDS
        self._token, self._expires_at = str(token), time.monotonic() + ttl
        await self._redis_set(self._token, ttl)
        return self._token

    async def send_text(self, openid: str, content: str) -> None:
        """Send one text; one retry with a fresh token when WeChat says the token is stale."""
        token = await self.access_token()
        for attempt in range(2):
            body = await self._post_message(token, openid, content)
            errcode = int(body.get("errcode") or 0)
            if errcode == 0:
                return
            if errcode in TOKEN_ERRORS and attempt == 0:
                token = await self.access_token(refresh=True)
                continue
            reason = ERROR_REASONS.get(errcode, f"微信拒绝了这条消息（{errcode} {body.get('errmsg', '')}）。")
            raise PushFailed(reason, errcode)

    async def _post_message(self, token: str, openid: str, content: str) -> dict[str, Any]:
        payload = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        try:
            async with self._client() as client:
                # Literal UTF-8, not \u escapes: WeChat has shown escaped text verbatim to users.
                response = await client.post(
                    "/cgi-bin/message/custom/send",
                    params={"access_token": token},
                    content=json.dumps(payload, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
                body: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PushFailed("暂时连不上微信服务器，请稍后再发。") from exc
        return body
