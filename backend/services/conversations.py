"""Conversations and their one transcript, whatever the channel."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backend.clock import utcnow
from backend.models import Conversation, Message

CHANNEL_PREFIXES = {"wechat": "wx-", "web": "web-", "ivr": "ivr-"}


def external_user_hash(channel: str, external_user_id: str) -> str:
    return hashlib.sha256(f"{channel}:{external_user_id}".encode()).hexdigest()


def conversation_id_for(channel: str, external_user_id: str) -> str:
    """Stable public id (and Rasa sender) that does not reveal the channel's user id."""
    try:
        prefix = CHANNEL_PREFIXES[channel]
    except KeyError:
        raise ValueError(f"unknown channel {channel!r}") from None
    return prefix + external_user_hash(channel, external_user_id)[:24]


def find_conversation(session: Session, conversation_id: str) -> Conversation | None:
    return session.scalars(select(Conversation).where(Conversation.public_id == conversation_id)).first()


def _insert_ignoring_conflict(
    session: Session,
    model: type[Conversation] | type[Message],
    conflict_columns: list[str],
    values: dict[str, Any],
) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the id, or None when a unique key already exists.

    The database settles races (two deliveries of one WeChat message, two first messages of one
    user) without an IntegrityError, so the caller's transaction stays usable and no SAVEPOINT is
    needed (pysqlite commits early on RELEASE of an outermost SAVEPOINT).
    """
    dialect = session.get_bind().dialect.name
    insert_for: Any = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert_for(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
        .returning(model.id)
    )
    new_id: int | None = session.execute(statement).scalar_one_or_none()
    return new_id


def get_or_create_conversation(session: Session, channel: str, external_user_id: str) -> Conversation:
    public_id = conversation_id_for(channel, external_user_id)
    existing = find_conversation(session, public_id)
    if existing is not None:
        return existing
    now = utcnow()
    _insert_ignoring_conflict(
        session,
        Conversation,
        ["public_id"],
        {
            "public_id": public_id,
            "channel": channel,
            "external_user_hash": external_user_hash(channel, external_user_id),
            "status": "bot",
            "created_at": now,
            "updated_at": now,
        },
    )
    conversation = find_conversation(session, public_id)
    if conversation is None:  # pragma: no cover - inserted or found above
        raise RuntimeError(f"conversation {public_id} vanished")
    return conversation


def record_inbound(
    session: Session,
    conversation: Conversation,
    text: str,
    normalised_text: str,
    channel_msg_id: str | None = None,
) -> Message | None:
    """Store a customer message; None when this channel message id was already recorded (a retry)."""
    now = utcnow()
    message_id = _insert_ignoring_conflict(
        session,
        Message,
        ["channel", "channel_msg_id"],
        {
            "conversation_id": conversation.id,
            "channel": conversation.channel,
            "direction": "in",
            "sender": "customer",
            "text": text,
            "normalised_text": normalised_text,
            "channel_msg_id": channel_msg_id,
            "created_at": now,
        },
    )
    if message_id is None:
        return None
    conversation.last_message_at = now
    return session.get(Message, message_id)


def record_outbound(
    session: Session,
    conversation: Conversation,
    texts: Sequence[str],
    sender: str = "bot",
    in_reply_to: Message | int | None = None,
) -> list[Message]:
    reply_to_id = in_reply_to.id if isinstance(in_reply_to, Message) else in_reply_to
    now = utcnow()
    messages = [
        Message(
            conversation_id=conversation.id,
            channel=conversation.channel,
            direction="out",
            sender=sender,
            text=text,
            normalised_text=None,
            in_reply_to=reply_to_id,
            created_at=now,
        )
        for text in texts
    ]
    session.add_all(messages)
    if messages:
        conversation.last_message_at = now
    session.flush()
    return messages


def replies_for(session: Session, channel: str, channel_msg_id: str) -> list[str] | None:
    """Replies already sent for a retried channel message; None if that message was never recorded."""
    inbound_id = session.scalar(
        select(Message.id).where(Message.channel == channel, Message.channel_msg_id == channel_msg_id)
    )
    if inbound_id is None:
        return None
    return list(
        session.scalars(
            select(Message.text)
            .where(Message.in_reply_to == inbound_id, Message.direction == "out")
            .order_by(Message.id)
        )
    )


def transcript(session: Session, conversation_id: str) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .join(Conversation, Message.conversation_id == Conversation.id)
            .where(Conversation.public_id == conversation_id)
            .order_by(Message.id)
        )
    )
