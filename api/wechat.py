"""WeChat official account (公众号) plaintext protocol: signatures, inbound XML, passive replies.

Pure functions, no web framework: the FastAPI route in api/routes/wechat.py is a thin shell
around this module. Facts are from shared/domain/channels_and_agents.md section B.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_untrusted_xml

SIGNATURE_PARAMS = ("signature", "timestamp", "nonce")

# XML 1.0 forbids most C0 control characters even inside CDATA; WeChat rejects a reply
# that is not well-formed, and the user then sees "该公众号暂时无法提供服务".
_XML_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class MalformedMessageError(ValueError):
    """The POST body is not a WeChat message we can read (not XML, unsafe XML, fields missing)."""


def signature_is_valid(token: str, params: Mapping[str, str]) -> bool:
    """True when `signature` equals sha1 of the sorted [token, timestamp, nonce].

    A missing or empty parameter is a failure, never a pass. Timestamps are deliberately not
    checked for age: WeChat legitimately retries the same signed request within its window.
    """
    values = [params.get(name) or "" for name in SIGNATURE_PARAMS]
    signature, timestamp, nonce = values
    if not token or not signature or not timestamp or not nonce:
        return False
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.lower().encode())


def sign(token: str, timestamp: str, nonce: str) -> str:
    """The signature WeChat would send; used by tests and local tools that simulate WeChat."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


@dataclass(frozen=True)
class InboundMessage:
    """One message or event pushed by WeChat, with the fields we use."""

    to_user: str  # the official account's gh_ id
    from_user: str  # the customer's OpenID
    create_time: int
    msg_type: str  # text | voice | event | image | location | ...
    msg_id: str | None = None  # absent on events
    content: str | None = None  # text messages
    recognition: str | None = None  # voice messages, when 接收语音识别结果 is enabled
    event: str | None = None  # subscribe | unsubscribe | CLICK | ... (lower-cased)
    event_key: str | None = None
    media_id: str | None = None

    @property
    def dedup_key(self) -> str:
        """Stable id for WeChat's retries: MsgId for messages, openid+CreateTime+Event for events."""
        if self.msg_id:
            return self.msg_id
        return f"evt:{self.from_user}:{self.create_time}:{self.event or self.msg_type}"

    @property
    def text_for_bot(self) -> str | None:
        """What the customer said, if this message carries text we can answer (voice included)."""
        if self.msg_type == "text":
            return self.content or ""
        if self.msg_type == "voice" and self.recognition and self.recognition.strip():
            return self.recognition
        return None


def _field(root: Element, name: str) -> str | None:
    node = root.find(name)
    if node is None or node.text is None:
        return None
    return node.text


def parse_message(body: bytes) -> InboundMessage:
    """Parse an inbound plaintext message. Entities, DTDs and external references are refused."""
    if not body or not body.strip():
        raise MalformedMessageError("empty body")
    try:
        root = parse_untrusted_xml(body)
    except DefusedXmlException as exc:
        raise MalformedMessageError(f"forbidden XML construct: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise MalformedMessageError(f"not well-formed XML: {exc}") from exc
    if root.tag != "xml":
        raise MalformedMessageError(f"root element must be <xml>, got <{root.tag}>")

    required = {name: _field(root, name) for name in ("ToUserName", "FromUserName", "MsgType")}
    missing = sorted(name for name, value in required.items() if not value)
    if missing:
        raise MalformedMessageError(f"missing field(s): {', '.join(missing)}")
    create_time_text = (_field(root, "CreateTime") or "0").strip()
    try:
        create_time = int(create_time_text)
    except ValueError as exc:
        raise MalformedMessageError(f"CreateTime is not an integer: {create_time_text!r}") from exc

    msg_type = (required["MsgType"] or "").strip().lower()
    event = _field(root, "Event")
    return InboundMessage(
        to_user=required["ToUserName"] or "",
        from_user=required["FromUserName"] or "",
        create_time=create_time,
        msg_type=msg_type,
        msg_id=(_field(root, "MsgId") or "").strip() or None,
        content=_field(root, "Content"),
        recognition=_field(root, "Recognition"),
        event=event.strip().lower() if event else None,
        event_key=_field(root, "EventKey"),
        media_id=_field(root, "MediaId"),
    )


def cdata(text: str) -> str:
    """Wrap text in CDATA; a literal "]]>" is split across two sections so it cannot end it early."""
    clean = _XML_INVALID_CHARS.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_text_reply(inbound: InboundMessage, content: str, now: int | None = None) -> str:
    """Passive text reply: To/From swapped relative to the inbound message."""
    create_time = int(time.time()) if now is None else now
    return (
        "<xml>"
        f"<ToUserName>{cdata(inbound.from_user)}</ToUserName>"
        f"<FromUserName>{cdata(inbound.to_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )
