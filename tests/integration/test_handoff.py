"""Handoff service on SQLite and PostgreSQL: transitions, queue order, position and wait, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.clock import utcnow
from backend.models import AuditEvent, Conversation
from backend.models_handoff import Handoff
from backend.services import conversations, staff
from backend.services import handoff as handoff_service


def _conversation(session, channel: str, user: str) -> Conversation:
    conversation = conversations.get_or_create_conversation(session, channel, user)
    conversations.record_inbound(session, conversation, "转人工", "转人工")
    session.flush()
    return conversation


def _audit_actions(session, handoff_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_type == "handoff", AuditEvent.entity_id == str(handoff_id))
            .order_by(AuditEvent.id)
        )
    )


@pytest.fixture
def clear_queue(session):
    """Queue positions count every open handoff: close what earlier tests left open."""
    for handoff in session.scalars(select(Handoff).where(Handoff.state.in_(("queued", "agent")))):
        handoff.state = "closed"
    session.flush()


@pytest.fixture
def committed_empty_queue(session_factory):
    """For tests whose code under test opens its own sessions: clear and commit (a pending write
    in the test's own session would hold SQLite's write lock)."""
    with session_factory() as own:
        for handoff in own.scalars(select(Handoff).where(Handoff.state.in_(("queued", "agent")))):
            handoff.state = "closed"
        own.commit()


def test_request_queues_the_conversation_and_is_idempotent(session, unique_id, clear_queue):
    conversation = _conversation(session, "wechat", unique_id)
    first = handoff_service.request_handoff(
        session,
        conversation.public_id,
        reason="customer_request",
        actor="bot",
        summary={"intents": ["greet"]},
    )
    again = handoff_service.request_handoff(
        session, conversation.public_id, reason="customer_request", actor="system:router"
    )
    assert again.id == first.id
    assert conversation.status == "queued"
    assert first.state == "queued" and first.queue == "general" and first.priority == "normal"
    assert _audit_actions(session, first.id) == ["handoff.request"]
    # A later, richer report (the action's, after the router's) adds to the summary.
    handoff_service.request_handoff(
        session,
        conversation.public_id,
        reason="customer_request",
        actor="bot",
        summary={"account_masked": "****0001"},
    )
    assert first.summary == {"intents": ["greet"], "account_masked": "****0001"}


def test_a_second_report_can_only_raise_the_priority(session, unique_id, clear_queue):
    conversation = _conversation(session, "web", unique_id)
    handoff = handoff_service.request_handoff(
        session, conversation.public_id, reason="customer_request", actor="bot"
    )
    handoff_service.request_handoff(
        session, conversation.public_id, reason="hazard", actor="bot", priority="hazard"
    )
    assert (handoff.priority, handoff.priority_rank) == ("hazard", 0)
    handoff_service.request_handoff(session, conversation.public_id, reason="customer_request", actor="bot")
    assert handoff.priority == "hazard"
    assert _audit_actions(session, handoff.id) == ["handoff.request", "handoff.reprioritise"]


def test_unknown_conversation_and_reason_are_refused(session):
    with pytest.raises(handoff_service.ConversationNotFound):
        handoff_service.request_handoff(session, "wx-doesnotexist", reason="customer_request", actor="bot")
    with pytest.raises(ValueError):
        handoff_service.request_handoff(session, "wx-doesnotexist", reason="because", actor="bot")


def test_queue_order_is_priority_then_waiting_time(session, unique_id, clear_queue):
    now = utcnow()
    early = _conversation(session, "wechat", unique_id + "a")
    late_hazard = _conversation(session, "wechat", unique_id + "b")
    middle = _conversation(session, "web", unique_id + "c")
    h_early = handoff_service.request_handoff(
        session, early.public_id, reason="fallback", actor="bot", now=now - timedelta(minutes=10)
    )
    h_middle = handoff_service.request_handoff(
        session, middle.public_id, reason="customer_request", actor="bot", now=now - timedelta(minutes=5)
    )
    # A hazard asked last still goes first.
    h_hazard = handoff_service.request_handoff(
        session, late_hazard.public_id, reason="hazard", actor="bot", now=now
    )
    ordered = handoff_service.list_open(session, queues=["general"])
    assert [h.id for h in ordered] == [h_hazard.id, h_early.id, h_middle.id]
    assert h_hazard.queue == "general" and h_hazard.priority == "hazard"
    assert handoff_service.position_in_queue(session, h_hazard) == 1
    assert handoff_service.position_in_queue(session, h_early) == 2
    assert handoff_service.position_in_queue(session, h_middle) == 3
    per_conversation = handoff_service.config().default_minutes
    assert handoff_service.estimated_wait_minutes(session, h_middle) == round(3 * per_conversation)
    reply = handoff_service.queued_reply(session, h_middle)
    assert "前面还有2位" in reply and f"约{round(3 * per_conversation)}分钟" in reply
    # Queues are separate: a complaint queue does not count these, and its agent does not see them.
    handoff_service.transfer(session, h_early.id, actor="supervisor:supervisor", to_queue="complaint")
    assert handoff_service.position_in_queue(session, h_early) == 1
    assert handoff_service.position_in_queue(session, h_middle) == 2
    complaint_only = handoff_service.list_open(session, queues=["complaint"])
    assert [h.id for h in complaint_only] == [h_early.id]


def test_claim_transfer_hand_back_and_close_are_audited(session, unique_id, clear_queue):
    conversation = _conversation(session, "wechat", unique_id)
    handoff = handoff_service.request_handoff(
        session, conversation.public_id, reason="customer_request", actor="bot"
    )
    queued_at = handoff.queued_at
    handoff_service.claim(session, handoff.id, username="agent", actor="agent:agent")
    assert (handoff.state, handoff.assigned_to, conversation.status) == ("agent", "agent", "agent")
    with pytest.raises(handoff_service.InvalidHandoffState):
        handoff_service.claim(session, handoff.id, username="agent2", actor="agent:agent2")
    handoff_service.transfer(session, handoff.id, actor="agent:agent", to_queue="complaint", note="投诉")
    assert (handoff.state, handoff.queue, handoff.assigned_to, conversation.status) == (
        "queued",
        "complaint",
        None,
        "queued",
    )
    assert handoff.queued_at == queued_at  # the original wait start survives a transfer
    handoff_service.transfer(session, handoff.id, actor="supervisor:supervisor", to_agent="agent2")
    assert (handoff.state, handoff.assigned_to, conversation.status) == ("agent", "agent2", "agent")
    handoff_service.hand_back(session, handoff.id, actor="agent:agent2")
    assert (handoff.state, conversation.status) == ("returned", "bot")
    assert (
        conversations.transcript(session, conversation.public_id)[-1].text
        == handoff_service.HANDED_BACK_NOTICE
    )
    with pytest.raises(handoff_service.InvalidHandoffState):
        handoff_service.close(session, handoff.id, actor="agent:agent2", summary="x")

    second = handoff_service.request_handoff(session, conversation.public_id, reason="fallback", actor="bot")
    assert second.id != handoff.id
    handoff_service.claim(session, second.id, username="agent", actor="agent:agent")
    with pytest.raises(ValueError):
        handoff_service.close(session, second.id, actor="agent:agent", summary="  ")
    handoff_service.close(session, second.id, actor="agent:agent", summary="已解答电费疑问")
    assert (second.state, second.close_summary, conversation.status) == ("closed", "已解答电费疑问", "closed")
    assert _audit_actions(session, handoff.id) == [
        "handoff.request",
        "handoff.claim",
        "handoff.transfer",
        "handoff.transfer",
        "handoff.hand_back",
    ]
    assert _audit_actions(session, second.id) == ["handoff.request", "handoff.claim", "handoff.close"]


def test_queued_customer_hears_position_and_can_leave_a_callback_number(session, unique_id, clear_queue):
    conversation = _conversation(session, "wechat", unique_id)
    handoff = handoff_service.request_handoff(
        session, conversation.public_id, reason="customer_request", actor="bot"
    )
    assert "前面还有0位" in handoff_service.reply_while_human(session, conversation, "还要等多久")[0]
    replies = handoff_service.reply_while_human(session, conversation, "别等了，打我电话13803731234吧")
    assert replies == [handoff_service.CALLBACK_RECORDED_REPLY.format(phone="138****1234")]
    assert handoff.callback_phone == "13803731234"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "handoff.callback").order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None and event.after == {"callback_phone": "138****1234"}  # masked in the audit
    handoff_service.claim(session, handoff.id, username="agent", actor="agent:agent")
    assert handoff_service.reply_while_human(session, conversation, "你好") == [
        handoff_service.AGENT_WILL_ANSWER_REPLY
    ]
    web = _conversation(session, "web", unique_id)
    web_handoff = handoff_service.request_handoff(
        session, web.public_id, reason="customer_request", actor="bot"
    )
    handoff_service.claim(session, web_handoff.id, username="agent", actor="agent:agent")
    assert handoff_service.reply_while_human(session, web, "你好") == []  # web chat shows typing instead


def test_wechat_window_48_hours_and_five_replies(session, unique_id):
    conversation = _conversation(session, "wechat", unique_id)
    handoff = handoff_service.request_handoff(
        session, conversation.public_id, reason="customer_request", actor="bot"
    )
    handoff_service.claim(session, handoff.id, username="agent", actor="agent:agent")
    for number in range(5):
        assert handoff_service.wechat_reply_window(session, conversation).allowed, number
        handoff_service.record_agent_reply(
            session, conversation.public_id, text=f"回复{number}", agent_name="客服李"
        )
    blocked = handoff_service.wechat_reply_window(session, conversation)
    assert not blocked.allowed and "5条" in (blocked.reason or "")
    conversations.record_inbound(session, conversation, "好的", "好的")
    session.flush()
    assert handoff_service.wechat_reply_window(
        session, conversation
    ).allowed  # a new message resets the count
    later = utcnow() + timedelta(hours=48, minutes=1)
    expired = handoff_service.wechat_reply_window(session, conversation, now=later)
    assert not expired.allowed and "48小时" in (expired.reason or "")
    web = _conversation(session, "web", unique_id)
    assert handoff_service.wechat_reply_window(session, web, now=later).allowed  # web has no such limit


def test_customer_panel_is_masked_and_unmasking_is_audited(session, unique_id):
    from backend.services import accounts

    conversation = _conversation(session, "web", unique_id)
    result = accounts.verify_identity(
        session,
        conversation_id=conversation.public_id,
        channel="web",
        account_no="4103100000001",
        phone_last4=None,
        name="王建国",
    )
    assert result.verified
    panel = handoff_service.customer_panel(session, conversation.public_id, actor="agent:agent")
    assert panel["account"]["account_no"] == "****0001" and "*" in panel["account"]["holder"]
    assert not panel["unmasked"]
    full = handoff_service.customer_panel(
        session, conversation.public_id, actor="agent:agent", unmask_reason="客户要求核对地址"
    )
    assert full["account"]["account_no"] == "4103100000001" and full["unmasked"]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "customer.unmask").order_by(AuditEvent.id.desc())
    ).first()
    assert event is not None and event.actor == "agent:agent"
    assert event.after is not None and event.after["reason"] == "客户要求核对地址"


def test_staff_passwords_lockout_and_sessions(session, unique_id):
    account = staff.create_staff(
        session, username=f"t{unique_id}", display_name="测试", role="agent", password="s3cret-pass"
    )
    assert account.password_hash.startswith("$argon2id$")
    assert "s3cret-pass" not in account.password_hash
    assert staff.authenticate(session, account.username, "s3cret-pass").id == account.id
    for _ in range(staff.MAX_FAILED_LOGINS - 1):
        with pytest.raises(staff.LoginFailed):
            staff.authenticate(session, account.username, "wrong")
    with pytest.raises(staff.AccountLocked):
        staff.authenticate(session, account.username, "wrong")
    with pytest.raises(staff.AccountLocked):  # even the right password, while locked
        staff.authenticate(session, account.username, "s3cret-pass")
    later = utcnow() + timedelta(minutes=staff.LOCKOUT_MINUTES + 1)
    assert staff.authenticate(session, account.username, "s3cret-pass", now=later).id == account.id
    token, csrf = staff.open_session(session, account)
    identity = staff.identify(session, token)
    assert identity is not None and identity.csrf_token == csrf and identity.role == "agent"
    assert staff.identify(session, token + "x") is None
    assert staff.identify(session, token, now=utcnow() + timedelta(hours=staff.SESSION_HOURS + 1)) is None
    staff.close_session(session, token)
    assert staff.identify(session, token) is None


def test_demo_staff_are_seeded(session):
    names = {a.username: a.role for a in staff.list_staff(session)}
    assert names.get("agent") == "agent" and names.get("supervisor") == "supervisor"


# ---------------------------------------------------------------- the router's side


async def test_router_queues_from_the_actions_payload_even_if_the_action_could_not(
    session_factory, unique_id, committed_empty_queue
):
    """action_handoff could not reach the business API (registered=false): the router queues the
    conversation itself, tells the customer the position, and then keeps the bot silent.

    Rasa is replaced by an in-process transport that answers what Rasa's REST channel answers for
    action_handoff (a text and the custom payload); it also counts how often the bot is asked.
    """
    import httpx

    from api.rasa_client import RasaClient
    from api.realtime import LocalRealtime
    from api.router import ConversationRouter

    asked: list[str] = []

    def rasa_rest(request: httpx.Request) -> httpx.Response:
        asked.append(request.read().decode())
        return httpx.Response(
            200,
            json=[
                {"recipient_id": "x", "text": "正在为您转接人工客服，请稍候。"},
                {
                    "recipient_id": "x",
                    "custom": {
                        "handoff": {
                            "reason": "backend_unavailable",
                            "priority": None,
                            "registered": False,
                            "summary": {
                                "intents": ["query_balance", "request_human"],
                                "slots": {},
                                "account_masked": None,
                            },
                        }
                    },
                },
            ],
        )

    rasa = RasaClient("http://rasa.invalid", transport=httpx.MockTransport(rasa_rest))
    router = ConversationRouter(session_factory, rasa, realtime=LocalRealtime())
    openid = "o_router_" + unique_id
    first = await router.handle_inbound("wechat", openid, "转人工", "m1-" + unique_id)
    assert first[0] == "正在为您转接人工客服，请稍候。"
    assert "前面还有0位" in first[1]  # the router told the position, since the action could not
    assert len(asked) == 1

    second = await router.handle_inbound("wechat", openid, "还要等多久", "m2-" + unique_id)
    assert "前面还有0位" in second[0]
    assert len(asked) == 1  # the bot was not asked while the customer is queued

    with session_factory() as check:
        conversation = conversations.find_conversation(
            check, conversations.conversation_id_for("wechat", openid)
        )
        assert conversation is not None and conversation.status == "queued"
        assert conversation.reply_address == openid  # needed for the agent's 客服消息 reply
        handoff = handoff_service.open_handoff(check, conversation.id)
        assert handoff is not None and handoff.reason == "backend_unavailable"
        assert handoff.summary is not None and handoff.summary["intents"] == [
            "query_balance",
            "request_human",
        ]
        # The custom payload is never shown to the customer or stored as a message.
        assert all("handoff" not in m.text for m in conversations.transcript(check, conversation.public_id))


async def test_router_quick_reply_titles_resolve_to_button_payloads(session_factory, unique_id):
    """Web chat sends a quick reply's title; the router maps it to the button's payload."""
    import httpx

    from api.rasa_client import RasaClient
    from api.router import ConversationRouter

    sent: list[str] = []

    def rasa_rest(request: httpx.Request) -> httpx.Response:
        import json

        sent.append(json.loads(request.read())["message"])
        return httpx.Response(
            200,
            json=[
                {"text": "需要转人工吗？", "buttons": [{"title": "转人工客服", "payload": "/request_human"}]}
            ],
        )

    router = ConversationRouter(
        session_factory, RasaClient("http://rasa.invalid", transport=httpx.MockTransport(rasa_rest))
    )
    sid = "s" + unique_id
    replies = await router.handle_inbound("web", sid, "你是机器人吗", None)
    assert replies == ["需要转人工吗？"]  # web chat keeps buttons apart from the text
    with session_factory() as check:
        last = conversations.transcript(check, conversations.conversation_id_for("web", sid))[-1]
        assert last.buttons == [{"title": "转人工客服", "payload": "/request_human"}]
    await router.handle_inbound("web", sid, "转人工客服", None)
    assert sent == ["你是机器人吗", "/request_human"]


async def test_with_rasa_down_asking_for_a_human_still_queues(
    session_factory, unique_id, committed_empty_queue
):
    import socket

    from api.rasa_client import RasaClient
    from api.router import HANDOFF_WITHOUT_BOT_REPLY, RASA_UNAVAILABLE_REPLY, ConversationRouter

    with socket.socket() as sock:  # a port nobody listens on: Rasa is down
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    router = ConversationRouter(session_factory, RasaClient(f"http://127.0.0.1:{port}", timeout_seconds=1))
    openid = "o_down_" + unique_id
    assert await router.handle_inbound("wechat", openid, "查电费", None) == [RASA_UNAVAILABLE_REPLY]
    replies = await router.handle_inbound("wechat", openid, "我要转人工", None)
    assert replies[0] == HANDOFF_WITHOUT_BOT_REPLY and "前面还有0位" in replies[1]
    with session_factory() as check:
        conversation = conversations.find_conversation(
            check, conversations.conversation_id_for("wechat", openid)
        )
        assert conversation is not None and conversation.status == "queued"
