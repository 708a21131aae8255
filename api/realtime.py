"""Live events for the web chat and the agent console: Redis pub/sub when REDIS_URL is set, else
in-process queues.

With several api processes a customer's WebSocket and the agent's may live in different
processes; only a shared bus (Redis) gets an agent's reply to the customer then. Without Redis
(one process, `make run`) the in-process bus is enough. Topics:
`conv:<id>` what the customer may see; `staff:conv:<id>` notes and customer typing (console only);
`staff:queue` "the queue changed, fetch it again".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from backend.models import Message

logger = logging.getLogger(__name__)

QUEUE_TOPIC = "staff:queue"
SUBSCRIBER_BUFFER = 256


def conversation_topic(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


def staff_conversation_topic(conversation_id: str) -> str:
    return f"staff:conv:{conversation_id}"


def message_event(message: Message, conversation_id: str) -> dict[str, Any]:
    """A transcript line as both the chat page and the console render it."""
    return {
        "type": "message",
        "conversation_id": conversation_id,
        "id": message.id,
        "sender": message.sender,
        "name": message.sender_name,
        "text": message.text,
        "buttons": message.buttons or [],
        "at": message.created_at.isoformat(),
    }


class Subscription(Protocol):
    async def add(self, topic: str) -> None: ...
    async def remove(self, topic: str) -> None: ...
    async def get(self) -> dict[str, Any]: ...


class Realtime(Protocol):
    async def publish(self, topic: str, event: dict[str, Any]) -> None: ...
    def subscription(self) -> contextlib.AbstractAsyncContextManager[Subscription]: ...


class _LocalSubscription:
    def __init__(self, bus: LocalRealtime) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self.topics: set[str] = set()

    async def add(self, topic: str) -> None:
        self.topics.add(topic)
        self._bus.subscribers.setdefault(topic, set()).add(self)

    async def remove(self, topic: str) -> None:
        self.topics.discard(topic)
        self._bus.subscribers.get(topic, set()).discard(self)

    async def get(self) -> dict[str, Any]:
        return await self.queue.get()


class LocalRealtime:
    """One process: events go straight into the subscribers' queues."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[_LocalSubscription]] = {}

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        for subscriber in list(self.subscribers.get(topic, ())):
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:  # a stuck client loses events rather than stalling everyone
                logger.warning("realtime: dropped an event for a slow subscriber of %s", topic)

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator[Subscription]:
        subscription = _LocalSubscription(self)
        try:
            yield subscription
        finally:
            for topic in list(subscription.topics):
                await subscription.remove(topic)


class _RedisSubscription:
    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    async def add(self, topic: str) -> None:
        await self._pubsub.subscribe(topic)

    async def remove(self, topic: str) -> None:
        await self._pubsub.unsubscribe(topic)

    async def get(self) -> dict[str, Any]:
        while True:
            if not self._pubsub.subscribed:
                await asyncio.sleep(0.05)  # nothing subscribed yet: get_message would return at once
                continue
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            try:
                event: dict[str, Any] = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            return event


class RedisRealtime:
    """Several processes: every process publishes to Redis and every subscriber listens there."""

    def __init__(self, url: str) -> None:
        from redis import asyncio as redis_asyncio

        self._url = url
        self._redis_asyncio = redis_asyncio
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _get_client(self) -> Any:
        loop = asyncio.get_running_loop()
        # A connection pool belongs to the loop it was made on (TestClient makes one per client).
        if self._client is None or self._loop is not loop:
            self._client = self._redis_asyncio.from_url(self._url, decode_responses=True)  # type: ignore[no-untyped-call]
            self._loop = loop
        return self._client

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        try:
            await self._get_client().publish(topic, json.dumps(event, ensure_ascii=False, default=str))
        except Exception:  # the transcript is already stored: a lost live event is recoverable
            logger.exception("realtime: could not publish to Redis topic %s", topic)

    @contextlib.asynccontextmanager
    async def subscription(self) -> AsyncIterator[Subscription]:
        pubsub = self._get_client().pubsub()
        try:
            yield _RedisSubscription(pubsub)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()


def make_realtime(redis_url: str) -> Realtime:
    return RedisRealtime(redis_url) if redis_url else LocalRealtime()
