"""/wechat as WeChat's servers use it, with Rasa not running (the router must still answer)."""

from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ET

import pytest
from apitest_support import ACCOUNT_GH_ID, WeChat
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.router import (
    HUMAN_WILL_ANSWER_REPLY,
    RASA_UNAVAILABLE_REPLY,
)
from api.routes.wechat import UNSUPPORTED_REPLY, WELCOME_REPLY
from backend.models import Message
from backend.services.conversations import conversation_id_for, find_conversation


@pytest.fixture
def msg_id() -> str:
    """WeChat MsgIds are unique per account: never reuse one across tests on the shared database."""
    return str(secrets.randbelow(2**62))


def passive_reply(response_text: str, openid: str) -> str:
    """Check the passive-reply envelope WeChat requires; return the Content."""
    root = ET.fromstring(response_text)
    assert root.tag == "xml"
    assert root.findtext("ToUserName") == openid
    assert root.findtext("FromUserName") == ACCOUNT_GH_ID
    assert root.findtext("MsgType") == "text"
    assert abs(int(root.findtext("CreateTime") or 0) - time.time()) < 60
    return root.findtext("Content") or ""


# ------------------------------------------------------------------ GET: server URL verification


def test_get_echoes_echostr_for_a_good_signature(wechat: WeChat) -> None:
    params = {**wechat.signed_params(), "echostr": "8123456789012345678"}
    response = wechat.client.get("/wechat", params=params)
    assert response.status_code == 200
    assert response.text == "8123456789012345678"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("drop", ["signature", "timestamp", "nonce", "echostr"])
def test_get_refuses_a_missing_parameter(wechat: WeChat, drop: str) -> None:
    params = {**wechat.signed_params(), "echostr": "hello"}
    del params[drop]
    response = wechat.client.get("/wechat", params=params)
    assert response.status_code == 403
    assert "hello" not in response.text


def test_get_refuses_a_wrong_signature(wechat: WeChat) -> None:
    params = {**wechat.signed_params(token="someone-elses-token"), "echostr": "hello"}
    response = wechat.client.get("/wechat", params=params)
    assert response.status_code == 403
    assert "hello" not in response.text


# ------------------------------------------------------------------ POST: signature on every request


def test_post_with_a_bad_signature_is_refused_and_nothing_recorded(
    wechat: WeChat, openid: str, msg_id: str
) -> None:
    body = wechat.xml(openid, "text", "<Content><![CDATA[查余额]]></Content>", msg_id)
    response = wechat.post(body, params=wechat.signed_params(token="not-the-token"))
    assert response.status_code == 403
    assert wechat.transcript(openid) == []
    with wechat.session_factory() as session:
        assert find_conversation(session, conversation_id_for("wechat", openid)) is None


@pytest.mark.parametrize("drop", ["signature", "timestamp", "nonce"])
def test_post_without_a_signature_parameter_is_refused(
    wechat: WeChat, openid: str, drop: str, msg_id: str
) -> None:
    params = wechat.signed_params()
    del params[drop]
    body = wechat.xml(openid, "text", "<Content><![CDATA[查余额]]></Content>", msg_id)
    assert wechat.post(body, params=params).status_code == 403
    assert wechat.transcript(openid) == []


# ------------------------------------------------------------------ POST: bodies


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"this is not xml",
        b"<xml><ToUserName>gh_x</ToUserName><FromUserName>o_x",
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
        b"<xml><ToUserName>gh_x</ToUserName><MsgType>text</MsgType></xml>",
        b"<notxml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>t</MsgType></notxml>",
    ],
    ids=["empty", "not-xml", "truncated", "entity", "missing-fields", "wrong-root"],
)
def test_malformed_xml_is_400_with_a_clear_error(wechat: WeChat, body: bytes) -> None:
    response = wechat.post(body)
    assert response.status_code == 400
    assert "malformed WeChat message" in response.text


def test_safe_mode_without_an_aes_key_is_a_clear_400(wechat: WeChat, openid: str) -> None:
    params = {**wechat.signed_params(), "encrypt_type": "aes", "msg_signature": "x"}
    body = b"<xml><ToUserName>gh_x</ToUserName><Encrypt><![CDATA[abc]]></Encrypt></xml>"
    response = wechat.post(body, params=params)
    assert response.status_code == 400
    assert "WECHAT_AES_KEY" in response.text


def test_subscribe_gets_the_welcome(wechat: WeChat, openid: str) -> None:
    fields = "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey>"
    body = wechat.xml(openid, "event", fields)
    response = wechat.post(body)
    assert response.status_code == 200
    assert passive_reply(response.text, openid) == WELCOME_REPLY


def test_unsubscribe_is_acknowledged_with_success(wechat: WeChat, openid: str) -> None:
    response = wechat.post(wechat.xml(openid, "event", "<Event><![CDATA[unsubscribe]]></Event>"))
    assert response.status_code == 200
    assert response.text == "success"


def test_an_image_gets_a_polite_text_and_is_kept_in_the_transcript(
    wechat: WeChat, openid: str, msg_id: str
) -> None:
    fields = "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl><MediaId><![CDATA[m1]]></MediaId>"
    response = wechat.post(wechat.xml(openid, "image", fields, msg_id))
    assert response.status_code == 200
    content = passive_reply(response.text, openid)
    assert content == UNSUPPORTED_REPLY
    assert "文字" in content and "95598" in content
    assert [(m.direction, m.text) for m in wechat.transcript(openid)] == [
        ("in", "[图片消息]"),
        ("out", UNSUPPORTED_REPLY),
    ]


# ------------------------------------------------------------------ POST: text through the router


def test_text_while_rasa_is_down_gets_the_fallback_and_both_sides_are_recorded(
    wechat: WeChat, openid: str, msg_id: str
) -> None:
    started = time.monotonic()
    response = wechat.text(openid, " 俺家电费还剩多少 ", msg_id=msg_id)
    assert time.monotonic() - started < 4.5
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert passive_reply(response.text, openid) == RASA_UNAVAILABLE_REPLY

    messages = wechat.transcript(openid)
    assert [(m.direction, m.sender) for m in messages] == [("in", "customer"), ("out", "bot")]
    inbound, outbound = messages
    assert inbound.text == " 俺家电费还剩多少 "  # raw text as the customer typed it
    assert inbound.normalised_text == "俺家电费还剩多少"
    assert inbound.channel_msg_id == msg_id
    assert outbound.text == RASA_UNAVAILABLE_REPLY
    assert outbound.in_reply_to == inbound.id


def test_a_retried_msgid_is_not_recorded_twice_and_gets_the_same_answer(
    wechat: WeChat, openid: str, msg_id: str
) -> None:
    first = wechat.text(openid, "查余额", msg_id=msg_id)
    second = wechat.text(openid, "查余额", msg_id=msg_id)
    assert second.status_code == 200
    assert passive_reply(second.text, openid) == passive_reply(first.text, openid)
    assert [m.direction for m in wechat.transcript(openid)] == ["in", "out"]
    with wechat.session_factory() as session:
        inbound_rows = session.scalar(
            select(func.count()).select_from(Message).where(Message.channel_msg_id == msg_id)
        )
    assert inbound_rows == 1


def test_a_10000_character_message_is_answered_and_kept_whole(wechat: WeChat, openid: str) -> None:
    text = ("停电了怎么办" * 2000)[:10_000]
    response = wechat.text(openid, text)
    assert response.status_code == 200
    assert passive_reply(response.text, openid)  # answered (the fallback: Rasa is down)
    inbound = wechat.transcript(openid)[0]
    assert inbound.text == text
    assert len(inbound.text) == 10_000


def test_voice_with_recognition_is_treated_as_text(wechat: WeChat, openid: str, msg_id: str) -> None:
    fields = (
        "<MediaId><![CDATA[media1]]></MediaId><Format><![CDATA[amr]]></Format>"
        "<Recognition><![CDATA[我家停电了]]></Recognition>"
    )
    response = wechat.post(wechat.xml(openid, "voice", fields, msg_id))
    assert passive_reply(response.text, openid) == RASA_UNAVAILABLE_REPLY
    assert wechat.transcript(openid)[0].text == "我家停电了"


def test_voice_without_recognition_asks_for_text(wechat: WeChat, openid: str, msg_id: str) -> None:
    fields = "<MediaId><![CDATA[media2]]></MediaId><Format><![CDATA[amr]]></Format>"
    response = wechat.post(wechat.xml(openid, "voice", fields, msg_id))
    content = passive_reply(response.text, openid)
    assert "语音" in content and "文字" in content


def test_the_bot_stays_silent_while_a_human_owns_the_conversation(
    wechat: WeChat, openid: str, client: TestClient
) -> None:
    # A neutral first message: "转人工" would open a queued handoff (tested in test_handoff).
    wechat.text(openid, "你好")
    with wechat.session_factory() as session:
        conversation = find_conversation(session, conversation_id_for("wechat", openid))
        assert conversation is not None
        conversation.status = "agent"
        session.commit()
    response = wechat.text(openid, "电工什么时候到？")
    assert passive_reply(response.text, openid) == HUMAN_WILL_ANSWER_REPLY
    assert [m.text for m in wechat.transcript(openid)][-2:] == ["电工什么时候到？", HUMAN_WILL_ANSWER_REPLY]
