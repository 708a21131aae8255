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

import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker

from api.rasa_client import RasaClient, RasaReply, RasaUnavailable
from backend.db import session_scope
from backend.models import Conversation
from backend.services import conversations

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
HUMAN_WILL_ANSWER_REPLY = "您的消息已收到，人工客服会尽快回复您，请稍候。"
LONG_MESSAGE_NOTE = f"（您的消息较长，以下回答只依据前{MAX_TEXT_FOR_BOT}个字。）"

_BARE_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.、。]?\s*$")


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
        self._payloads: OrderedDict[str, list[str]] = OrderedDict()

    def remember(self, conversation_id: str, replies: Sequence[RasaReply]) -> None:
        payloads = [button.payload for reply in replies for button in reply.buttons]
        if not payloads:
            self._payloads.pop(conversation_id, None)
            return
        self._payloads[conversation_id] = payloads
        self._payloads.move_to_end(conversation_id)
        while len(self._payloads) > self._capacity:
            self._payloads.popitem(last=False)

    def resolve(self, conversation_id: str, text: str) -> str | None:
        match = _BARE_NUMBER.match(text)
        payloads = self._payloads.get(conversation_id)
        if match is None or not payloads:
            return None
        index = int(match.group(1)) - 1
        return payloads[index] if 0 <= index < len(payloads) else None


@dataclass(frozen=True)
class _Intake:
    conversation_pk: int
    conversation_id: str
    status: str
    message_id: int | None  # None: a retry of a message already recorded
    previous_replies: list[str]


class ConversationRouter:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        rasa: RasaClient,
        normalise: Callable[[str], str] = _normalise_text,
    ) -> None:
        self._session_factory = session_factory
        self._rasa = rasa
        self._normalise = normalise
        self._buttons = ButtonMemory()

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

        if intake.status in HUMAN_OWNED_STATUSES:
            replies = [HUMAN_WILL_ANSWER_REPLY]
        else:
            replies = await self._ask_bot(intake.conversation_id, normalised)

        await anyio.to_thread.run_sync(
            self._record_outbound, intake.conversation_pk, intake.message_id, replies
        )
        return replies

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
            self._record_outbound, intake.conversation_pk, intake.message_id, [reply]
        )
        return [reply]

    async def _ask_bot(self, conversation_id: str, normalised: str) -> list[str]:
        if not normalised.strip():
            return [EMPTY_MESSAGE_REPLY]
        truncated = len(normalised) > MAX_TEXT_FOR_BOT
        message = normalised[:MAX_TEXT_FOR_BOT]
        message = self._buttons.resolve(conversation_id, message) or message
        try:
            rasa_replies = await self._rasa.send_message(conversation_id, message)
        except RasaUnavailable as error:
            logger.warning("Rasa unavailable for %s: %s", conversation_id, error)
            return [RASA_UNAVAILABLE_REPLY]
        self._buttons.remember(conversation_id, rasa_replies)
        replies = [rendered for reply in rasa_replies if (rendered := render_reply(reply))]
        if not replies:
            replies = [NO_ANSWER_REPLY]
        if truncated:
            replies = [LONG_MESSAGE_NOTE + "\n" + replies[0], *replies[1:]]
        return replies

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
            )

    def _record_outbound(self, conversation_pk: int, in_reply_to: int, replies: list[str]) -> None:
        with session_scope(self._session_factory) as session:
            conversation = session.get(Conversation, conversation_pk)
            if conversation is None:  # pragma: no cover - conversations are never deleted
                raise LookupError(f"conversation {conversation_pk} vanished")
            conversations.record_outbound(session, conversation, replies, in_reply_to=in_reply_to)
