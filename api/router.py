"""The conversation router: every channel's inbound text goes through here.

It decides who answers (the bot, or nobody yet because a human owns the conversation), keeps the
one transcript per conversation, and guarantees an answer even when Rasa is down or slow.

Database work runs in short transactions in a worker thread, never across the Rasa call: a
SQLite write lock held for seconds would stall every other conversation, and the inbound message
must be stored (and a channel retry recognised) before we wait on Rasa.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker

from api.rasa_client import RasaClient, RasaReply, RasaUnavailable
from api.realtime import QUEUE_TOPIC, Realtime, conversation_topic, message_event
from backend.db import session_scope
from backend.models import Conversation, Message
from backend.services import conversations
from backend.services import handoff as handoff_service

try:
    from backend.textnorm import normalise as _normalise_text
except ImportError:  # pragma: no cover - only while backend/textnorm.py is being written

    def _normalise_text(text: str) -> str:
        return text


logger = logging.getLogger(__name__)

MAX_TEXT_FOR_BOT = 500
# While a person queues for or talks to an agent the bot stays silent (design.md).
HUMAN_OWNED_STATUSES = frozenset({"queued", "agent"})
# Remember the last offered buttons for this many conversations (in-process; see ButtonMemory).
BUTTON_MEMORY_SIZE = 10_000

RASA_UNAVAILABLE_REPLY = "抱歉，系统暂时繁忙，请稍后再试，或拨打95598供电服务热线。"
NO_ANSWER_REPLY = "抱歉，这个问题我暂时回答不了。您可以换个说法再问，或拨打95598供电服务热线。"
EMPTY_MESSAGE_REPLY = "您好，请问有什么可以帮您？可以直接发文字告诉我，例如“查电费余额”。"
HUMAN_WILL_ANSWER_REPLY = handoff_service.AGENT_WILL_ANSWER_REPLY
HANDOFF_WITHOUT_BOT_REPLY = (
    "智能客服暂时不可用，正在为您转接人工客服，请稍候。着急的话也可以拨打95598供电服务热线。"
)
LONG_MESSAGE_NOTE = f"（您的消息较长，以下回答只依据前{MAX_TEXT_FOR_BOT}个字。）"

_BARE_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.、。]?\s*$")
# With Rasa down nobody can understand "转人工": the router recognises it itself and queues.
_ASKS_FOR_HUMAN = re.compile(r"转人工|人工客服|人工服务|找人工|真人|/request_human")


def render_reply(reply: RasaReply) -> str | None:
    """Text plus buttons as numbered lines ("1. 标题"): WeChat text messages have no buttons."""
    lines = [reply.text] if reply.text else []
    lines.extend(f"{number}. {button.title}" for number, button in enumerate(reply.buttons, start=1))
    return "\n".join(lines) if lines else None


class ButtonMemory:
    """Maps a bare number the customer types ("2") to the payload of the button it names.

    In-process and bounded: it only has to survive the few seconds to minutes between offering a
    choice and the answer. With several api replicas the number is simply sent as typed.
    """

    def __init__(self, capacity: int = BUTTON_MEMORY_SIZE) -> None:
        self._capacity = capacity
        self._payloads: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()

    def remember(self, conversation_id: str, replies: Sequence[RasaReply]) -> None:
        payloads = [(button.title, button.payload) for reply in replies for button in reply.buttons]
        if not payloads:
            self._payloads.pop(conversation_id, None)
            return
        self._payloads[conversation_id] = payloads
        self._payloads.move_to_end(conversation_id)
        while len(self._payloads) > self._capacity:
            self._payloads.popitem(last=False)

    def resolve(self, conversation_id: str, text: str) -> str | None:
        """A bare number, or (web chat quick replies send the title) a button's exact title."""
        payloads = self._payloads.get(conversation_id)
        if not payloads:
            return None
        match = _BARE_NUMBER.match(text)
        if match is None:
            return next((payload for title, payload in payloads if title == text.strip()), None)
        index = int(match.group(1)) - 1
        return payloads[index][1] if 0 <= index < len(payloads) else None


@dataclass(frozen=True)
class _Intake:
    conversation_pk: int
    conversation_id: str
    status: str
    message_id: int | None  # None: a retry of a message already recorded
    previous_replies: list[str]
    inbound_event: dict[str, Any] | None = None


@dataclass(frozen=True)
class Outgoing:
    """One answer to store and send: web chat keeps buttons apart, WeChat gets them as lines."""

    text: str
    buttons: tuple[dict[str, str], ...] = ()
    sender: str = "bot"


@dataclass(frozen=True)
class _Stored:
    events: list[dict[str, Any]]
    handoff_started: bool


class ConversationRouter:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        rasa: RasaClient,
        normalise: Callable[[str], str] = _normalise_text,
        realtime: Realtime | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._rasa = rasa
        self._normalise = normalise
        self._buttons = ButtonMemory()
        self._realtime = realtime

    async def _publish(self, topic: str, event: dict[str, Any]) -> None:
        if self._realtime is not None:
            await self._realtime.publish(topic, event)

    async def handle_inbound(
        self,
        channel: str,
        external_user_id: str,
        text: str,
        channel_msg_id: str | None = None,
    ) -> list[str]:
        """Record the message, get the answer(s), record them; returns the texts to send.

        A retry of an already recorded channel message returns what was answered the first time
        ([] if that answer is still being prepared) and is neither recorded nor answered again.
        """
        normalised = self._normalise(text)
        intake = await anyio.to_thread.run_sync(
            self._record_inbound, channel, external_user_id, text, normalised, channel_msg_id
        )
        if intake.message_id is None:
            logger.info("duplicate %s message %s ignored", channel, channel_msg_id)
            return intake.previous_replies
        if intake.inbound_event is not None:
            await self._publish(conversation_topic(intake.conversation_id), intake.inbound_event)

        handoff_marker: dict[str, Any] | None = None
        if intake.status in HUMAN_OWNED_STATUSES:
            outgoing = await anyio.to_thread.run_sync(self._human_replies, intake.conversation_pk, normalised)
        else:
            if channel == "web":
                await self._publish(
                    conversation_topic(intake.conversation_id), {"type": "typing", "who": "bot", "on": True}
                )
            outgoing, handoff_marker = await self._ask_bot(
                intake.conversation_id, normalised, render_buttons=channel != "web"
            )

        stored = await anyio.to_thread.run_sync(
            self._record_outbound,
            intake.conversation_pk,
            intake.message_id,
            outgoing,
            handoff_marker,
            external_user_id if channel == "wechat" else None,
        )
        for event in stored.events:
            await self._publish(conversation_topic(intake.conversation_id), event)
        if stored.handoff_started:
            await self._publish(QUEUE_TOPIC, {"type": "queue_changed"})
        return [event["text"] for event in stored.events]

    async def record_direct_answer(
        self,
        channel: str,
        external_user_id: str,
        inbound_text: str,
        reply: str,
        channel_msg_id: str | None = None,
    ) -> list[str]:
        """For what the bot cannot read (an image, an unrecognised voice): keep a placeholder in the
        transcript so an agent sees it arrived, and answer with a fixed text. Retries as above."""
        intake = await anyio.to_thread.run_sync(
            self._record_inbound, channel, external_user_id, inbound_text, inbound_text, channel_msg_id
        )
        if intake.message_id is None:
            return intake.previous_replies
        await anyio.to_thread.run_sync(
            self._record_outbound, intake.conversation_pk, intake.message_id, [Outgoing(reply)], None, None
        )
        return [reply]

    def _human_replies(self, conversation_pk: int, normalised: str) -> list[Outgoing]:
        with session_scope(self._session_factory) as session:
            conversation = session.get(Conversation, conversation_pk)
            if conversation is None:  # pragma: no cover - conversations are never deleted
                raise LookupError(f"conversation {conversation_pk} vanished")
            texts = handoff_service.reply_while_human(session, conversation, normalised)
            return [Outgoing(text, sender="system") for text in texts]

    async def _ask_bot(
        self, conversation_id: str, normalised: str, *, render_buttons: bool = True
    ) -> tuple[list[Outgoing], dict[str, Any] | None]:
        """The bot's answers, and the handoff an action asked for (a custom payload), if any."""
        if not normalised.strip():
            return [Outgoing(EMPTY_MESSAGE_REPLY)], None
        truncated = len(normalised) > MAX_TEXT_FOR_BOT
        message = normalised[:MAX_TEXT_FOR_BOT]
        message = self._buttons.resolve(conversation_id, message) or message
        try:
            rasa_replies = await self._rasa.send_message(conversation_id, message)
        except RasaUnavailable as error:
            logger.warning("Rasa unavailable for %s: %s", conversation_id, error)
            if _ASKS_FOR_HUMAN.search(message):
                offline: dict[str, Any] = {"reason": "backend_unavailable", "registered": False}
                offline["summary"] = {"last_message": message}
                return [Outgoing(HANDOFF_WITHOUT_BOT_REPLY)], offline
            return [Outgoing(RASA_UNAVAILABLE_REPLY)], None
        self._buttons.remember(conversation_id, rasa_replies)
        markers = [_dict_or_none((r.custom or {}).get("handoff")) for r in rasa_replies]
        marker = next((m for m in markers if m is not None), None)
        replies: list[Outgoing] = []
        for reply in rasa_replies:
            if render_buttons:
                rendered = render_reply(reply)
                if rendered:
                    replies.append(Outgoing(rendered))
            elif reply.text or reply.buttons:
                buttons = tuple({"title": b.title, "payload": b.payload} for b in reply.buttons)
                replies.append(Outgoing(reply.text or "", buttons))
        if not replies and marker is None:
            replies = [Outgoing(NO_ANSWER_REPLY)]
        if truncated and replies:
            first = replies[0]
            replies[0] = Outgoing(LONG_MESSAGE_NOTE + "\n" + first.text, first.buttons, first.sender)
        return replies, marker

    def _record_inbound(
        self,
        channel: str,
        external_user_id: str,
        text: str,
        normalised: str,
        channel_msg_id: str | None,
    ) -> _Intake:
        with session_scope(self._session_factory) as session:
            conversation = conversations.get_or_create_conversation(session, channel, external_user_id)
            if channel == "wechat" and conversation.status in HUMAN_OWNED_STATUSES:
                # Agents answer through the 客服消息 API, which needs the openid itself; it is kept
                # only while people own the conversation (cleared at hand-back and close).
                conversation.reply_address = external_user_id
            message = conversations.record_inbound(session, conversation, text, normalised, channel_msg_id)
            previous: list[str] = []
            if message is None and channel_msg_id is not None:
                previous = conversations.replies_for(session, channel, channel_msg_id) or []
            session.flush()
            return _Intake(
                conversation_pk=conversation.id,
                conversation_id=conversation.public_id,
                status=conversation.status,
                message_id=message.id if message is not None else None,
                previous_replies=previous,
                inbound_event=message_event(message, conversation.public_id) if message is not None else None,
            )

    def _record_outbound(
        self,
        conversation_pk: int,
        in_reply_to: int,
        replies: list[Outgoing],
        handoff_marker: dict[str, Any] | None,
        reply_address: str | None,
    ) -> _Stored:
        """Store the answers; act on a handoff an action asked for, even if its own call to the
        business API failed (the action server may not reach api/ while the router can)."""
        with session_scope(self._session_factory) as session:
            conversation = session.get(Conversation, conversation_pk)
            if conversation is None:  # pragma: no cover - conversations are never deleted
                raise LookupError(f"conversation {conversation_pk} vanished")
            replies = list(replies)
            handoff_started = False
            if handoff_marker is not None:
                handoff_started = True
                conversation.reply_address = reply_address
                handoff = handoff_service.request_handoff(
                    session,
                    conversation.public_id,
                    reason=_known(handoff_marker.get("reason"), handoff_service.REASONS, "customer_request"),
                    priority=_known(handoff_marker.get("priority"), ("hazard", "urgent", "normal"), None),
                    summary=_dict_or_none(handoff_marker.get("summary")),
                    actor="system:router",
                )
                if not handoff_marker.get("registered"):
                    replies.append(Outgoing(handoff_service.queued_reply(session, handoff), sender="system"))
            stored: list[Message] = []
            for reply in replies:
                message = conversations.record_outbound(
                    session, conversation, [reply.text], sender=reply.sender, in_reply_to=in_reply_to
                )[0]
                if reply.buttons:
                    message.buttons = [dict(button) for button in reply.buttons]
                stored.append(message)
            session.flush()
            return _Stored(
                events=[message_event(message, conversation.public_id) for message in stored],
                handoff_started=handoff_started,
            )


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _known(value: Any, allowed: Sequence[str], default: str | None) -> Any:
    return value if isinstance(value, str) and value in allowed else default

