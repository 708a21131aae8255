"""Agent console and web chat over HTTP and WebSockets, on SQLite and PostgreSQL.

Rasa is not running here (apitest_support points RASA_URL at a closed port): while a person owns
a conversation the customer must therefore get our queue/agent texts, never the Rasa-unavailable
fallback, which shows that the router did not ask the bot.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from api.router import RASA_UNAVAILABLE_REPLY
from api.routes.agent import CSRF_HEADER
from api.routes.webchat import COOKIE_NAME, sign_session, verify_session
from backend.models import AuditEvent
from backend.services import handoff as handoff_service
from backend.services import staff
from backend.services.conversations import conversation_id_for, transcript

PASSWORDS = {username: password for username, _n, _r, _q, password in staff.DEMO_STAFF}


def login(client: TestClient, username: str) -> dict[str, Any]:
    response = client.post("/agent/api/login", json={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text
    return response.json()


def web_conversation_id(client: TestClient) -> str:
    sid = verify_session(client.app.state.settings.session_secret, client.cookies.get(COOKIE_NAME))  # type: ignore[attr-defined]
    assert sid is not None
    return conversation_id_for("web", sid)


def next_of_type(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        event = ws.receive_json()
        if event.get("type") == kind:
            return event


def request_handoff(
    client: TestClient, auth: dict[str, str], conversation_id: str, **extra: Any
) -> dict[str, Any]:
    body = {
        "conversation_id": conversation_id,
        "channel": "web",
        "reason": "customer_request",
        "summary": {
            "intents": ["query_balance", "request_human"],
            "slots": {"account_no": "****0001"},
            "account_masked": "****0001",
        },
        **extra,
    }
    response = client.post("/api/v1/handoff", json=body, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(autouse=True)
def _empty_queues(session_factory):
    """Queue positions count every open handoff in the shared database: start from none."""
    with session_factory() as session:
        for handoff in session.scalars(
            select(handoff_service.Handoff).where(handoff_service.Handoff.state.in_(("queued", "agent")))
        ):
            handoff.state = "closed"
        session.commit()


def test_login_wrong_password_and_lockout(client: TestClient, session_factory) -> None:
    with session_factory() as session:
        username = f"lock{secrets.token_hex(3)}"
        staff.create_staff(
            session, username=username, display_name="锁定测试", role="agent", password="right-password"
        )
        session.commit()
    assert client.get("/agent/api/me").status_code == 401
    for _ in range(staff.MAX_FAILED_LOGINS - 1):
        assert (
            client.post("/agent/api/login", json={"username": username, "password": "nope"}).status_code
            == 401
        )
    locked = client.post("/agent/api/login", json={"username": username, "password": "nope"})
    assert locked.status_code == 423 and "锁定" in locked.json()["detail"]
    # Locked means locked: the right password does not get in either.
    assert (
        client.post("/agent/api/login", json={"username": username, "password": "right-password"}).status_code
        == 423
    )
    # Unknown users get the same answer as wrong passwords.
    unknown = client.post("/agent/api/login", json={"username": "nobody-" + username, "password": "x"})
    assert unknown.status_code == 401 and unknown.json()["detail"] == "用户名或密码错误"


def test_session_cookie_is_httponly_and_csrf_is_required(client: TestClient, auth, unique_id) -> None:
    response = client.post("/agent/api/login", json={"username": "agent", "password": PASSWORDS["agent"]})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("samesite", "SameSite")
    me = response.json()
    client.get("/")
    conversation_id = web_conversation_id(client)
    with client.websocket_connect("/ws/chat") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "你好", "client_id": unique_id})
        next_of_type(ws, "message")
    handoff = request_handoff(client, auth, conversation_id)
    url = f"/agent/api/handoffs/{handoff['handoff_id']}/claim"
    assert client.post(url).status_code == 403  # no CSRF header
    assert client.post(url, headers={CSRF_HEADER: "forged"}).status_code == 403
    assert client.post(url, headers={CSRF_HEADER: me["csrf_token"]}).status_code == 200
    assert client.post("/agent/api/logout", headers={CSRF_HEADER: me["csrf_token"]}).status_code == 200
    assert client.get("/agent/api/me").status_code == 401


def test_roles_an_agent_cannot_read_another_queue(client: TestClient, auth) -> None:
    client.get("/")
    conversation_id = web_conversation_id(client)
    with client.websocket_connect("/ws/chat") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "我要投诉", "client_id": "c1"})
        next_of_type(ws, "message")
    handoff = request_handoff(client, auth, conversation_id, reason="angry_complaint")
    assert handoff["queue"] == "complaint" and handoff["priority"] == "urgent"

    login(client, "agent")  # general queue
    assert client.get(f"/agent/api/conversations/{conversation_id}").status_code == 403
    assert conversation_id not in [
        i["conversation_id"] for i in client.get("/agent/api/queue").json()["items"]
    ]
    assert client.get("/agent/api/supervisor").status_code == 403
    assert client.get(f"/agent/api/conversations/{conversation_id}/customer").status_code == 403

    login(client, "agent2")  # complaint queue
    assert client.get(f"/agent/api/conversations/{conversation_id}").status_code == 200

    login(client, "supervisor")
    overview = client.get("/agent/api/supervisor").json()
    assert overview["queues"]["complaint"]["queued"] >= 1
    assert "work_orders" in overview
    assert client.get(f"/agent/api/conversations/{conversation_id}").status_code == 200


def test_web_chat_needs_our_signed_cookie_and_sees_only_its_own_conversation(client: TestClient) -> None:
    # No cookie, or a cookie we did not sign: the socket is refused.
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/chat") as ws:
        ws.receive_json()
    client.cookies.set(COOKIE_NAME, "victim-session.0000000000000000")
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/chat") as ws:
        ws.receive_json()
    client.cookies.clear()

    client.get("/")
    first_cookie = client.cookies.get(COOKIE_NAME)
    with client.websocket_connect("/ws/chat") as ws:
        assert ws.receive_json()["messages"] == []
        ws.send_json({"type": "message", "text": "我的户号是4103100000001", "client_id": "a1"})
        assert next_of_type(ws, "message")["text"] == "我的户号是4103100000001"
        assert next_of_type(ws, "message")["text"] == RASA_UNAVAILABLE_REPLY

    # Reload: history restored.
    with client.websocket_connect("/ws/chat") as ws:
        history = ws.receive_json()
        assert [m["text"] for m in history["messages"]] == ["我的户号是4103100000001", RASA_UNAVAILABLE_REPLY]

    # Another browser gets its own session; naming the first conversation in the URL changes nothing.
    client.cookies.clear()
    client.get("/")
    assert client.cookies.get(COOKIE_NAME) != first_cookie
    first_id = conversation_id_for("web", first_cookie.split(".")[0])
    with client.websocket_connect(f"/ws/chat?conversation_id={first_id}") as ws:
        assert ws.receive_json()["messages"] == []


def test_cross_site_websocket_is_refused(client: TestClient) -> None:
    client.get("/")
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/ws/chat", headers={"origin": "https://evil.example"}) as ws,
    ):
        ws.receive_json()


def test_signature_binds_the_session_id() -> None:
    cookie = sign_session("k", "abc")
    assert verify_session("k", cookie) == "abc"
    assert verify_session("other-key", cookie) is None
    assert verify_session("k", "abd" + cookie[3:]) is None


def test_round_trip_queue_claim_reply_note_hand_back(client: TestClient, auth, session_factory) -> None:
    client.get("/")
    conversation_id = web_conversation_id(client)
    with client.websocket_connect("/ws/chat") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "你好", "client_id": "m1"})
        next_of_type(ws, "message")
        next_of_type(ws, "message")
        handoff = request_handoff(client, auth, conversation_id)
        assert handoff["position"] == 1 and "前面还有0位" in handoff["message"]

        # Queued: the bot stays silent; the customer hears the position instead.
        ws.send_json({"type": "message", "text": "还要多久", "client_id": "m2"})
        assert next_of_type(ws, "message")["text"] == "还要多久"
        queued = next_of_type(ws, "message")
        assert queued["sender"] == "system" and "前面还有0位" in queued["text"]

        me = login(client, "agent")
        headers = {CSRF_HEADER: me["csrf_token"]}
        queue = client.get("/agent/api/queue").json()["items"]
        assert queue[0]["conversation_id"] == conversation_id
        assert queue[0]["summary"]["account_masked"] == "****0001"
        assert (
            client.post(f"/agent/api/handoffs/{handoff['handoff_id']}/claim", headers=headers).status_code
            == 200
        )
        status = next_of_type(ws, "status")
        assert status["status"] == "agent" and status["agent"] == "李客服"

        note = client.post(
            f"/agent/api/conversations/{conversation_id}/notes",
            json={"text": "客户户号待核实，别说出来"},
            headers=headers,
        )
        assert note.status_code == 200
        reply = client.post(
            f"/agent/api/conversations/{conversation_id}/messages",
            json={"text": "您好，我是人工客服"},
            headers=headers,
        )
        assert reply.status_code == 200, reply.text
        # The next thing the customer receives is the reply: the note was never sent to them.
        received = next_of_type(ws, "message")
        assert (received["sender"], received["name"], received["text"]) == (
            "agent",
            "李客服",
            "您好，我是人工客服",
        )

        # With an agent: the customer's messages reach the console, the bot stays silent.
        ws.send_json({"type": "message", "text": "好的谢谢", "client_id": "m3"})
        assert next_of_type(ws, "message")["text"] == "好的谢谢"

    detail = client.get(f"/agent/api/conversations/{conversation_id}").json()
    assert [n["text"] for n in detail["notes"]] == ["客户户号待核实，别说出来"]
    texts = [m["text"] for m in detail["messages"]]
    assert "客户户号待核实，别说出来" not in texts
    assert RASA_UNAVAILABLE_REPLY not in texts[texts.index("还要多久") :]

    # Customer's history on reload: the note is not there either.
    with client.websocket_connect("/ws/chat") as ws:
        assert "客户户号待核实，别说出来" not in [m["text"] for m in ws.receive_json()["messages"]]

    # Hand back needs Rasa (to resume the paused conversation): with Rasa down it is refused and
    # the customer stays with people.
    back = client.post(f"/agent/api/handoffs/{handoff['handoff_id']}/hand-back", headers=headers)
    assert back.status_code == 503
    closed = client.post(
        f"/agent/api/handoffs/{handoff['handoff_id']}/close", json={"summary": "已答复"}, headers=headers
    )
    assert closed.status_code == 200
    with session_factory() as session:
        assert transcript(session, conversation_id)[-1].text == handoff_service.CLOSED_NOTICE
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.entity_type == "handoff", AuditEvent.entity_id == str(handoff["handoff_id"])
                )
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["handoff.request", "handoff.claim", "handoff.close"]


def test_handoff_endpoint_needs_the_service_token(client: TestClient) -> None:
    response = client.post(
        "/api/v1/handoff", json={"conversation_id": "web-x", "channel": "web", "reason": "fallback"}
    )
    assert response.status_code == 401


def test_pages_are_served_without_external_resources(client: TestClient) -> None:
    # No CDN: nothing outside can be fetched where this runs.
    external = re.compile(
        r"""(src|href)\s*=\s*["'](https?:)?//|url\(\s*["']?(https?:)?//|import\s.*https?://"""
    )
    for path in (
        "/",
        "/agent",
        "/widget.js",
        "/static/chat.js",
        "/static/agent.js",
        "/static/chat.css",
        "/static/agent.css",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert external.search(response.text) is None, path


def test_two_api_processes_share_live_events_through_redis(db_url: str, auth) -> None:
    """The customer's socket is on one api instance, the agent on another: Redis carries the reply."""
    import redis
    from apitest_support import make_settings

    from api.main import create_app

    redis_url = "redis://127.0.0.1:6379/0"
    redis.Redis.from_url(redis_url).ping()  # Redis is part of this environment; fail loudly if absent
    app_customer = create_app(make_settings(db_url, redis_url=redis_url))
    app_agent = create_app(make_settings(db_url, redis_url=redis_url))
    with TestClient(app_customer) as customer, TestClient(app_agent) as console:
        customer.get("/")
        conversation_id = web_conversation_id(customer)
        with customer.websocket_connect("/ws/chat") as ws:
            ws.receive_json()
            ws.send_json({"type": "message", "text": "你好", "client_id": "r1"})
            next_of_type(ws, "message")
            next_of_type(ws, "message")
            handoff = request_handoff(console, auth, conversation_id)
            me = login(console, "agent")
            headers = {CSRF_HEADER: me["csrf_token"]}
            assert (
                console.post(
                    f"/agent/api/handoffs/{handoff['handoff_id']}/claim", headers=headers
                ).status_code
                == 200
            )
            assert next_of_type(ws, "status")["status"] == "agent"
            sent = console.post(
                f"/agent/api/conversations/{conversation_id}/messages",
                json={"text": "跨进程的回复"},
                headers=headers,
            )
            assert sent.status_code == 200
            assert next_of_type(ws, "message")["text"] == "跨进程的回复"
    app_customer.state.engine.dispose()
    app_agent.state.engine.dispose()


def test_with_rasa_down_the_web_customer_who_asks_for_a_human_is_queued(client: TestClient) -> None:
    from api.router import HANDOFF_WITHOUT_BOT_REPLY

    client.get("/")
    with client.websocket_connect("/ws/chat") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "转人工", "client_id": "h1"})
        assert next_of_type(ws, "message")["text"] == "转人工"
        assert next_of_type(ws, "message")["text"] == HANDOFF_WITHOUT_BOT_REPLY
        assert "前面还有0位" in next_of_type(ws, "message")["text"]
    login(client, "agent")
    queue = client.get("/agent/api/queue").json()["items"]
    assert [i["conversation_id"] for i in queue] == [web_conversation_id(client)]
    assert queue[0]["reason"] == "backend_unavailable"
