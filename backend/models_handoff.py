"""Tables of human handoff and the agent console (issue 8).

Columns on core tables (messages.sender_name, messages.buttons, conversations.reply_address) live
in backend/models.py; both come from migration 0006.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.models import Base


class Handoff(Base):
    """One stay of a conversation with people: queued, then with an agent, then returned or closed.

    `queued_at` is the customer's original wait start and is never reset by a transfer (the
    Chatwoot lesson: an SLA clock restarted at each hop hides how long people really wait).
    """

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_open_queue", "state", "queue", "priority_rank", "queued_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_pk: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(40), index=True)  # public id ("wx-…")
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # queued | agent | returned | closed
    queue: Mapped[str] = mapped_column(String(32), default="general")
    priority: Mapped[str] = mapped_column(String(16), default="normal")  # hazard | urgent | normal
    priority_rank: Mapped[int] = mapped_column(Integer, default=2)  # 0 first
    reason: Mapped[str] = mapped_column(String(32))
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    callback_phone: Mapped[str | None] = mapped_column(String(20))
    close_summary: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class HandoffNote(Base):
    """An internal note: kept apart from `messages` so that no customer-facing query can see it."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_pk: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # agent | supervisor | admin
    queue: Mapped[str] = mapped_column(String(32), default="general")
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffSession(Base):
    """A console login. Only the SHA-256 of the cookie value is stored, so a database leak yields
    no usable session."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_pk: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


__all__ = ["Handoff", "HandoffNote", "StaffAccount", "StaffSession"]
