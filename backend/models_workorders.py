"""Tables of the work-order capability (issue 7). Columns on `tickets` live in backend/models.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.models import Base


class SupervisorNotification(Base):
    """The supervisor queue: one row per thing a supervisor must look at.

    The unique key makes the scheduler idempotent even when several copies run at once: a second
    copy that reaches the same order at the same stage fails to insert and changes nothing.
    `cycle` is the order's reopen count, so a reopened order can breach (and be reported) again.
    """

    __tablename__ = "supervisor_notifications"
    __table_args__ = (UniqueConstraint("ticket_id", "reason", "deadline", "cycle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    ticket_no: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))  # at_risk | breached | reopened | unsatisfied
    deadline: Mapped[str] = mapped_column(String(16))  # contact | answer | none
    cycle: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
