"""The handoff round trip in real Chromium: web chat customer -> queue -> agent -> back to the bot.

Customer and agent each have their own browser profile. Screenshots of both pages are saved
under reports/browser/ (customer at phone width).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.services.conversations import conversation_id_for
from backend.services.handoff import HANDED_BACK_NOTICE
from backend.services.staff import DEMO_STAFF

TIMEOUT_MS = 30_000
AGENT_REPLY = "您好，我是人工客服，已看到您的情况，请问还有什么需要帮忙？"


def _password(username: str) -> str:
    return next(p for u, _n, _r, _q, p in DEMO_STAFF if u == username)


def _send(page: Any, text: str) -> None:
    page.fill("#input", text)
    page.click("#send")


def _bot_count(page: Any) -> int:
    return int(page.locator(".msg.bot").count())


def test_customer_asks_for_a_human_agent_answers_and_hands_back(
    stack: Any, new_browser: Any, screenshots: Path
) -> None:
    customer_ctx = new_browser(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    customer = customer_ctx.new_page()
    customer.goto(stack.api_url + "/")
    customer.wait_for_function("document.getElementById('state').textContent === '在线'", timeout=TIMEOUT_MS)

    # The bot answers first.
    _send(customer, "你好")
    customer.locator(".msg.bot").first.wait_for(timeout=TIMEOUT_MS)

    # Ask for a person: the bot hands over and the customer is told the queue position.
    _send(customer, "我要转人工客服")
    customer.get_by_text("正在为您转接人工客服").first.wait_for(timeout=TIMEOUT_MS)
    customer.wait_for_function(
        "document.getElementById('state').textContent.indexOf('排队') >= 0 || "
        "document.body.innerText.indexOf('前面还有') >= 0",
        timeout=TIMEOUT_MS,
    )
    sid = next(c["value"] for c in customer_ctx.cookies() if c["name"] == "kefu_chat").split(".")[0]
    conversation_id = conversation_id_for("web", sid)

    # The agent logs in and sees the conversation in the queue.
    agent_ctx = new_browser(viewport={"width": 1366, "height": 900})
    agent = agent_ctx.new_page()
    agent.on("dialog", lambda dialog: dialog.accept())
    agent.goto(stack.api_url + "/agent")
    agent.fill("#username", "agent")
    agent.fill("#password", _password("agent"))
    agent.click("#login-button")
    item = agent.locator(f'#queue li[data-conversation="{conversation_id}"]')
    item.wait_for(timeout=TIMEOUT_MS)
    item.click()
    agent.locator("#transcript .line.customer", has_text="我要转人工客服").wait_for(timeout=TIMEOUT_MS)

    # Claim, then reply.
    agent.click("#claim")
    agent.wait_for_function(
        "document.getElementById('conv-state').textContent === '人工服务中'", timeout=TIMEOUT_MS
    )
    customer.get_by_text("李客服").first.wait_for(timeout=TIMEOUT_MS)  # "客服李客服已为您服务"
    agent.fill("#reply-text", AGENT_REPLY)
    agent.click("#send-reply")

    # The agent sees everything the bot saw: the whole transcript, bot answers included.
    agent.locator("#transcript .line.customer", has_text="你好").first.wait_for(timeout=TIMEOUT_MS)
    assert agent.locator("#transcript .line.bot").count() >= 2  # the greeting and the handoff answer

    # The customer's page shows the reply, with the agent's name.
    reply = customer.locator(".msg.agent", has_text=AGENT_REPLY)
    reply.wait_for(timeout=TIMEOUT_MS)
    assert "李客服" in reply.inner_text()
    agent.locator("#transcript .line.agent", has_text=AGENT_REPLY).wait_for(timeout=TIMEOUT_MS)

    # While the agent owns the conversation the bot stays silent.
    bots_before = _bot_count(customer)
    _send(customer, "好的，谢谢")
    agent.locator("#transcript .line.customer", has_text="好的，谢谢").wait_for(timeout=TIMEOUT_MS)
    customer.wait_for_timeout(1500)
    assert _bot_count(customer) == bots_before

    customer.screenshot(path=str(screenshots / "handoff_customer_with_agent.png"), full_page=True)
    agent.screenshot(path=str(screenshots / "handoff_agent_console.png"), full_page=True)

    # Hand back: the customer is told, and the bot answers again.
    agent.click("#hand-back")
    customer.get_by_text(HANDED_BACK_NOTICE).first.wait_for(timeout=TIMEOUT_MS)
    bots_before = _bot_count(customer)
    _send(customer, "你好")
    customer.wait_for_function(
        f"document.querySelectorAll('.msg.bot').length > {bots_before}", timeout=TIMEOUT_MS
    )
    answer = customer.locator(".msg.bot").last.inner_text()
    assert "转接人工" not in answer and "没能弄明白" not in answer, (
        answer
    )  # a real answer, not another handoff
    assert customer.locator("#state").inner_text() == "在线"
    customer.screenshot(path=str(screenshots / "handoff_customer_back_to_bot.png"), full_page=True)
    agent.screenshot(path=str(screenshots / "handoff_agent_after_hand_back.png"), full_page=True)

    # Reload: history restored, agent's reply still there with the agent's name.
    customer.reload()
    customer.locator(".msg.agent", has_text=AGENT_REPLY).wait_for(timeout=TIMEOUT_MS)
