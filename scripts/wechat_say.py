"""Talk to the local /wechat endpoint as a WeChat user would, from the command line.

Signs the request with WECHAT_TOKEN exactly as WeChat's servers do and prints the
bot's passive reply. Usage:
    .venv/bin/python scripts/wechat_say.py "查余额" [--openid o_demo_user] [--url http://127.0.0.1:8000/wechat]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
import time
import xml.etree.ElementTree as ET

import httpx


def signed_params(token: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(8)
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def text_message_xml(openid: str, text: str, msg_id: int) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_demo_account]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("text")
    parser.add_argument("--openid", default="o_demo_cli_user")
    parser.add_argument("--url", default="http://127.0.0.1:8000/wechat")
    args = parser.parse_args()
    token = os.environ.get("WECHAT_TOKEN", "dev-wechat-token")
    body = text_message_xml(args.openid, args.text, secrets.randbelow(2**63))
    response = httpx.post(args.url, params=signed_params(token), content=body.encode(), timeout=10)
    if response.status_code != 200:
        print(f"HTTP {response.status_code}: {response.text}", file=sys.stderr)
        return 1
    is_xml = response.text.startswith("<xml")
    print(ET.fromstring(response.text).findtext("Content") if is_xml else response.text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
