"""POST /api/v1/handoff: the action server hands a conversation to people, with a summary."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from api.db_async import run_db
from api.deps import require_service_token
from api.realtime import QUEUE_TOPIC, Realtime
from backend.services import handoff as handoff_service

router = APIRouter(prefix="/api/v1/handoff", tags=["handoff"], dependencies=[Depends(require_service_token)])

Reason = Literal[
    "customer_request", "fallback", "verification_failed", "angry_complaint", "hazard", "backend_unavailable"
]


class HandoffSummary(BaseModel):
    intents: list[str] = Field(default_factory=list, max_length=50)
    slots: dict[str, Any] = Field(default_factory=dict)
    account_masked: str | None = Field(default=None, max_length=16)
    last_message: str | None = Field(default=None, max_length=500)


class HandoffRequest(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=40)
    channel: str = Field(min_length=1, max_length=16)
    reason: Reason
    priority: Literal["hazard", "urgent", "normal"] | None = None
    summary: HandoffSummary = Field(default_factory=HandoffSummary)


class HandoffResponse(BaseModel):
    handoff_id: int
    state: str
    queue: str
    priority: str
    position: int
    wait_minutes: int
    message: str = Field(description="what to tell the customer (Chinese)")


@router.post("", response_model=HandoffResponse)
async def request_handoff(body: HandoffRequest, request: Request) -> HandoffResponse:
    def work(session: Any) -> HandoffResponse:
        try:
            handoff = handoff_service.request_handoff(
                session,
                body.conversation_id,
                reason=body.reason,
                priority=body.priority,
                summary=body.summary.model_dump(),
                actor="bot",
            )
        except handoff_service.ConversationNotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown conversation") from exc
        return HandoffResponse(
            handoff_id=handoff.id,
            state=handoff.state,
            queue=handoff.queue,
            priority=handoff.priority,
            position=handoff_service.position_in_queue(session, handoff),
            wait_minutes=handoff_service.estimated_wait_minutes(session, handoff),
            message=handoff_service.queued_reply(session, handoff) if handoff.state == "queued" else "",
        )

    response = await run_db(request, work)
    realtime: Realtime = request.app.state.realtime
    await realtime.publish(QUEUE_TOPIC, {"type": "queue_changed"})
    return response
