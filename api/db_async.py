"""Run a unit of database work in a worker thread from async endpoints (WebSockets, publishers).

The sync session API must not block the event loop that also serves WebSockets; one short
transaction per call, committed when `work` returns, rolled back when it raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from fastapi import Request, WebSocket
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope

T = TypeVar("T")


async def run_db(connection: Request | WebSocket, work: Callable[[Session], T]) -> T:
    factory: sessionmaker[Session] = connection.app.state.session_factory

    def unit() -> T:
        with session_scope(factory) as session:
            return work(session)

    return await anyio.to_thread.run_sync(unit)
