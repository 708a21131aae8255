"""Monthly usage as an SVG bar chart for web chat, and the signed short-lived link that serves it.

The browser that shows the chart holds no service token, so the link carries its own proof: an
HMAC over (account, conversation, expiry) with a key derived from the service token. It names the
account only through the conversation that verified it, and it expires after a few minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape

from backend.clock import utcnow

LINK_MINUTES = 10
WIDTH, HEIGHT = 560, 260
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 40, 36, 28


class BadChartToken(ValueError):
    pass


@dataclass(frozen=True)
class ChartGrant:
    account_no: str
    conversation_id: str
    expires_at: datetime


def _key(secret: str) -> bytes:
    return hashlib.sha256(f"usage-chart:{secret}".encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_chart_token(account_no: str, conversation_id: str, secret: str, now: datetime | None = None) -> str:
    expires = int(((now or utcnow()) + timedelta(minutes=LINK_MINUTES)).timestamp())
    payload = f"{account_no}|{conversation_id}|{expires}".encode()
    signature = hmac.new(_key(secret), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def read_chart_token(token: str, secret: str, now: datetime | None = None) -> ChartGrant:
    try:
        payload_text, signature_text = token.split(".", 1)
        payload, signature = _unb64(payload_text), _unb64(signature_text)
        expected = hmac.new(_key(secret), payload, hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            raise BadChartToken("bad signature")
        account_no, conversation_id, expires = payload.decode().split("|")
        expires_at = datetime.fromtimestamp(int(expires), tz=(now or utcnow()).tzinfo or None)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadChartToken(str(error)) from error
    if (now or utcnow()).timestamp() > int(expires):
        raise BadChartToken("expired")
    return ChartGrant(account_no, conversation_id, expires_at)


def usage_svg(title: str, points: list[tuple[str, Decimal]]) -> str:
    """Bars with the kWh above each one and the month under it; plain SVG, no script."""
    plot_w = WIDTH - MARGIN_LEFT - 10
    plot_h = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    top = max((value for _, value in points), default=Decimal(0)) or Decimal(1)
    slot = plot_w / max(len(points), 1)
    bar_w = slot * 0.6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<text x="{WIDTH / 2:.0f}" y="18" font-size="14" text-anchor="middle" fill="#333">'
        f"{escape(title)}</text>",
        f'<line x1="{MARGIN_LEFT}" y1="{HEIGHT - MARGIN_BOTTOM}" x2="{WIDTH - 10}" '
        f'y2="{HEIGHT - MARGIN_BOTTOM}" stroke="#999"/>',
    ]
    for index, (label, value) in enumerate(points):
        height = float(value / top) * plot_h
        x = MARGIN_LEFT + index * slot + (slot - bar_w) / 2
        y = HEIGHT - MARGIN_BOTTOM - height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{height:.1f}" fill="#00796b">'
            f"<title>{escape(label)} {value:f}度</title></rect>"
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" font-size="10" text-anchor="middle" '
            f'fill="#333">{int(value)}</text>'
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 14}" font-size="10" '
            f'text-anchor="middle" fill="#555">{escape(label)}</text>'
        )
    parts.append(
        f'<text x="{MARGIN_LEFT}" y="{HEIGHT - 6}" font-size="10" fill="#777">单位：度（kWh）</text></svg>'
    )
    return "".join(parts)
