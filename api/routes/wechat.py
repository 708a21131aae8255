"""WeChat official account endpoint (/wechat): URL verification and passive replies.

WeChat waits 5 seconds for an answer and otherwise retries the same message (same MsgId) up to
three times; the router deduplicates, and its Rasa timeout keeps us inside the limit. Anything
that is not valid reply XML or the literal "success" makes WeChat show the customer
"该公众号暂时无法提供服务", so every path below answers one of the two.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, status
from fastapi.responses import PlainTextResponse, Response

from api import wechat
from api.deps import RouterDep, SettingsDep
from api.router import RASA_UNAVAILABLE_REPLY

logger = logging.getLogger(__name__)
router = APIRouter(tags=["wechat"])

CHANNEL = "wechat"
MAX_BODY_BYTES = 256 * 1024  # WeChat messages are a few KB; this only stops abuse.

WELCOME_REPLY = (
    "您好，欢迎关注新乡县供电公司！我是智能客服，可以帮您查询电费余额、停电信息，"
    "咨询用电业务和报修。请直接发文字（或语音）告诉我您的问题。"
    "紧急情况（如电线落地、触电、起火）请立即拨打95598供电服务热线。"
)
UNSUPPORTED_REPLY = (
    "抱歉，目前我只能看懂文字和语音消息，暂时无法处理图片、位置等其他类型的消息。"
    "请用文字描述您的问题，或拨打95598供电服务热线。"
)
VOICE_NOT_RECOGNISED_REPLY = (
    "抱歉，这条语音没能识别出文字。请再说一遍，或直接发文字给我；也可以拨打95598供电服务热线。"
)
# Descriptions kept in the transcript for what the bot cannot read, so an agent sees it arrived.
NON_TEXT_PLACEHOLDER = "[{kind}消息]"
KIND_NAMES = {
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "shortvideo": "小视频",
    "location": "位置",
    "link": "链接",
    "file": "文件",
}


def _success() -> PlainTextResponse:
    """WeChat's "received, no reply" answer; it then neither retries nor shows an error."""
    return PlainTextResponse("success")


def _forbidden() -> PlainTextResponse:
    return PlainTextResponse("invalid signature", status_code=status.HTTP_403_FORBIDDEN)


def _xml(content: str) -> Response:
    return Response(content=content, media_type="application/xml")


@router.get("/wechat", response_class=PlainTextResponse)
def verify_server_url(request: Request, settings: SettingsDep) -> PlainTextResponse:
    """WeChat's server URL check: echo `echostr` unchanged when the signature is right."""
    params = request.query_params
    echostr = params.get("echostr")
    if not echostr or not wechat.signature_is_valid(settings.wechat_token, params):
        return _forbidden()
    return PlainTextResponse(echostr)


@router.post(
    "/wechat",
    response_class=Response,
    responses={
        200: {"content": {"application/xml": {}, "text/plain": {}}, "description": "passive reply"},
        400: {"description": "malformed XML, or safe mode without WECHAT_AES_KEY"},
        403: {"description": "missing or wrong signature"},
    },
)
async def receive(request: Request, settings: SettingsDep, conversation_router: RouterDep) -> Response:
    params = request.query_params
    if not wechat.signature_is_valid(settings.wechat_token, params):
        logger.warning("wechat: refused a request with a missing or wrong signature")
        return _forbidden()

    encrypt_type = (params.get("encrypt_type") or "raw").lower()
    if encrypt_type != "raw":
        if not settings.wechat_aes_key:
            return PlainTextResponse(
                f"encrypt_type={encrypt_type} (safe mode) needs WECHAT_AES_KEY, which is not configured",
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        return PlainTextResponse(
            "safe mode (encrypt_type=aes) is not supported yet; switch the account to plaintext mode",
            status_code=status.HTTP_501_NOT_IMPLEMENTED,
        )

    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return PlainTextResponse("message too large", status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    try:
        message = wechat.parse_message(body)
    except wechat.MalformedMessageError as error:
        # Signed by WeChat yet unreadable: keep the body so nothing is lost.
        logger.error("wechat: malformed message (%s); body=%r", error, body[:4096])
        return PlainTextResponse(
            f"malformed WeChat message: {error}", status_code=status.HTTP_400_BAD_REQUEST
        )

    replies = await _answer(message, conversation_router)
    if not replies:
        return _success()
    return _xml(wechat.build_text_reply(message, "\n\n".join(replies)))


async def _answer(message: wechat.InboundMessage, conversation_router: RouterDep) -> list[str]:
    openid, msg_id = message.from_user, message.dedup_key
    text = message.text_for_bot
    try:
        if text is not None:
            return await conversation_router.handle_inbound(CHANNEL, openid, text, msg_id)
        if message.msg_type == "event":
            if message.event == "subscribe":
                return [WELCOME_REPLY]
            return []  # unsubscribe cannot be answered; menu and scan events come later
        placeholder = NON_TEXT_PLACEHOLDER.format(kind=KIND_NAMES.get(message.msg_type, message.msg_type))
        reply = VOICE_NOT_RECOGNISED_REPLY if message.msg_type == "voice" else UNSUPPORTED_REPLY
        return await conversation_router.record_direct_answer(CHANNEL, openid, placeholder, reply, msg_id)
    except Exception:
        # Never leave the customer with WeChat's "无法提供服务": log and answer politely.
        logger.exception("wechat: failed to handle %s message %s", message.msg_type, msg_id)
        return [RASA_UNAVAILABLE_REPLY]
