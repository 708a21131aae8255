from __future__ import annotations

import hashlib
import threading
import time

import pytest
from sqlalchemy import func, select

from backend.models import Conversation, Message
from backend.services.conversations import (
    conversation_id_for,
    get_or_create_conversation,
    record_inbound,
    record_outbound,
    replies_for,
    transcript,
)


def test_conversation_ids_per_channel():
    digest = hashlib.sha256(b"wechat:openid-123").hexdigest()[:24]
    assert conversation_id_for("wechat", "openid-123") == "wx-" + digest
    assert conversation_id_for("web", "s1").startswith("web-")
    assert conversation_id_for("ivr", "call-9").startswith("ivr-")
    assert len(conversation_id_for("ivr", "call-9")) == len("ivr-") + 24
    assert conversation_id_for("web", "a") != conversation_id_for("web", "b")
    assert conversation_id_for("web", "a") != conversation_id_for("ivr", "a")[1:]
    with pytest.raises(ValueError, match="unknown channel"):
        conversation_id_for("sms", "x")


def test_get_or_create_returns_the_same_conversation(session, unique_id):
    first = get_or_create_conversation(session, "wechat", unique_id)
    session.commit()
    again = get_or_create_conversation(session, "wechat", unique_id)
    assert again.id == first.id
    assert first.public_id == conversation_id_for("wechat", unique_id)
    assert first.status == "bot"
    assert unique_id not in first.external_user_hash  # the raw openid is not stored
    count = session.scalar(
        select(func.count()).select_from(Conversation).where(Conversation.public_id == first.public_id)
    )
    assert count == 1


def test_transcript_in_order_with_replies_linked(session, unique_id):
    conversation = get_or_create_conversation(session, "web", unique_id)
    inbound = record_inbound(session, conversation, "查下点费", "查下电费", channel_msg_id=None)
    assert inbound is not None
    replies = record_outbound(session, conversation, ["请提供户号。", "也可以转人工。"], in_reply_to=inbound)
    session.commit()
    messages = transcript(session, conversation.public_id)
    assert [(m.direction, m.sender, m.text) for m in messages] == [
        ("in", "customer", "查下点费"),
        ("out", "bot", "请提供户号。"),
        ("out", "bot", "也可以转人工。"),
    ]
    assert messages[0].normalised_text == "查下电费"
    assert all(r.in_reply_to == inbound.id for r in replies)
    assert conversation.last_message_at is not None


def test_wechat_retry_is_recorded_once_and_gets_the_same_replies(session, unique_id):
    conversation = get_or_create_conversation(session, "wechat", unique_id)
    msg_id = f"msg-{unique_id}"
    assert replies_for(session, "wechat", msg_id) is None
    first = record_inbound(session, conversation, "停电了", "停电了", channel_msg_id=msg_id)
    assert first is not None
    assert replies_for(session, "wechat", msg_id) == []  # recorded, still being answered
    record_outbound(session, conversation, ["请问您在哪个村？"], in_reply_to=first.id)
    session.commit()

    assert record_inbound(session, conversation, "停电了", "停电了", channel_msg_id=msg_id) is None
    assert replies_for(session, "wechat", msg_id) == ["请问您在哪个村？"]
    stored = session.scalar(select(func.count()).select_from(Message).where(Message.channel_msg_id == msg_id))
    assert stored == 1
    assert replies_for(session, "web", msg_id) is None  # ids are per channel


def test_concurrent_retry_loses_on_the_unique_constraint(session_factory, unique_id):
    """Two deliveries of one message: the second passes the duplicate check while the first is not yet
    committed, then waits on the database and must come back as a retry, not as an error."""
    msg_id = f"race-{unique_id}"
    with session_factory() as setup:
        get_or_create_conversation(setup, "wechat", unique_id)
        setup.commit()
    outcome: dict[str, object] = {}

    def second_delivery() -> None:
        with session_factory() as second:
            conversation = get_or_create_conversation(second, "wechat", unique_id)
            try:
                outcome["result"] = record_inbound(
                    second, conversation, "你好", "你好", channel_msg_id=msg_id
                )
                second.commit()
            except Exception as error:  # pragma: no cover - reported by the assertion below
                outcome["error"] = error

    with session_factory() as first:
        conversation = get_or_create_conversation(first, "wechat", unique_id)
        assert record_inbound(first, conversation, "你好", "你好", channel_msg_id=msg_id) is not None
        thread = threading.Thread(target=second_delivery)
        thread.start()
        time.sleep(0.5)  # let the second delivery reach the insert and wait on the first's lock
        first.commit()
        thread.join(timeout=20)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"] is None
    with session_factory() as check:
        stored = select(func.count()).select_from(Message).where(Message.channel_msg_id == msg_id)
        assert check.scalar(stored) == 1
