"""User-facing texts of the identity and balance journeys.

They live in code rather than as domain responses because only custom actions send
them: `rasa data validate --fail-on-warnings` flags every response that no story or
rule uses.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

HOTLINE = "95598"
HUMAN_BUTTON: dict[str, Any] = {"title": "转人工客服", "payload": "/request_human"}

ASK_ACCOUNT_NO = "请告诉我您的户号（10位或13位数字，可在电费单或网上国网App里找到）。"
ASK_IDENTITY_CHECK = "为了保护您的信息，请再提供登记手机号的后四位，或者户主姓名。"
ASK_IDENTITY_CHECK_FOR = (
    "查询户号{account_masked}需要先验证该户的身份：请提供该户登记手机号的后四位，或者户主姓名。"
)
ACCOUNT_NO_FORMAT = "户号是10位或13位数字，比如3100000001或4103100000001，可以在电费单或网上国网App里找到。"
IDENTITY_CHECK_FORMAT = "请提供登记手机号的后四位数字（比如“尾号1234”），或者户主的姓名（比如“王建国”）。"
VERIFY_MISMATCH = "您提供的户号或验证信息不一致，请核对后重新输入户号。"
LOCKED_OUT = (
    "验证信息多次不一致，为保护您的账户安全，暂时不能继续在线验证。"
    f"您可以拨打{HOTLINE}供电服务热线，或转人工客服为您核实办理。"
)
BACKEND_DOWN = "抱歉，查询系统暂时连接不上……您可以稍后再试，或拨打" + HOTLINE + "，也可以转人工客服。"
VERIFIED_NOTHING_PENDING = "身份验证已通过。请问您想查询什么？"
VERIFICATION_NOT_COMPLETED = "身份验证没有完成。需要查询时，请再告诉我户号。"

RESTORE_SUPPLY = (
    "缴清欠费后即可恢复供电：可以通过网上国网App、微信公众号或到供电营业厅缴费；智能电表缴费后会自动复电。"
)


def offer_human(dispatcher: CollectingDispatcher, text: str) -> None:
    dispatcher.utter_message(text=text, buttons=[HUMAN_BUTTON])


ACCOUNT_DATA_MISSING = f"抱歉，暂时查不到该户的余额信息。您可以拨打{HOTLINE}，或转人工客服帮您查询。"
