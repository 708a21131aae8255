"""Agent console API (/agent/api/...) and its live WebSocket (/agent/ws).

Login sets an HttpOnly, SameSite=Strict session cookie; every state-changing request must also
carry the session's CSRF token in `X-CSRF-Token` (double submit, checked in constant time).
Roles: an agent sees their own queue and what is assigned to them; supervisors and admins see
every queue. Notes go to the staff-only topic and table; they never reach a customer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Depends,
    HTTPException,
    Request,
    Response,
    WebSocket,
    WebSocketDisconnect,
    status,
)
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.db_async import run_db
from api.rasa_client import RasaClient, RasaUnavailable
from api.realtime import QUEUE_TOPIC, Realtime, conversation_topic, message_event, staff_conversation_topic
from api.routes.webchat import WEB_DIR, origin_allowed
from api.wechat_push import PushFailed, WeChatPush
from backend.clock import utcnow
from backend.masking import mask_phone
from backend.models import Conversation
from backend.models_handoff import Handoff
from backend.services import conversations, staff, workorder_staff, workorders
from backend.services import handoff as handoff_service
from backend.settings import Settings

logger = logging.getLogger(__name__)
STAFF_COOKIE = "kefu_staff"
CSRF_HEADER = "X-CSRF-Token"
POLICY_VIOLATION = 1008

page_router = APIRouter(tags=["agent console"])
router = APIRouter(prefix="/agent/api", tags=["agent console"])


@page_router.get("/agent", include_in_schema=False)
def console_page() -> Response:
    return FileResponse(WEB_DIR / "agent.html", media_type="text/html; charset=utf-8")


# ---------------------------------------------------------------- authentication


async def current_staff(request: Request) -> staff.StaffIdentity:
    token = request.cookies.get(STAFF_COOKIE)
    identity = await run_db(request, lambda s: staff.identify(s, token))
    if identity is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "请先登录")
    return identity


async def staff_with_csrf(
    request: Request, identity: Annotated[staff.StaffIdentity, Depends(current_staff)]
) -> staff.StaffIdentity:
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented or not hmac.compare_digest(presented.encode(), identity.csrf_token.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF 校验失败，请刷新页面后重试")
    return identity


StaffDep = Annotated[staff.StaffIdentity, Depends(current_staff)]
ActingStaffDep = Annotated[staff.StaffIdentity, Depends(staff_with_csrf)]


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def _me(identity: staff.StaffIdentity) -> dict[str, Any]:
    return {
        "username": identity.username,
        "display_name": identity.display_name,
        "role": identity.role,
        "queue": identity.queue,
        "csrf_token": identity.csrf_token,
    }


@router.post("/login")
async def login(body: LoginRequest, request: Request, response: Response) -> dict[str, Any]:
    settings: Settings = request.app.state.settings

    def work(session: Session) -> tuple[str, staff.StaffIdentity] | str:
        try:
            account = staff.authenticate(session, body.username, body.password)
        except staff.AccountLocked as exc:
            return "locked:" + exc.until.isoformat()
        except staff.LoginFailed:
            return "failed"
        token, _csrf = staff.open_session(session, account)
        identity = staff.identify(session, token)
        assert identity is not None
        return token, identity

    # Failures are committed too (the failure count and audit must survive the refusal).
    outcome = await run_db(request, work)
    if outcome == "failed":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "用户名或密码错误")
    if isinstance(outcome, str):
        raise HTTPException(status.HTTP_423_LOCKED, "连续登录失败次数过多，账号已临时锁定，请15分钟后再试")
    token, identity = outcome
    response.set_cookie(
        STAFF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        max_age=staff.SESSION_HOURS * 3600,
        path="/agent",
    )
    return _me(identity)


@router.post("/logout")
async def logout(request: Request, response: Response, identity: ActingStaffDep) -> dict[str, str]:
    token = request.cookies.get(STAFF_COOKIE, "")
    await run_db(request, lambda s: staff.close_session(s, token))
    response.delete_cookie(STAFF_COOKIE, path="/agent")
    return {"status": "logged_out"}


@router.get("/me")
async def me(identity: StaffDep) -> dict[str, Any]:
    return _me(identity)


# ---------------------------------------------------------------- queue and conversations


def _handoff_json(session: Session, handoff: Handoff, now: datetime) -> dict[str, Any]:
    return {
        "handoff_id": handoff.id,
        "conversation_id": handoff.conversation_id,
        "channel": handoff.channel,
        "state": handoff.state,
        "queue": handoff.queue,
        "queue_label": handoff_service.config().queues.get(handoff.queue, handoff.queue),
        "priority": handoff.priority,
        "reason": handoff.reason,
        "assigned_to": handoff.assigned_to,
        "waiting_seconds": handoff_service.waiting_seconds(handoff, now),
        "position": handoff_service.position_in_queue(session, handoff),
        "wait_minutes": handoff_service.estimated_wait_minutes(session, handoff, now=now),
        "summary": handoff.summary,
        "summary_line": handoff_service.summary_for_transcript(handoff.summary),
        "callback_phone": mask_phone(handoff.callback_phone) if handoff.callback_phone else None,
        "queued_at": handoff.queued_at.isoformat(),
    }


@router.get("/queue")
async def queue(request: Request, identity: StaffDep) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        now = utcnow()
        queues = handoff_service.visible_queues(identity.role, identity.queue)
        items = handoff_service.list_open(session, queues=queues, username=identity.username)
        return {
            "queues": handoff_service.config().queues,
            "visible_queues": queues,
            "items": [_handoff_json(session, h, now) for h in items],
        }

    return await run_db(request, work)


def _deny_unless_supervisor(identity: staff.StaffIdentity) -> None:
    if not identity.at_least("supervisor"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "需要班长（supervisor）权限")


@router.get("/supervisor")
async def supervisor_overview(request: Request, identity: StaffDep) -> dict[str, Any]:
    _deny_unless_supervisor(identity)

    def work(session: Session) -> dict[str, Any]:
        now = utcnow()
        items = handoff_service.list_open(session, queues=None)
        per_queue: dict[str, dict[str, Any]] = {
            key: {"label": label, "queued": 0, "with_agent": 0, "longest_wait_seconds": 0}
            for key, label in handoff_service.config().queues.items()
        }
        for handoff in items:
            entry = per_queue.setdefault(
                handoff.queue,
                {"label": handoff.queue, "queued": 0, "with_agent": 0, "longest_wait_seconds": 0},
            )
            entry["queued" if handoff.state == "queued" else "with_agent"] += 1
            if handoff.state == "queued":
                entry["longest_wait_seconds"] = max(
                    entry["longest_wait_seconds"], handoff_service.waiting_seconds(handoff, now)
                )
        orders = []
        for ticket in workorder_staff.list_orders(session, limit=50):
            deadline = workorders.next_deadline(ticket)
            if deadline is None:
                continue
            orders.append(
                {
                    "ticket_no": ticket.ticket_no,
                    "kind": ticket.kind,
                    "status": ticket.status,
                    "status_label": workorders.STATE_LABELS.get(ticket.status, ticket.status),
                    "priority": ticket.priority,
                    "deadline": deadline[0],
                    "due_at": deadline[1].isoformat(),
                    "overdue": deadline[1] < now,
                    "summary": ticket.summary[:60],
                }
            )
        orders.sort(key=lambda o: str(o["due_at"]))
        return {
            "queues": per_queue,
            "items": [_handoff_json(session, h, now) for h in items],
            "work_orders": orders,
        }

    return await run_db(request, work)


def _accessible(
    session: Session, identity: staff.StaffIdentity, conversation_id: str
) -> tuple[Conversation, Handoff | None]:
    conversation = conversations.find_conversation(session, conversation_id)
    if conversation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "会话不存在")
    handoff = handoff_service.latest_handoff(session, conversation.id)
    if identity.at_least("supervisor"):
        return conversation, handoff
    if handoff is None or not handoff_service.may_access(
        handoff, role=identity.role, username=identity.username, own_queue=identity.queue
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "无权查看其他队列的会话")
    return conversation, handoff


@router.get("/conversations/{conversation_id}")
async def conversation_detail(conversation_id: str, request: Request, identity: StaffDep) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        conversation, handoff = _accessible(session, identity, conversation_id)
        return {
            "conversation_id": conversation.public_id,
            "channel": conversation.channel,
            "status": conversation.status,
            "handoff": _handoff_json(session, handoff, utcnow()) if handoff else None,
            "messages": [
                message_event(m, conversation.public_id)
                for m in conversations.transcript(session, conversation.public_id)
            ],
            "notes": [
                {
                    "id": n.id,
                    "author": n.author,
                    "name": n.author_name,
                    "text": n.text,
                    "at": n.created_at.isoformat(),
                }
                for n in handoff_service.notes(session, conversation.id)
            ],
            "reply_window": handoff_service.wechat_reply_window(session, conversation).__dict__,
        }

    return await run_db(request, work)


def _own_open_handoff(
    session: Session, identity: staff.StaffIdentity, handoff_id: int, *, must_own: bool
) -> Handoff:
    try:
        handoff = handoff_service.get_handoff(session, handoff_id)
    except handoff_service.HandoffNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "转人工记录不存在") from exc
    _accessible(session, identity, handoff.conversation_id)
    if must_own and handoff.assigned_to != identity.username and not identity.at_least("supervisor"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "该会话由其他客服接待")
    return handoff


async def _announce(request: Request, conversation_id: str, events: list[dict[str, Any]]) -> None:
    realtime: Realtime = request.app.state.realtime
    for event in events:
        await realtime.publish(conversation_topic(conversation_id), event)
    await realtime.publish(QUEUE_TOPIC, {"type": "queue_changed"})


def _state_errors(exc: Exception) -> HTTPException:
    if isinstance(exc, handoff_service.InvalidHandoffState):
        return HTTPException(status.HTTP_409_CONFLICT, "会话状态已变化（可能已被其他客服接入），请刷新")
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc))


@router.post("/handoffs/{handoff_id}/claim")
async def claim(handoff_id: int, request: Request, identity: ActingStaffDep) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        _own_open_handoff(session, identity, handoff_id, must_own=False)
        try:
            handoff = handoff_service.claim(
                session, handoff_id, username=identity.username, actor=identity.actor
            )
        except (handoff_service.InvalidHandoffState, ValueError) as exc:
            raise _state_errors(exc) from exc
        return _handoff_json(session, handoff, utcnow())

    result = await run_db(request, work)
    await _announce(
        request,
        result["conversation_id"],
        [
            {
                "type": "status",
                "status": "agent",
                "agent": identity.display_name,
                "text": f"客服{identity.display_name}已为您服务。",
            },
        ],
    )
    return result


class TextBody(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


@router.post("/conversations/{conversation_id}/messages")
async def reply(
    conversation_id: str, body: TextBody, request: Request, identity: ActingStaffDep
) -> dict[str, Any]:
    def check(session: Session) -> tuple[str, str | None]:
        conversation, handoff = _accessible(session, identity, conversation_id)
        if handoff is None or handoff.state != "agent":
            raise HTTPException(status.HTTP_409_CONFLICT, "请先接入该会话再回复")
        if handoff.assigned_to != identity.username and not identity.at_least("supervisor"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "该会话由其他客服接待")
        if conversation.channel == "ivr":
            raise HTTPException(status.HTTP_409_CONFLICT, "热线转写会话无法文字回复，请电话回访客户")
        window = handoff_service.wechat_reply_window(session, conversation)
        if not window.allowed:
            raise HTTPException(status.HTTP_409_CONFLICT, window.reason)
        return conversation.channel, conversation.reply_address

    channel, address = await run_db(request, check)
    if channel == "wechat":
        push: WeChatPush = request.app.state.wechat_push
        if not address:
            raise HTTPException(status.HTTP_409_CONFLICT, "缺少客户的微信标识，无法发送")
        try:
            await push.send_text(address, body.text)
        except PushFailed as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, exc.reason) from exc

    def record(session: Session) -> dict[str, Any]:
        message = handoff_service.record_agent_reply(
            session, conversation_id, text=body.text, agent_name=identity.display_name
        )
        session.flush()
        return message_event(message, conversation_id)

    event = await run_db(request, record)
    realtime: Realtime = request.app.state.realtime
    await realtime.publish(conversation_topic(conversation_id), event)
    return event


@router.post("/conversations/{conversation_id}/notes")
async def add_note(
    conversation_id: str, body: TextBody, request: Request, identity: ActingStaffDep
) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        _accessible(session, identity, conversation_id)
        note = handoff_service.add_note(
            session, conversation_id, author=identity.actor, author_name=identity.display_name, text=body.text
        )
        return {
            "type": "note",
            "id": note.id,
            "author": note.author,
            "name": note.author_name,
            "text": note.text,
            "at": note.created_at.isoformat(),
        }

    event = await run_db(request, work)
    realtime: Realtime = request.app.state.realtime
    await realtime.publish(staff_conversation_topic(conversation_id), event)  # never the customer's topic
    return event


class TransferBody(BaseModel):
    to_queue: str | None = Field(default=None, max_length=32)
    to_agent: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=500)


@router.post("/handoffs/{handoff_id}/transfer")
async def transfer(
    handoff_id: int, body: TransferBody, request: Request, identity: ActingStaffDep
) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        _own_open_handoff(session, identity, handoff_id, must_own=True)
        if body.to_agent is not None:
            target = staff.find_staff(session, body.to_agent)
            if target is None or not target.active:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "没有这个客服")
        try:
            handoff = handoff_service.transfer(
                session,
                handoff_id,
                actor=identity.actor,
                to_queue=body.to_queue,
                to_agent=body.to_agent,
                note=body.note,
            )
        except (handoff_service.InvalidHandoffState, ValueError) as exc:
            raise _state_errors(exc) from exc
        return _handoff_json(session, handoff, utcnow())

    result = await run_db(request, work)
    await _announce(request, result["conversation_id"], [])
    return result


async def _resume_bot(request: Request, conversation_id: str) -> None:
    settings: Settings = request.app.state.settings
    rasa: RasaClient = request.app.state.rasa
    try:
        await rasa.resume_conversation(conversation_id, settings.rasa_api_token)
    except RasaUnavailable as exc:
        logger.warning("could not resume Rasa conversation %s: %s", conversation_id, exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "智能客服暂时不可用，暂不能交回机器人，请继续人工服务或结束会话",
        ) from exc


@router.post("/handoffs/{handoff_id}/hand-back")
async def hand_back(handoff_id: int, request: Request, identity: ActingStaffDep) -> dict[str, Any]:
    def check(session: Session) -> str:
        handoff = _own_open_handoff(session, identity, handoff_id, must_own=True)
        return handoff.conversation_id

    conversation_id = await run_db(request, check)
    await _resume_bot(request, conversation_id)  # first: if Rasa is down the customer stays with people

    def work(session: Session) -> list[dict[str, Any]]:
        try:
            handoff_service.hand_back(session, handoff_id, actor=identity.actor)
        except handoff_service.InvalidHandoffState as exc:
            raise _state_errors(exc) from exc
        last = conversations.transcript(session, conversation_id)[-1]
        return [{"type": "status", "status": "bot"}, message_event(last, conversation_id)]

    events = await run_db(request, work)
    await _announce(request, conversation_id, events)
    return {"status": "bot", "conversation_id": conversation_id}


class CloseBody(BaseModel):
    summary: str = Field(min_length=1, max_length=2000)


@router.post("/handoffs/{handoff_id}/close")
async def close(
    handoff_id: int, body: CloseBody, request: Request, identity: ActingStaffDep
) -> dict[str, Any]:
    def check(session: Session) -> str:
        return _own_open_handoff(session, identity, handoff_id, must_own=True).conversation_id

    conversation_id = await run_db(request, check)
    # The next message after a close goes to the bot, so Rasa must not stay paused. If Rasa is
    # down the close still happens: the router answers with its fallback until Rasa is back.
    settings: Settings = request.app.state.settings
    with contextlib.suppress(RasaUnavailable):
        await request.app.state.rasa.resume_conversation(conversation_id, settings.rasa_api_token)

    def work(session: Session) -> list[dict[str, Any]]:
        try:
            handoff_service.close(session, handoff_id, actor=identity.actor, summary=body.summary)
        except (handoff_service.InvalidHandoffState, ValueError) as exc:
            raise _state_errors(exc) from exc
        last = conversations.transcript(session, conversation_id)[-1]
        return [{"type": "status", "status": "closed"}, message_event(last, conversation_id)]

    events = await run_db(request, work)
    await _announce(request, conversation_id, events)
    return {"status": "closed", "conversation_id": conversation_id}


# ---------------------------------------------------------------- customer panel, canned, staff


@router.get("/conversations/{conversation_id}/customer")
async def customer(conversation_id: str, request: Request, identity: StaffDep) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        _accessible(session, identity, conversation_id)
        return handoff_service.customer_panel(session, conversation_id, actor=identity.actor)

    return await run_db(request, work)


class UnmaskBody(BaseModel):
    reason: str = Field(min_length=2, max_length=200)


@router.post("/conversations/{conversation_id}/customer/unmask")
async def unmask(
    conversation_id: str, body: UnmaskBody, request: Request, identity: ActingStaffDep
) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        _accessible(session, identity, conversation_id)
        try:
            return handoff_service.customer_panel(
                session, conversation_id, actor=identity.actor, unmask_reason=body.reason
            )
        except LookupError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "该会话没有已验证的户号") from exc

    return await run_db(request, work)


@router.get("/canned")
async def canned(identity: StaffDep) -> dict[str, Any]:
    return {"responses": handoff_service.canned_responses()}


@router.get("/staff")
async def staff_list(request: Request, identity: StaffDep) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        return {
            "staff": [
                {"username": a.username, "display_name": a.display_name, "role": a.role, "queue": a.queue}
                for a in staff.list_staff(session)
            ],
            "queues": handoff_service.config().queues,
        }

    return await run_db(request, work)


# ---------------------------------------------------------------- work orders from the conversation


class WorkOrderBody(BaseModel):
    kind: Literal["repair", "complaint", "report", "suggestion", "praise", "service_request"]
    category: str = Field(min_length=1, max_length=64)
    summary: str = Field(min_length=1, max_length=2000)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"


def _ticket_json(ticket: Any) -> dict[str, Any]:
    deadline = workorders.next_deadline(ticket)
    return {
        "ticket_no": ticket.ticket_no,
        "kind": ticket.kind,
        "status": ticket.status,
        "status_label": workorders.STATE_LABELS.get(ticket.status, ticket.status),
        "priority": ticket.priority,
        "summary": ticket.summary,
        "allowed_actions": workorders.allowed_actions(ticket.status),
        "deadline": deadline[0] if deadline else None,
        "due_at": deadline[1].isoformat() if deadline else None,
    }


@router.get("/conversations/{conversation_id}/workorders")
async def conversation_orders(conversation_id: str, request: Request, identity: StaffDep) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        _accessible(session, identity, conversation_id)
        from sqlalchemy import select

        from backend.models import Ticket

        tickets = session.scalars(
            select(Ticket).where(Ticket.conversation_id == conversation_id).order_by(Ticket.id)
        )
        return {"orders": [_ticket_json(t) for t in tickets], "actions": workorders.ACTION_LABELS}

    return await run_db(request, work)


@router.post("/conversations/{conversation_id}/workorders")
async def create_order(
    conversation_id: str, body: WorkOrderBody, request: Request, identity: ActingStaffDep
) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        conversation, handoff = _accessible(session, identity, conversation_id)
        account = handoff_service.verified_account(session, conversation_id)
        try:
            ticket = workorders.create_work_order(
                session,
                kind=body.kind,
                category=body.category,
                summary=body.summary,
                channel=conversation.channel,
                actor=identity.actor,
                account_id=account.id if account else None,
                conversation_id=conversation_id,
                priority=body.priority,
                contact_phone=handoff.callback_phone if handoff else None,
            )
        except workorders.WorkOrderError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
        return _ticket_json(ticket)

    return await run_db(request, work)


class TransitionBody(BaseModel):
    action: str = Field(min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=1000)


@router.post("/conversations/{conversation_id}/workorders/{ticket_no}/transition")
async def advance_order(
    conversation_id: str, ticket_no: str, body: TransitionBody, request: Request, identity: ActingStaffDep
) -> dict[str, Any]:
    def work(session: Session) -> dict[str, Any]:
        _accessible(session, identity, conversation_id)
        ticket = workorders.get_work_order(session, ticket_no)
        if ticket is None or ticket.conversation_id != conversation_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "该会话没有这个工单")
        try:
            ticket = workorder_staff.staff_transition(
                session, ticket_no, body.action, role=identity.role, actor=identity.actor, note=body.note
            )
        except workorder_staff.ActionNotPermitted as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "当前角色不能执行该操作") from exc
        except workorders.WorkOrderError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        return _ticket_json(ticket)

    return await run_db(request, work)


# ---------------------------------------------------------------- live updates


@router.websocket("/ws")
async def console_socket(websocket: WebSocket) -> None:
    """Pushes queue changes and the watched conversation (messages, notes, typing).
    Client frames: {"type":"watch","conversation_id":...} and {"type":"typing"}."""
    token = websocket.cookies.get(STAFF_COOKIE)
    identity = await run_db(websocket, lambda s: staff.identify(s, token))
    if identity is None or not origin_allowed(websocket):
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    realtime: Realtime = websocket.app.state.realtime
    watched: str | None = None
    async with realtime.subscription() as subscription:
        await subscription.add(QUEUE_TOPIC)

        async def forward() -> None:
            while True:
                await websocket.send_json(await subscription.get())

        task = asyncio.create_task(forward())
        try:
            while True:
                frame = json.loads(await websocket.receive_text())
                if frame.get("type") == "watch":
                    wanted = str(frame.get("conversation_id") or "")

                    def check(session: Session, wanted: str = wanted) -> bool:
                        try:
                            _accessible(session, identity, wanted)
                        except HTTPException:
                            return False
                        return True

                    if not await run_db(websocket, check):
                        await websocket.send_json({"type": "error", "text": "无权查看该会话"})
                        continue
                    if watched:
                        await subscription.remove(conversation_topic(watched))
                        await subscription.remove(staff_conversation_topic(watched))
                    watched = wanted
                    await subscription.add(conversation_topic(watched))
                    await subscription.add(staff_conversation_topic(watched))
                    await websocket.send_json({"type": "watching", "conversation_id": watched})
                elif frame.get("type") == "typing" and watched:
                    await realtime.publish(
                        conversation_topic(watched),
                        {"type": "typing", "who": "agent", "name": identity.display_name},
                    )
        except (WebSocketDisconnect, ValueError, RuntimeError):
            pass
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
