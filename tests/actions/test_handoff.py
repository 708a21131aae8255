"""action_handoff against the real api/: summary, registration, pause; and the offline path."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import urllib.request
from collections.abc import Callable
from http.cookiejar import CookieJar
from typing import Any

import yaml

from actions import replies
from actions.handoff import ActionHandoff, channel_from_sender, shows_strong_anger, summarise
from harness import REPO_ROOT, Conversation

Start = Callable[[str], Conversation]
WECHAT_TOKEN = "dev-wechat-token"  # the api under test runs with default settings
DEMO_AGENT = ("agent", "agent-demo-2026")


def wechat_conversation(api_url: str) -> str:
    """Let the api create a conversation the way WeChat would; return its id (the Rasa sender)."""
    openid = "o_action_" + secrets.token_hex(6)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(4)
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, timestamp, nonce])).encode()).hexdigest()
    body = (
        f"<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[你好]]></Content><MsgId>{secrets.randbelow(2**62)}</MsgId></xml>"
    ).encode()
    url = f"{api_url}/wechat?signature={signature}&timestamp={timestamp}&nonce={nonce}"
    with urllib.request.urlopen(
        urllib.request.Request(url, data=body, method="POST"), timeout=15
    ) as response:
        assert response.status == 200
    return "wx-" + hashlib.sha256(f"wechat:{openid}".encode()).hexdigest()[:24]


def agent_queue(api_url: str) -> list[dict[str, Any]]:
    """The queue as the demo agent sees it in the console (login, then GET with the cookie)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    login = urllib.request.Request(
        f"{api_url}/agent/api/login",
        data=json.dumps({"username": DEMO_AGENT[0], "password": DEMO_AGENT[1]}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener.open(login, timeout=15).read()
    with opener.open(f"{api_url}/agent/api/queue", timeout=15) as response:
        items: list[dict[str, Any]] = json.loads(response.read())["items"]
    return items


async def test_request_human_queues_with_a_summary_and_pauses(conversation: Start, backend: str) -> None:
    conv = conversation("new_session")
    conv.state["sender_id"] = wechat_conversation(backend)
    conv.user("查余额", "query_balance", {"account_no": "4103100000001"})
    conv.slots.update(
        {"account_no": "4103100000001", "verified_accounts": ["4103100000001"], "identity_check": "王建国"}
    )
    conv.user("我要转人工", "request_human")
    events = await conv.run(ActionHandoff())

    assert [e["event"] for e in events] == ["pause"]
    assert "正在为您转接人工客服" in conv.texts()[0] and "前面还有" in conv.texts()[0]
    marker = conv.replies[-1]["custom"]["handoff"]
    assert marker["registered"] is True and marker["reason"] == "customer_request"
    summary = marker["summary"]
    assert summary["intents"][-2:] == ["query_balance", "request_human"]
    assert summary["account_masked"] == "****0001"
    assert summary["slots"]["account_no"] == "****0001"
    assert summary["slots"]["identity_check"] == "***"
    assert "4103100000001" not in json.dumps(summary) and "王建国" not in json.dumps(summary)

    queued = {item["conversation_id"]: item for item in agent_queue(backend)}
    item = queued[conv.state["sender_id"]]
    assert item["state"] == "queued" and item["summary"]["account_masked"] == "****0001"


async def test_when_the_backend_is_down_the_customer_is_still_handed_over(
    conversation: Start, backend_down: str
) -> None:
    conv = conversation("new_session")
    conv.user("转人工", "request_human")
    events = await conv.run(ActionHandoff())
    assert [e["event"] for e in events] == ["pause"]
    assert "正在为您转接人工客服" in conv.texts()[0] and "95598" in conv.texts()[0]
    # The router in api/ queues the conversation from this payload (tests/integration/test_handoff.py).
    marker = conv.replies[-1]["custom"]["handoff"]
    assert marker["registered"] is False and marker["reason"] == "customer_request"


async def test_the_reason_follows_the_offer_that_was_clicked(conversation: Start, backend_down: str) -> None:
    conv = conversation("new_session")
    conv.state["events"].append({"event": "bot", "text": replies.LOCKED_OUT, "timestamp": time.time()})
    conv.user("转人工客服", "request_human")
    await conv.run(ActionHandoff())
    assert conv.replies[-1]["custom"]["handoff"]["reason"] == "verification_failed"


def test_strong_anger_lexicon() -> None:
    assert shows_strong_anger("你们这什么破服务，气死我了")
    assert shows_strong_anger("再不修我就找记者曝光你们")
    assert not shows_strong_anger("电费好像算错了，请帮我查一下")
    assert not shows_strong_anger(None)


def test_channel_comes_from_the_api_derived_sender() -> None:
    assert channel_from_sender("wx-0123") == "wechat"
    assert channel_from_sender("web-0123") == "web"
    assert channel_from_sender("ivr-0123") == "ivr"


def test_summary_of_an_empty_conversation(conversation: Start) -> None:
    conv = conversation("new_session")
    summary = summarise(conv.tracker())
    assert summary["intents"] == [] and summary["account_masked"] is None


def test_rules_send_request_human_to_the_handoff(domain: dict[str, Any]) -> None:
    assert "action_handoff" in domain["actions"]
    handoff_rules = yaml.safe_load((REPO_ROOT / "data" / "rules" / "handoff.yml").read_text(encoding="utf-8"))
    first = handoff_rules["rules"][0]["steps"]
    assert first == [{"intent": "request_human"}, {"action": "action_handoff"}]
