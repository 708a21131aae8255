"""The conversation router's own rules: rendering, numbered choices, Rasa unreachable or slow.

Rasa is never imitated here: "unreachable" is a closed port, "slow" is a socket that accepts the
connection and never answers. Real Rasa conversations are tested in tests/e2e/.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from apitest_support import WeChat, closed_local_port, make_settings
from fastapi.testclient import TestClient

from api.main import RASA_TIMEOUT_SECONDS, create_app
from api.rasa_client import RasaButton, RasaClient, RasaReply, RasaUnavailable
from api.router import RASA_UNAVAILABLE_REPLY, ButtonMemory, render_reply


def test_buttons_become_numbered_lines() -> None:
    reply = RasaReply(
        text="请问您要办理哪项业务？",
        buttons=(RasaButton("查电费余额", "/ask_balance"), RasaButton("报修", "/report_fault")),
    )
    assert render_reply(reply) == "请问您要办理哪项业务？\n1. 查电费余额\n2. 报修"
    assert render_reply(RasaReply(text=None, buttons=(RasaButton("是", "/affirm"),))) == "1. 是"
    assert render_reply(RasaReply(text=None)) is None


def test_a_bare_number_picks_the_offered_button() -> None:
    memory = ButtonMemory(capacity=2)
    offered = [RasaReply(text="选一项", buttons=(RasaButton("是", "/affirm"), RasaButton("否", "/deny")))]
    memory.remember("wx-a", offered)
    assert memory.resolve("wx-a", "2") == "/deny"
    assert memory.resolve("wx-a", " 1。") == "/affirm"
    assert memory.resolve("wx-a", "3") is None  # out of range: sent as typed
    assert memory.resolve("wx-a", "1号线停电了") is None  # not a bare number
    assert memory.resolve("wx-b", "1") is None  # other conversation
    memory.remember("wx-a", [RasaReply(text="好的")])  # a reply without buttons clears the choice
    assert memory.resolve("wx-a", "1") is None


def test_button_memory_is_bounded() -> None:
    memory = ButtonMemory(capacity=2)
    offer = [RasaReply(text=None, buttons=(RasaButton("是", "/affirm"),))]
    for conversation in ("wx-1", "wx-2", "wx-3"):
        memory.remember(conversation, offer)
    assert memory.resolve("wx-1", "1") is None
    assert memory.resolve("wx-3", "1") == "/affirm"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts TCP connections (kernel backlog) but never answers: a hung Rasa."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


async def test_client_raises_rasa_unavailable_when_nothing_listens() -> None:
    client = RasaClient(f"http://127.0.0.1:{closed_local_port()}", timeout_seconds=2)
    with pytest.raises(RasaUnavailable):
        await client.send_message("wx-test", "你好")
    assert await client.is_healthy() is False


async def test_client_gives_up_on_a_silent_server_within_its_timeout(silent_server: str) -> None:
    client = RasaClient(silent_server, timeout_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(RasaUnavailable, match="did not answer"):
        await client.send_message("wx-test", "你好")
    assert time.monotonic() - started < 1.5
    assert await client.is_healthy() is False


def test_a_hung_rasa_still_gets_the_customer_an_answer_inside_wechats_5_seconds(
    db_url: str, silent_server: str, openid: str
) -> None:
    app = create_app(make_settings(db_url, rasa_url=silent_server))
    with TestClient(app) as client:
        wechat = WeChat(client=client, session_factory=app.state.session_factory)
        started = time.monotonic()
        response = wechat.text(openid, "查一下电费")
        elapsed = time.monotonic() - started
    app.state.engine.dispose()
    assert response.status_code == 200
    assert RASA_UNAVAILABLE_REPLY in response.text
    # The answer is the fallback, so the router gave up on Rasa (which never answers) after
    # its timeout instead of hanging; exact timings belong to benchmarks, not tests.
    assert elapsed >= RASA_TIMEOUT_SECONDS
    assert [m.direction for m in wechat.transcript(openid)] == ["in", "out"]
