"""SQLAlchemy 2.0 typed models. Money is Decimal (Numeric 12,2); datetimes are timezone-aware UTC."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from backend.clock import ensure_utc, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back an aware datetime, also on SQLite which keeps no offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        utc_value = ensure_utc(value)
        return utc_value.replace(tzinfo=None) if dialect.name == "sqlite" else utc_value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)


Money = Numeric(12, 2, asdecimal=True)
Kwh = Numeric(12, 2, asdecimal=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        Decimal: Money,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


# ---------------------------------------------------------------- customers, accounts, usage, bills


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(32))  # residential | general_commercial | agricultural
    business_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    accounts: Mapped[list[Account]] = relationship(back_populates="customer")


class Account(Base):
    """One electricity account (户). Both numbers identify it: 13-digit current and 10-digit legacy."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_no: Mapped[str] = mapped_column(String(13), unique=True)
    legacy_no: Mapped[str | None] = mapped_column(String(10), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    address: Mapped[str] = mapped_column(String(255))
    town: Mapped[str] = mapped_column(String(64), index=True)
    village: Mapped[str | None] = mapped_column(String(64))
    area_type: Mapped[str] = mapped_column(String(16))  # rural | urban | remote
    category: Mapped[str] = mapped_column(String(32))
    tariff_code: Mapped[str] = mapped_column(String(64))
    tou_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    tou_share: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payment_mode: Mapped[str] = mapped_column(String(16))  # prepaid | postpaid
    balance_yuan: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    arrears_yuan: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    supply_status: Mapped[str] = mapped_column(String(32), default="normal")  # normal | suspended_for_arrears
    suspended_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="accounts")
    meters: Mapped[list[Meter]] = relationship(back_populates="account")


class Meter(Base):
    __tablename__ = "meters"

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_no: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # single_phase | three_phase
    smart_prepay: Mapped[bool] = mapped_column(Boolean, default=True)
    installed_on: Mapped[date | None] = mapped_column(Date)

    account: Mapped[Account] = relationship(back_populates="meters")


class MonthlyUsage(Base):
    __tablename__ = "monthly_usage"
    __table_args__ = (UniqueConstraint("account_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    period: Mapped[date] = mapped_column(Date)  # first day of the month
    kwh: Mapped[Decimal] = mapped_column(Kwh)
    peak_kwh: Mapped[Decimal | None] = mapped_column(Kwh)
    flat_kwh: Mapped[Decimal | None] = mapped_column(Kwh)
    valley_kwh: Mapped[Decimal | None] = mapped_column(Kwh)
    pv_feed_in_kwh: Mapped[Decimal | None] = mapped_column(Kwh)


class Bill(Base):
    __tablename__ = "bills"
    __table_args__ = (UniqueConstraint("account_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    period: Mapped[date] = mapped_column(Date)
    kwh: Mapped[Decimal] = mapped_column(Kwh)
    amount_yuan: Mapped[Decimal] = mapped_column(Money)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON)
    tariff_code: Mapped[str] = mapped_column(String(64))
    due_date: Mapped[date] = mapped_column(Date)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_yuan: Mapped[Decimal] = mapped_column(Money)
    channel: Mapped[str] = mapped_column(String(32))  # e.g. wechat | counter | app
    reference: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- outages and faults


class PlannedOutage(Base):
    __tablename__ = "planned_outages"

    id: Mapped[int] = mapped_column(primary_key=True)
    area: Mapped[str] = mapped_column(String(64), index=True)
    villages: Mapped[list[Any]] = mapped_column(JSON)
    line: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(255))
    notice_date: Mapped[date] = mapped_column(Date)
    # Outages (issue 5, backend/services/outages.py; migration 0003).
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled | cancelled
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)


class ActiveFault(Base):
    __tablename__ = "active_faults"

    id: Mapped[int] = mapped_column(primary_key=True)
    area: Mapped[str] = mapped_column(String(64), index=True)
    villages: Mapped[list[Any]] = mapped_column(JSON)
    started_at: Mapped[datetime]
    cause: Mapped[str] = mapped_column(String(255))
    expected_restore_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | restored
    # Outages (issue 5, backend/services/outages.py; migration 0003).
    restored_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)


class ServiceHall(Base):
    __tablename__ = "service_halls"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    address: Mapped[str] = mapped_column(String(255))
    hours: Mapped[str] = mapped_column(String(128))


# ---------------------------------------------------------------- applications and tickets


class ServiceApplication(Base):
    __tablename__ = "service_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_no: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    business_type: Mapped[str] = mapped_column(String(32))  # 新装 | 增容 | 过户 | 光伏并网 ...
    address: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    current_step: Mapped[str] = mapped_column(String(128))
    next_step: Mapped[str | None] = mapped_column(String(255))
    submitted_at: Mapped[datetime]
    # Tracking (issue 6, backend/services/applications.py; migration 0004). Nullable: seeded rows
    # predate them and are read through their legacy status.
    conversation_id: Mapped[str | None] = mapped_column(String(40), index=True)
    channel: Mapped[str | None] = mapped_column(String(16))
    supply_class: Mapped[str | None] = mapped_column(String(32))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    step_started_at: Mapped[datetime | None]
    step_due_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    overdue_flagged_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    # The scheduler scans open orders by status (migration 0005).
    __table_args__ = (Index("ix_tickets_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # repair | complaint | feedback | application
    category: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(40), index=True)
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Work-order lifecycle (issue 7, backend/services/workorders.py; migration 0005).
    channel: Mapped[str | None] = mapped_column(String(16))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    related_ticket_no: Mapped[str | None] = mapped_column(String(32), index=True)
    previous_assignee: Mapped[str | None] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(Text)
    contact_due_at: Mapped[datetime | None]
    answer_due_at: Mapped[datetime | None]
    contacted_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    contact_sla: Mapped[str] = mapped_column(String(16), default="ok")  # ok | at_risk | breached | met
    answer_sla: Mapped[str] = mapped_column(String(16), default="ok")
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[str | None] = mapped_column(String(16))
    rated_at: Mapped[datetime | None]


# ---------------------------------------------------------------- conversations and transcript


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "wx-…", also the Rasa sender id
    channel: Mapped[str] = mapped_column(String(16))  # wechat | web | ivr
    external_user_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="bot")  # bot | queued | agent | closed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_message_at: Mapped[datetime | None]
    # Handoff (issue 8, migration 0006): where an agent's reply goes when it cannot be a passive
    # reply (the WeChat openid for the 客服消息 API); empty for web chat, which is pushed live.
    reply_address: Mapped[str | None] = mapped_column(String(64))

    messages: Mapped[list[Message]] = relationship(back_populates="conversation", order_by="Message.id")


class Message(Base):
    __tablename__ = "messages"
    # A channel retries a message with the same id (WeChat: MsgId) when we answer slowly.
    __table_args__ = (UniqueConstraint("channel", "channel_msg_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    sender: Mapped[str] = mapped_column(String(16))  # customer | bot | agent | system
    text: Mapped[str] = mapped_column(Text)
    normalised_text: Mapped[str | None] = mapped_column(Text)
    channel_msg_id: Mapped[str | None] = mapped_column(String(64))
    in_reply_to: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Handoff (issue 8, migration 0006): the agent's name shown to the customer, and the bot's
    # buttons kept for web chat quick replies when history is restored.
    sender_name: Mapped[str | None] = mapped_column(String(64))
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class IdentityVerification(Base):
    __tablename__ = "identity_verifications"
    __table_args__ = (Index("ix_identity_verifications_lookup", "conversation_id", "account_no", "success"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    # Canonical number only on success; a failed attempt keeps the masked form so guesses are not stored.
    account_no: Mapped[str | None] = mapped_column(String(13))
    account_masked: Mapped[str | None] = mapped_column(String(16))
    success: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str | None] = mapped_column(String(16))  # phone_last4 | name
    reason: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- numbering


class NumberSequence(Base):
    """Daily counter behind work-order and application numbers (backend.services.numbering)."""

    __tablename__ = "number_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD, Asia/Shanghai
    last: Mapped[int] = mapped_column(Integer)


# ---------------------------------------------------------------- audit chain


class AuditEvent(Base):
    """Append-only; UPDATE and DELETE are refused by database triggers (see the initial migration)."""

    __tablename__ = "audit_events"

    # Assigned by backend.services.audit under the chain lock so ids have no gaps and are hashed.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
