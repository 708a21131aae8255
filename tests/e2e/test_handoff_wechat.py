"""Handoff over WeChat through the real stack: the bot hands over, stays silent, and comes back.

An agent's reply to a WeChat customer goes through the 客服消息 API; this stack has no
WECHAT_APPID/SECRET, so the console must say why it cannot send (the sending itself is tested
against a local stand-in in tests/api/test_api_wechat_push.py).
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from backend.services.conversations import conversation_id_for
from backend.services.handoff import HANDED_BACK_NOTICE
from backend.services.staff import DEMO_STAFF


def _agent(api_url: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=api_url, timeout=15)
    password = next(p for u, _n, _r, _q, p in DEMO_STAFF if u == "agent")
    me = client.post("/agent/api/login", json={"username": "agent", "password": password})
    assert me.status_code == 200, me.text
    return client, {"X-CSRF-Token": me.json()["csrf_token"]}


def test_wechat_customer_is_handed_over_and_back(stack: Any) -> None:
    openid = "o_e2e_handoff_" + secrets.token_hex(4)
    conversation_id = conversation_id_for("wechat", openid)
    first = stack.wechat(openid, "我要转人工客服")
    assert "正在为您转接人工客服" in first and "前面还有" in first

    waiting = stack.wechat(openid, "查一下电费余额")
    assert "前面还有" in waiting  # queued: the bot is not asked

    agent, csrf = _agent(stack.api_url)
    items = agent.get("/agent/api/queue").json()["items"]
    item = next(i for i in items if i["conversation_id"] == conversation_id)
    assert "request_human" in item["summary"]["intents"]
    assert agent.post(f"/agent/api/handoffs/{item['handoff_id']}/claim", headers=csrf).status_code == 200

    silent = stack.wechat(openid, "你好，在吗")
    assert silent == "您的消息已收到，人工客服会尽快回复您，请稍候。"

    refused = agent.post(
        f"/agent/api/conversations/{conversation_id}/messages", json={"text": "您好"}, headers=csrf
    )
    assert refused.status_code == 409 and "WECHAT_APPID" in refused.json()["detail"]

    back = agent.post(f"/agent/api/handoffs/{item['handoff_id']}/hand-back", headers=csrf)
    assert back.status_code == 200, back.text  # Rasa resumed through its token-protected API
    again = stack.wechat(openid, "你好")
    # The bot answers again: a real answer, not its fallback nor another handoff.
    assert again and again != silent and "前面还有" not in again and "没能弄明白" not in again, again
    transcript = agent.get(f"/agent/api/conversations/{conversation_id}").json()["messages"]
    assert HANDED_BACK_NOTICE in [m["text"] for m in transcript]
