"""api/wechat.py: the plaintext protocol, no web server involved."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

import pytest

from api.wechat import (
    InboundMessage,
    MalformedMessageError,
    build_text_reply,
    cdata,
    parse_message,
    signature_is_valid,
)

TOKEN = "protocol-test-token"


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    # As documented by WeChat: sort the three strings, concatenate, SHA-1, hex.
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def test_signature_accepts_the_documented_construction() -> None:
    params = {
        "signature": wechat_signature(TOKEN, "1714000000", "n0nce"),
        "timestamp": "1714000000",
        "nonce": "n0nce",
    }
    assert signature_is_valid(TOKEN, params)


def test_old_timestamps_are_still_accepted_because_wechat_retries() -> None:
    params = {
        "signature": wechat_signature(TOKEN, "1000000000", "abc"),
        "timestamp": "1000000000",
        "nonce": "abc",
    }
    assert signature_is_valid(TOKEN, params)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"timestamp": "1714000000", "nonce": "n"},
        {"signature": "", "timestamp": "1714000000", "nonce": "n"},
        {"signature": wechat_signature(TOKEN, "1714000000", "n"), "timestamp": "1714000000"},
        {"signature": wechat_signature(TOKEN, "1714000000", "n"), "timestamp": "1714000001", "nonce": "n"},
        {"signature": wechat_signature("other", "1714000000", "n"), "timestamp": "1714000000", "nonce": "n"},
    ],
    ids=["nothing", "no-signature", "empty-signature", "no-nonce", "changed-timestamp", "other-token"],
)
def test_signature_refuses_missing_or_wrong_parameters(params: dict[str, str]) -> None:
    assert not signature_is_valid(TOKEN, params)


def test_an_empty_configured_token_never_validates() -> None:
    params = {"signature": wechat_signature("", "1", "2"), "timestamp": "1", "nonce": "2"}
    assert not signature_is_valid("", params)


TEXT_XML = (
    "<xml><ToUserName><![CDATA[gh_123]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName>"
    "<CreateTime>1714000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[户号3100000001 查余额]]></Content><MsgId>23456789012345678</MsgId></xml>"
)


def test_parse_text_message() -> None:
    message = parse_message(TEXT_XML.encode())
    assert message == InboundMessage(
        to_user="gh_123",
        from_user="o_user",
        create_time=1714000000,
        msg_type="text",
        msg_id="23456789012345678",
        content="户号3100000001 查余额",
    )
    assert message.text_for_bot == "户号3100000001 查余额"
    assert message.dedup_key == "23456789012345678"


def test_parse_voice_uses_recognition_as_text() -> None:
    body = (
        "<xml><ToUserName>gh_1</ToUserName><FromUserName>o_1</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format>"
        "<Recognition><![CDATA[停电了]]></Recognition><MsgId>42</MsgId></xml>"
    )
    message = parse_message(body.encode())
    assert message.text_for_bot == "停电了"
    empty = parse_message(body.replace("<![CDATA[停电了]]>", "").encode())
    assert empty.text_for_bot is None


def test_events_have_no_msgid_and_deduplicate_by_user_time_and_event() -> None:
    body = (
        "<xml><ToUserName>gh_1</ToUserName><FromUserName>o_1</FromUserName><CreateTime>1714000000</CreateTime>"
        "<MsgType>event</MsgType><Event>subscribe</Event><EventKey><![CDATA[]]></EventKey></xml>"
    )
    message = parse_message(body.encode())
    assert message.event == "subscribe"
    assert message.msg_id is None
    assert message.text_for_bot is None
    assert message.dedup_key == "evt:o_1:1714000000:subscribe"


def test_image_is_parsed_but_has_no_text() -> None:
    body = (
        "<xml><ToUserName>gh_1</ToUserName><FromUserName>o_1</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>image</MsgType><PicUrl>http://x</PicUrl><MediaId>m9</MediaId><MsgId>7</MsgId></xml>"
    )
    message = parse_message(body.encode())
    assert (message.msg_type, message.media_id, message.text_for_bot) == ("image", "m9", None)


@pytest.mark.parametrize(
    "body",
    [
        # billion laughs
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        "<xml><Content>&lol2;</Content></xml>",
        # external entity (XXE)
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType>"
        "<Content>&xxe;</Content></xml>",
        "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType>"
        "<CreateTime>yesterday</CreateTime></xml>",
    ],
    ids=["entity-expansion", "external-entity", "bad-createtime"],
)
def test_unsafe_or_invalid_xml_is_refused(body: str) -> None:
    with pytest.raises(MalformedMessageError):
        parse_message(body.encode())


def test_reply_swaps_the_users_and_survives_hostile_content() -> None:
    inbound = parse_message(TEXT_XML.encode())
    hostile = "余额 <b>86.50</b> & ]]><xml>injected</xml> \x01\x08end"
    reply = ET.fromstring(build_text_reply(inbound, hostile, now=1714000099))
    assert reply.findtext("ToUserName") == "o_user"
    assert reply.findtext("FromUserName") == "gh_123"
    assert reply.findtext("CreateTime") == "1714000099"
    assert reply.findtext("MsgType") == "text"
    # Everything survives except the control characters XML 1.0 cannot carry.
    assert reply.findtext("Content") == "余额 <b>86.50</b> & ]]><xml>injected</xml> end"
    assert len(list(reply)) == 5


def test_cdata_splits_the_terminator() -> None:
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"
