"""Tables of the applications capability (issue 6). Columns on `service_applications` live in
backend/models.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.models import Base


class ApplicationStepEvent(Base):
    """One step an application went through: when it started and ended, who moved it on and why.

    The audit chain holds the same facts tamper-evidently; this table is for reading a history
    quickly. `notice_message_id` is the transcript message that told the customer, when a
    conversation was known to send it to.
    """

    __tablename__ = "application_step_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("service_applications.id"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    notice_message_id: Mapped[int | None] = mapped_column(Integer)
