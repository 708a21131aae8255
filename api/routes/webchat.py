"""Customer web chat: the page at `/`, the widget script, and the WebSocket at /ws/chat.

The server issues the session: a random id in a cookie signed with SESSION_SECRET. The
conversation id is derived from it (conversation_id_for("web", sid)), so a client can neither
choose nor take over another conversation; it has no way to name one. Everything the customer
sees (their own messages, the bot's, an agent's, typing) reaches the socket through the realtime
bus, so several tabs and several api processes show the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from api.db_async import run_db
from api.realtime import Realtime, conversation_topic, message_event, staff_conversation_topic
from api.router import ConversationRouter
from backend.services import conversations
from backend.services import handoff as handoff_service
from backend.settings import Settings

logger = logging.getLogger(__name__)
router = APIRouter(tags=["web chat"])

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
COOKIE_NAME = "kefu_chat"
COOKIE_MAX_AGE = 30 * 24 * 3600
CHANNEL = "web"
MAX_TEXT = 1000
HISTORY_LIMIT = 200
POLICY_VIOLATION = 1008


def sign_session(secret: str, sid: str) -> str:
    mac = hmac.new(secret.encode(), f"webchat:{sid}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{sid}.{mac}"


def verify_session(secret: str, cookie: str | None) -> str | None:
    """The session id if the cookie carries our signature, else None."""
    if not cookie or "." not in cookie:
        return None
    sid = cookie.split(".", 1)[0]
    if not sid or not hmac.compare_digest(sign_session(secret, sid), cookie):
        return None
    return sid


def _settings(connection: Request | WebSocket) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


def _ensure_cookie(request: Request, response: Response) -> None:
    settings = _settings(request)
    if verify_session(settings.session_secret, request.cookies.get(COOKIE_NAME)) is None:
        response.set_cookie(
            COOKIE_NAME,
            sign_session(settings.session_secret, secrets.token_urlsafe(18)),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        )


@router.get("/", include_in_schema=False)
def chat_page(request: Request) -> Response:
    response = FileResponse(WEB_DIR / "chat.html", media_type="text/html; charset=utf-8")
    _ensure_cookie(request, response)
    return response


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> Response:
    return FileResponse(WEB_DIR / "widget.js", media_type="application/javascript; charset=utf-8")


def origin_allowed(connection: WebSocket) -> bool:
    """Cross-site WebSocket hijacking guard: a browser always sends Origin; it must be our host."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True  # not a browser (tests, curl): the cookie is still required
    host = connection.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


def _history(session: Session, conversation_id: str) -> dict[str, Any]:
    messages = conversations.transcript(session, conversation_id)[-HISTORY_LIMIT:]
    conversation = conversations.find_conversation(session, conversation_id)
    status: dict[str, Any] = {"status": conversation.status if conversation else "bot"}
    if conversation is not None:
        handoff = handoff_service.open_handoff(session, conversation.id)
        if handoff is not None and handoff.state == "queued":
            status.update(
                position=handoff_service.position_in_queue(session, handoff),
                wait_minutes=handoff_service.estimated_wait_minutes(session, handoff),
            )
    return {
        "type": "history",
        "messages": [message_event(message, conversation_id) for message in messages],
        **status,
    }


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket) -> None:
    settings = _settings(websocket)
    sid = verify_session(settings.session_secret, websocket.cookies.get(COOKIE_NAME))
    if sid is None or not origin_allowed(websocket):
        await websocket.close(code=POLICY_VIOLATION)
        return
    conversation_id = conversations.conversation_id_for(CHANNEL, sid)
    realtime: Realtime = websocket.app.state.realtime
    conversation_router: ConversationRouter = websocket.app.state.conversation_router
    await websocket.accept()

    async with realtime.subscription() as subscription:
        await subscription.add(conversation_topic(conversation_id))
        await websocket.send_json(await run_db(websocket, lambda s: _history(s, conversation_id)))
        inbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

        async def forward() -> None:
            while True:
                await websocket.send_json(await subscription.get())

        async def answer() -> None:
            # One message at a time, in order, so replies never overtake each other.
            while True:
                text, client_id = await inbox.get()
                msg_id = "web-" + hashlib.sha256(f"{sid}:{client_id}".encode()).hexdigest()[:32]
                try:
                    # Shielded: a reload mid-answer must not lose the reply (history shows it).
                    await asyncio.shield(conversation_router.handle_inbound(CHANNEL, sid, text, msg_id))
                except Exception:
                    logger.exception("web chat: failed to handle a message of %s", conversation_id)
                    await websocket.send_json(
                        {"type": "error", "text": "抱歉，消息处理失败，请稍后再试，或拨打95598供电服务热线。"}
                    )

        tasks = [asyncio.create_task(forward()), asyncio.create_task(answer())]
        try:
            while True:
                frame = json.loads(await websocket.receive_text())
                kind = frame.get("type")
                if kind == "message":
                    text = str(frame.get("text") or "").strip()[:MAX_TEXT]
                    client_id = str(frame.get("client_id") or secrets.token_hex(8))[:64]
                    if text:
                        await inbox.put((text, client_id))
                elif kind == "typing":
                    await realtime.publish(
                        staff_conversation_topic(conversation_id), {"type": "typing", "who": "customer"}
                    )
        except (WebSocketDisconnect, ValueError, RuntimeError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
