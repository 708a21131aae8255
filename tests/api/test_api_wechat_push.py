"""Agent replies to WeChat customers through a LOCAL stand-in for the WeChat API.

The stand-in is a real HTTP server on loopback that issues access tokens, accepts
message/custom/send, records every call, and can be told to answer with WeChat's error codes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from apitest_support import WeChat, make_settings
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from api.routes.agent import CSRF_HEADER
from api.wechat_push import PushFailed, WeChatPush
from backend.models import Message
from backend.services import handoff as handoff_service
from backend.services import staff
from backend.services.conversations import conversation_id_for, find_conversation

APPID, SECRET = "wx_standin_appid", "standin-secret"


class StandIn:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.next_errors: list[int] = []  # errcodes to answer the next sends with

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        call = {"method": method, "path": path, "query": {k: v[0] for k, v in query.items()}}
        if body:
            call["json"] = json.loads(body.decode("utf-8"))
            call["raw"] = body
        self.calls.append(call)
        if path == "/cgi-bin/token":
            if call["query"].get("appid") != APPID or call["query"].get("secret") != SECRET:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            self.tokens_issued += 1
            token = f"TOKEN{self.tokens_issued}"
            self.valid_tokens = {token}  # a new token invalidates the old one
            return {"access_token": token, "expires_in": 7200}
        if path == "/cgi-bin/message/custom/send":
            if call["query"].get("access_token") not in self.valid_tokens:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            if self.next_errors:
                return {"errcode": self.next_errors.pop(0), "errmsg": "stand-in error"}
            return {"errcode": 0, "errmsg": "ok"}
        return {"errcode": 404, "errmsg": "unknown"}

    def sends(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["path"] == "/cgi-bin/message/custom/send"]


@pytest.fixture
def standin() -> Iterator[tuple[StandIn, str]]:
    state = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            payload = json.dumps(state.handle(method, url.path, parse_qs(url.query), body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_token_is_cached_and_refreshed_when_wechat_calls_it_stale(standin) -> None:
    state, base = standin
    push = WeChatPush(base, APPID, SECRET)
    await push.send_text("openid-1", "第一条")
    await push.send_text("openid-1", "第二条")
    assert state.tokens_issued == 1  # cached between sends
    # Another server fetched a new token: ours is now invalid; one refresh, one retry.
    state.valid_tokens = {"SOMEONE-ELSES"}
    await push.send_text("openid-1", "第三条")
    assert state.tokens_issued == 2
    sends = state.sends()
    assert [s["json"]["text"]["content"] for s in sends if s["query"]["access_token"] != "TOKEN1"] == [
        "第三条"
    ]
    assert sends[0]["json"] == {"touser": "openid-1", "msgtype": "text", "text": {"content": "第一条"}}
    assert "第一条".encode() in sends[0]["raw"]  # literal UTF-8, not \\u escapes


async def test_wechat_refusals_become_reasons_for_the_agent(standin) -> None:
    state, base = standin
    push = WeChatPush(base, APPID, SECRET)
    state.next_errors = [45015]
    with pytest.raises(PushFailed, match="48小时"):
        await push.send_text("openid-2", "你好")
    with pytest.raises(PushFailed, match="未配置"):
        await WeChatPush(base, "", "").send_text("openid-2", "你好")
    with pytest.raises(PushFailed, match="40013"):
        await WeChatPush(base, APPID, "wrong").send_text("openid-2", "你好")


def test_agent_replies_reach_wechat_within_the_window_and_limit(
    db_url: str, standin, openid: str, session_factory
) -> None:
    state, base = standin
    app = create_app(make_settings(db_url, wechat_api_base=base, wechat_appid=APPID, wechat_secret=SECRET))
    with TestClient(app) as client:
        wechat = WeChat(client=client, session_factory=app.state.session_factory)
        wechat.text(openid, "我要转人工")
        conversation_id = conversation_id_for("wechat", openid)
        with session_factory() as session:
            for handoff in session.scalars(
                select(handoff_service.Handoff).where(handoff_service.Handoff.state.in_(("queued", "agent")))
            ):
                handoff.state = "closed"
            handoff = handoff_service.request_handoff(
                session, conversation_id, reason="customer_request", actor="bot"
            )
            handoff_id = handoff.id
            session.commit()
        # The openid is only kept once people own the conversation: the next message records it.
        assert "前面还有0位" in wechat.text(openid, "人呢").text

        password = next(p for u, _n, _r, _q, p in staff.DEMO_STAFF if u == "agent")
        me = client.post("/agent/api/login", json={"username": "agent", "password": password}).json()
        headers = {CSRF_HEADER: me["csrf_token"]}
        assert client.post(f"/agent/api/handoffs/{handoff_id}/claim", headers=headers).status_code == 200

        url = f"/agent/api/conversations/{conversation_id}/messages"
        for number in range(5):
            response = client.post(url, json={"text": f"第{number + 1}条回复"}, headers=headers)
            assert response.status_code == 200, response.text
        sixth = client.post(url, json={"text": "第6条"}, headers=headers)
        assert sixth.status_code == 409 and "5条" in sixth.json()["detail"]
        assert [s["json"]["touser"] for s in state.sends()] == [openid] * 5
        assert [s["json"]["text"]["content"] for s in state.sends()][-1] == "第5条回复"

        wechat.text(openid, "收到")  # a new customer message opens a new quota
        assert client.post(url, json={"text": "还有问题吗"}, headers=headers).status_code == 200

        with session_factory() as session:  # the customer's last message was 49 hours ago
            conversation = find_conversation(session, conversation_id)
            assert conversation is not None
            last_in = session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id, Message.direction == "in")
                .order_by(Message.id.desc())
            ).first()
            assert last_in is not None
            last_in.created_at = last_in.created_at - timedelta(hours=49)
            session.commit()
        late = client.post(url, json={"text": "迟到的回复"}, headers=headers)
        assert late.status_code == 409 and "48小时" in late.json()["detail"]
        detail = client.get(f"/agent/api/conversations/{conversation_id}").json()
        assert detail["reply_window"]["allowed"] is False
        assert len(state.sends()) == 6  # nothing was sent past the limits
        assert state.tokens_issued == 1

        closed = client.post(
            f"/agent/api/handoffs/{handoff_id}/close", json={"summary": "已处理"}, headers=headers
        )
        assert closed.status_code == 200
        with session_factory() as session:
            conversation = find_conversation(session, conversation_id)
            assert conversation is not None and conversation.reply_address is None  # openid dropped
    app.state.engine.dispose()
