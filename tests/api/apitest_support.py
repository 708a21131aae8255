"""Helpers for the api tests (importable by name; conftest.py modules are not)."""

from __future__ import annotations

import secrets
import socket
import time
from dataclasses import dataclass

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.wechat import sign
from backend.models import Message
from backend.services.conversations import conversation_id_for, transcript
from backend.settings import Settings

SERVICE_TOKEN = "api-test-service-token"
WECHAT_TOKEN = "api-test-wechat-token"
ACCOUNT_GH_ID = "gh_apitest"


def closed_local_port() -> int:
    """A loopback port with nothing listening on it (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "service_token": SERVICE_TOKEN,
        "wechat_token": WECHAT_TOKEN,
        "wechat_aes_key": "",
        "rasa_url": f"http://127.0.0.1:{closed_local_port()}",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class WeChat:
    """Talks to /wechat the way WeChat's servers do: signed query string, XML body."""

    client: TestClient
    session_factory: sessionmaker[Session]
    token: str = WECHAT_TOKEN

    def signed_params(self, token: str | None = None) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(6)
        signature = sign(token or self.token, timestamp, nonce)
        return {"signature": signature, "timestamp": timestamp, "nonce": nonce}

    @staticmethod
    def xml(openid: str, msg_type: str, fields: str, msg_id: str | None = None) -> bytes:
        msg_id_xml = f"<MsgId>{msg_id}</MsgId>" if msg_id is not None else ""
        return (
            f"<xml><ToUserName><![CDATA[{ACCOUNT_GH_ID}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[{msg_type}]]></MsgType>{fields}{msg_id_xml}</xml>"
        ).encode()

    def post(self, body: bytes, params: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post(
            "/wechat", params=params if params is not None else self.signed_params(), content=body
        )

    def text(self, openid: str, content: str, msg_id: str | None = None) -> httpx.Response:
        msg_id = msg_id if msg_id is not None else str(secrets.randbelow(2**62))
        return self.post(self.xml(openid, "text", f"<Content><![CDATA[{content}]]></Content>", msg_id))

    def transcript(self, openid: str) -> list[Message]:
        with self.session_factory() as session:
            return transcript(session, conversation_id_for("wechat", openid))
