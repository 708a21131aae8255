"""Async client for Rasa's REST channel (`/webhooks/rest/webhook`) and its health endpoint."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_TIMEOUT_SECONDS = 3.5


class RasaUnavailable(Exception):
    """Rasa could not answer: connection refused, timeout, non-2xx status or an unreadable body."""


@dataclass(frozen=True)
class RasaButton:
    title: str
    payload: str


@dataclass(frozen=True)
class RasaReply:
    """One bot message from the REST channel. Images and custom payloads are not used yet."""

    text: str | None
    buttons: tuple[RasaButton, ...] = field(default_factory=tuple)
    # A custom payload (dispatcher.utter_message(json_message=...)); e.g. {"handoff": {...}}
    # from action_handoff, which the router acts on and never shows to the customer.
    custom: dict[str, Any] | None = None


def _parse_replies(data: Any) -> list[RasaReply]:
    if not isinstance(data, list):
        raise RasaUnavailable(f"unexpected Rasa response: {type(data).__name__}, expected a list")
    replies: list[RasaReply] = []
    for item in data:
        if not isinstance(item, dict):
            continue
        text = item.get("text")
        buttons = tuple(
            RasaButton(title=str(button.get("title", "")), payload=str(button.get("payload", "")))
            for button in item.get("buttons") or []
            if isinstance(button, dict)
        )
        custom = item.get("custom")
        replies.append(
            RasaReply(
                text=text if isinstance(text, str) else None,
                buttons=buttons,
                custom=custom if isinstance(custom, dict) else None,
            )
        )
    return replies


class RasaClient:
    """Talks to one Rasa server.

    A fresh httpx client per call: the calls go over loopback, and a pooled client would be tied
    to the event loop it was first used on (each TestClient and each uvicorn worker has its own).
    """

    def __init__(
        self,
        base_url: str,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.timeout_seconds, connect=min(1.0, self.timeout_seconds)),
            transport=self._transport,
        )

    async def send_message(self, sender: str, message: str) -> list[RasaReply]:
        """Post one user message; the whole exchange is bounded by timeout_seconds."""
        try:
            # httpx timeouts apply per network operation; this bounds the total, which is what
            # the WeChat 5-second deadline needs.
            async with asyncio.timeout(self.timeout_seconds), self._client() as client:
                response = await client.post(
                    "/webhooks/rest/webhook", json={"sender": sender, "message": message}
                )
                response.raise_for_status()
                data = response.json()
        except TimeoutError as exc:
            raise RasaUnavailable(f"Rasa did not answer within {self.timeout_seconds} s") from exc
        except httpx.HTTPStatusError as exc:
            raise RasaUnavailable(f"Rasa answered HTTP {exc.response.status_code}") from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"Rasa unreachable: {type(exc).__name__}: {exc}") from exc
        return _parse_replies(data)

    async def resume_conversation(self, sender: str, api_token: str) -> None:
        """Undo the ConversationPaused of a handoff through Rasa's token-protected HTTP API."""
        try:
            async with asyncio.timeout(self.timeout_seconds), self._client() as client:
                response = await client.post(
                    f"/conversations/{sender}/tracker/events",
                    params={"token": api_token, "include_events": "NONE"},
                    # After the pause no action_listen was logged; without one the policies see
                    # "action_handoff, then a user message", which no rule covers (core fallback).
                    json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}],
                )
                response.raise_for_status()
        except TimeoutError as exc:
            raise RasaUnavailable(f"Rasa did not answer within {self.timeout_seconds} s") from exc
        except httpx.HTTPStatusError as exc:
            raise RasaUnavailable(f"Rasa answered HTTP {exc.response.status_code}") from exc
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"Rasa unreachable: {type(exc).__name__}: {exc}") from exc

    async def is_healthy(self) -> bool:
        """True when Rasa's root endpoint answers 2xx ("Hello from Rasa")."""
        try:
            async with asyncio.timeout(self.timeout_seconds), self._client() as client:
                response = await client.get("/")
        except (TimeoutError, httpx.HTTPError):
            return False
        return response.is_success
