"""Human handoff: the queue, claiming, transfer, hand-back, close, and what a queued customer hears.

A conversation is `bot`, `queued`, `agent` or `closed` (Conversation.status); each stay with
people is one `Handoff` row. Every change is an audit event in the same transaction:
handoff.request, handoff.claim, handoff.transfer, handoff.hand_back, handoff.close,
handoff.callback, customer.unmask. Requests are idempotent: the action server and the router may
both report the same handoff (see api/router.py), and the second report changes nothing except
raising the priority when it is higher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.clock import utcnow
from backend.masking import mask_account_no, mask_address, mask_name, mask_phone
from backend.models import Account, Conversation, IdentityVerification, Message, Ticket
from backend.models_handoff import Handoff, HandoffNote
from backend.services import audit, conversations
from backend.settings import get_settings

OPEN_STATES = ("queued", "agent")
REASONS = (
    "customer_request",
    "fallback",
    "verification_failed",
    "angry_complaint",
    "hazard",
    "backend_unavailable",
    "agent_request",
)
WECHAT_WINDOW = timedelta(hours=48)
WECHAT_REPLIES_PER_MESSAGE = 5
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")

QUEUED_REPLY = (
    "您已进入人工客服排队，前面还有{ahead}位，预计等待约{minutes}分钟（仅供参考）。"
    "您可以继续留言，客服接入后会看到；如不便等待，请直接发送您的手机号码，我们安排客服回电。"
)
CALLBACK_RECORDED_REPLY = "已记下您的回电号码{phone}，客服会尽快给您回电。您也可以继续在这里等待。"
AGENT_WILL_ANSWER_REPLY = "您的消息已收到，人工客服会尽快回复您，请稍候。"
HANDED_BACK_NOTICE = "人工客服已结束本次服务，接下来由智能客服继续为您服务。"
CLOSED_NOTICE = "本次人工服务已结束，感谢您的耐心。如还有问题，直接发消息即可。"


class HandoffError(Exception):
    pass


class ConversationNotFound(HandoffError, LookupError):
    pass


class HandoffNotFound(HandoffError, LookupError):
    pass


class InvalidHandoffState(HandoffError):
    pass


class NotPermitted(HandoffError, PermissionError):
    pass


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class HandoffConfig:
    queues: dict[str, str]
    priorities: dict[str, int]
    reason_queue: dict[str, str]
    default_minutes: float
    min_samples: int
    anger_lexicon: tuple[str, ...]


@lru_cache(maxsize=4)
def _load_config(path: Path) -> HandoffConfig:
    with path.open(encoding="utf-8") as handle:
        raw: dict[str, Any] = yaml.safe_load(handle)
    return HandoffConfig(
        queues={str(k): str(v) for k, v in raw["queues"].items()},
        priorities={str(k): int(v) for k, v in raw["priorities"].items()},
        reason_queue={str(k): str(v) for k, v in (raw.get("reason_queue") or {}).items()},
        default_minutes=float(raw["default_minutes_per_conversation"]),
        min_samples=int(raw.get("min_samples", 5)),
        anger_lexicon=tuple(str(word) for word in raw.get("anger_lexicon") or ()),
    )


def config() -> HandoffConfig:
    return _load_config(get_settings().handoff_config)


@lru_cache(maxsize=4)
def _load_canned(path: Path) -> tuple[dict[str, str], ...]:
    with path.open(encoding="utf-8") as handle:
        raw: dict[str, Any] = yaml.safe_load(handle)
    return tuple(
        {"key": str(r["key"]), "title": str(r["title"]), "text": str(r["text"])} for r in raw["responses"]
    )


def canned_responses() -> list[dict[str, str]]:
    return list(_load_canned(get_settings().canned_responses_config))


# ---------------------------------------------------------------- lookups


def _conversation(session: Session, conversation_id: str) -> Conversation:
    conversation = conversations.find_conversation(session, conversation_id)
    if conversation is None:
        raise ConversationNotFound(conversation_id)
    return conversation


def open_handoff(session: Session, conversation_pk: int) -> Handoff | None:
    return session.scalars(
        select(Handoff)
        .where(Handoff.conversation_pk == conversation_pk, Handoff.state.in_(OPEN_STATES))
        .order_by(Handoff.id.desc())
    ).first()


def latest_handoff(session: Session, conversation_pk: int) -> Handoff | None:
    return session.scalars(
        select(Handoff).where(Handoff.conversation_pk == conversation_pk).order_by(Handoff.id.desc())
    ).first()


def get_handoff(session: Session, handoff_id: int, *, for_update: bool = False) -> Handoff:
    query = select(Handoff).where(Handoff.id == handoff_id)
    if for_update:
        query = query.with_for_update()
    handoff = session.scalars(query).first()
    if handoff is None:
        raise HandoffNotFound(str(handoff_id))
    return handoff


def _snapshot(handoff: Handoff) -> dict[str, Any]:
    return {
        "state": handoff.state,
        "queue": handoff.queue,
        "priority": handoff.priority,
        "assigned_to": handoff.assigned_to,
    }


def _audit(
    session: Session,
    handoff: Handoff,
    action: str,
    *,
    actor: str,
    before: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    """One audit event for a change of this handoff, with its state before and after."""
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="handoff",
        entity_id=handoff.id,
        channel=handoff.channel,
        before=before,
        after={**_snapshot(handoff), **(extra or {})},
    )


# ---------------------------------------------------------------- request, position, wait


def request_handoff(
    session: Session,
    conversation_id: str,
    *,
    reason: str,
    actor: str,
    priority: str | None = None,
    summary: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Handoff:
    """Queue the conversation for a person (or return its open handoff). The caller commits."""
    if reason not in REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}")
    cfg = config()
    priority = priority or (
        "hazard" if reason == "hazard" else "urgent" if reason == "angry_complaint" else "normal"
    )
    if priority not in cfg.priorities:
        raise ValueError(f"unknown priority {priority!r}")
    now = now or utcnow()
    conversation = _conversation(session, conversation_id)
    existing = open_handoff(session, conversation.id)
    if existing is not None:
        if cfg.priorities[priority] < existing.priority_rank:
            before = _snapshot(existing)
            existing.priority, existing.priority_rank = priority, cfg.priorities[priority]
            _audit(session, existing, "handoff.reprioritise", actor=actor, before=before)
        if summary:
            # The router may have queued first with little to say; the action's summary adds to it.
            existing.summary = {**(existing.summary or {}), **summary}
        return existing
    handoff = Handoff(
        conversation_pk=conversation.id,
        conversation_id=conversation.public_id,
        channel=conversation.channel,
        state="queued",
        queue=cfg.reason_queue.get(reason, "general"),
        priority=priority,
        priority_rank=cfg.priorities[priority],
        reason=reason,
        summary=summary,
        queued_at=now,
    )
    session.add(handoff)
    before_status = conversation.status
    conversation.status = "queued"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="handoff.request",
        entity_type="handoff",
        entity_id=handoff.id,
        channel=conversation.channel,
        before={"conversation_status": before_status},
        after={**_snapshot(handoff), "reason": reason, "conversation_id": conversation.public_id},
    )
    return handoff


def position_in_queue(session: Session, handoff: Handoff) -> int:
    """1 = next to be served in its queue (priority first, then who has waited longest)."""
    if handoff.state != "queued":
        return 0
    ahead = session.scalar(
        select(func.count())
        .select_from(Handoff)
        .where(
            Handoff.state == "queued",
            Handoff.queue == handoff.queue,
            (Handoff.priority_rank < handoff.priority_rank)
            | ((Handoff.priority_rank == handoff.priority_rank) & (Handoff.queued_at < handoff.queued_at))
            | (
                (Handoff.priority_rank == handoff.priority_rank)
                & (Handoff.queued_at == handoff.queued_at)
                & (Handoff.id < handoff.id)
            ),
        )
    )
    return int(ahead or 0) + 1


def minutes_per_conversation(session: Session, *, now: datetime | None = None) -> float:
    """Measured mean wait of the last day's claims when there are enough; the configured default else."""
    cfg = config()
    now = now or utcnow()
    rows = session.execute(
        select(Handoff.queued_at, Handoff.claimed_at).where(
            Handoff.claimed_at.is_not(None), Handoff.claimed_at >= now - timedelta(days=1)
        )
    ).all()
    if len(rows) < cfg.min_samples:
        return cfg.default_minutes
    waits: list[float] = [(c - q).total_seconds() / 60 for q, c in rows if c is not None]
    return max(1.0, sum(waits) / len(waits))


def estimated_wait_minutes(session: Session, handoff: Handoff, *, now: datetime | None = None) -> int:
    position = position_in_queue(session, handoff)
    if position == 0:
        return 0
    return max(1, round(position * minutes_per_conversation(session, now=now)))


def queued_reply(session: Session, handoff: Handoff) -> str:
    position = position_in_queue(session, handoff)
    return QUEUED_REPLY.format(ahead=max(0, position - 1), minutes=estimated_wait_minutes(session, handoff))


def waiting_seconds(handoff: Handoff, now: datetime | None = None) -> int:
    return int(((now or utcnow()) - handoff.queued_at).total_seconds())


def record_callback(session: Session, handoff: Handoff, phone: str, *, actor: str = "customer") -> None:
    handoff.callback_phone = phone
    audit.record(
        session,
        actor=actor,
        action="handoff.callback",
        entity_type="handoff",
        entity_id=handoff.id,
        channel=handoff.channel,
        after={"callback_phone": mask_phone(phone)},
    )


def reply_while_human(session: Session, conversation: Conversation, text: str) -> list[str]:
    """What the customer hears (from us, not the bot) while queued or with an agent."""
    handoff = open_handoff(session, conversation.id)
    if handoff is None:
        return [AGENT_WILL_ANSWER_REPLY] if conversation.channel != "web" else []
    if handoff.state == "queued":
        phone = _MOBILE.search(text)
        if phone is not None:
            record_callback(session, handoff, phone.group(1))
            return [CALLBACK_RECORDED_REPLY.format(phone=mask_phone(phone.group(1)))]
        return [queued_reply(session, handoff)]
    # With an agent: web chat shows the agent typing; WeChat gets one acknowledgement per message.
    return [] if conversation.channel == "web" else [AGENT_WILL_ANSWER_REPLY]


# ---------------------------------------------------------------- the console side


def visible_queues(role: str, own_queue: str) -> list[str] | None:
    """None: every queue (supervisors and admins)."""
    return None if role in ("supervisor", "admin") else [own_queue]


def may_access(handoff: Handoff, *, role: str, username: str, own_queue: str) -> bool:
    queues = visible_queues(role, own_queue)
    return queues is None or handoff.queue in queues or handoff.assigned_to == username


def list_open(session: Session, *, queues: list[str] | None, username: str | None = None) -> list[Handoff]:
    """Open handoffs, hazards first, then longest wait; an agent also sees what is assigned to them."""
    query = select(Handoff).where(Handoff.state.in_(OPEN_STATES))
    if queues is not None:
        condition: Any = Handoff.queue.in_(queues)
        if username:
            condition = condition | (Handoff.assigned_to == username)
        query = query.where(condition)
    query = query.order_by(Handoff.priority_rank, Handoff.queued_at, Handoff.id)
    return list(session.scalars(query))


def claim(
    session: Session, handoff_id: int, *, username: str, actor: str, now: datetime | None = None
) -> Handoff:
    handoff = get_handoff(session, handoff_id, for_update=True)
    if handoff.state != "queued":
        raise InvalidHandoffState(f"handoff {handoff_id} is {handoff.state}, not queued")
    before = _snapshot(handoff)
    handoff.state, handoff.assigned_to = "agent", username
    handoff.claimed_at = handoff.claimed_at or (now or utcnow())
    _set_conversation_status(session, handoff, "agent")
    _audit(session, handoff, "handoff.claim", actor=actor, before=before)
    return handoff


def transfer(
    session: Session,
    handoff_id: int,
    *,
    actor: str,
    to_queue: str | None = None,
    to_agent: str | None = None,
    note: str | None = None,
) -> Handoff:
    """To a queue: back to waiting there (the original wait start is kept). To an agent: theirs now."""
    if (to_queue is None) == (to_agent is None):
        raise ValueError("transfer to exactly one of a queue or an agent")
    handoff = get_handoff(session, handoff_id, for_update=True)
    if handoff.state not in OPEN_STATES:
        raise InvalidHandoffState(f"handoff {handoff_id} is {handoff.state}")
    before = _snapshot(handoff)
    if to_queue is not None:
        if to_queue not in config().queues:
            raise ValueError(f"unknown queue {to_queue!r}")
        handoff.queue, handoff.state, handoff.assigned_to = to_queue, "queued", None
        _set_conversation_status(session, handoff, "queued")
    else:
        handoff.assigned_to, handoff.state = to_agent, "agent"
        handoff.claimed_at = handoff.claimed_at or utcnow()
        _set_conversation_status(session, handoff, "agent")
    _audit(session, handoff, "handoff.transfer", actor=actor, before=before, extra={"note": note})
    return handoff


def hand_back(session: Session, handoff_id: int, *, actor: str, now: datetime | None = None) -> Handoff:
    handoff = get_handoff(session, handoff_id, for_update=True)
    if handoff.state not in OPEN_STATES:
        raise InvalidHandoffState(f"handoff {handoff_id} is {handoff.state}")
    before = _snapshot(handoff)
    handoff.state, handoff.ended_at = "returned", now or utcnow()
    conversation = _set_conversation_status(session, handoff, "bot")
    conversation.reply_address = None  # the openid is kept only while people own the conversation
    conversations.record_outbound(session, conversation, [HANDED_BACK_NOTICE], sender="system")
    _audit(session, handoff, "handoff.hand_back", actor=actor, before=before)
    return handoff


def close(
    session: Session, handoff_id: int, *, actor: str, summary: str, now: datetime | None = None
) -> Handoff:
    if not summary.strip():
        raise ValueError("a close needs a summary")
    handoff = get_handoff(session, handoff_id, for_update=True)
    if handoff.state not in OPEN_STATES:
        raise InvalidHandoffState(f"handoff {handoff_id} is {handoff.state}")
    before = _snapshot(handoff)
    handoff.state, handoff.ended_at, handoff.close_summary = "closed", now or utcnow(), summary.strip()
    conversation = _set_conversation_status(session, handoff, "closed")
    conversation.reply_address = None
    conversations.record_outbound(session, conversation, [CLOSED_NOTICE], sender="system")
    _audit(session, handoff, "handoff.close", actor=actor, before=before, extra={"summary": summary.strip()})
    return handoff


def _set_conversation_status(session: Session, handoff: Handoff, status: str) -> Conversation:
    conversation = session.get(Conversation, handoff.conversation_pk)
    if conversation is None:  # pragma: no cover - conversations are never deleted
        raise ConversationNotFound(handoff.conversation_id)
    conversation.status = status
    return conversation


# ---------------------------------------------------------------- messages and notes


def add_note(
    session: Session, conversation_id: str, *, author: str, author_name: str, text: str
) -> HandoffNote:
    conversation = _conversation(session, conversation_id)
    note = HandoffNote(
        conversation_pk=conversation.id, author=author, author_name=author_name, text=text.strip()
    )
    session.add(note)
    session.flush()
    return note


def notes(session: Session, conversation_pk: int) -> list[HandoffNote]:
    return list(
        session.scalars(
            select(HandoffNote).where(HandoffNote.conversation_pk == conversation_pk).order_by(HandoffNote.id)
        )
    )


@dataclass(frozen=True)
class ReplyWindow:
    allowed: bool
    reason: str | None  # Chinese, for the console


def wechat_reply_window(
    session: Session, conversation: Conversation, *, now: datetime | None = None
) -> ReplyWindow:
    """WeChat's 客服消息 rule: within 48 h of the customer's last message, at most 5 per message."""
    if conversation.channel != "wechat":
        return ReplyWindow(True, None)
    now = now or utcnow()
    last_in = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.direction == "in")
        .order_by(Message.id.desc())
    ).first()
    if last_in is None or now - last_in.created_at > WECHAT_WINDOW:
        return ReplyWindow(
            False, "客户最后一条消息已超过48小时，微信不允许再主动回复。请改为电话回访，或等客户再次发消息。"
        )
    sent = (
        session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.conversation_id == conversation.id, Message.sender == "agent", Message.id > last_in.id
            )
        )
        or 0
    )
    if sent >= WECHAT_REPLIES_PER_MESSAGE:
        return ReplyWindow(
            False, "客户上一条消息之后已回复5条，微信不允许继续发送。请等客户回复后再发，或合并成一条。"
        )
    return ReplyWindow(True, None)


def record_agent_reply(session: Session, conversation_id: str, *, text: str, agent_name: str) -> Message:
    conversation = _conversation(session, conversation_id)
    message = conversations.record_outbound(session, conversation, [text], sender="agent")[0]
    message.sender_name = agent_name
    return message


# ---------------------------------------------------------------- the customer panel


def verified_account(session: Session, conversation_id: str) -> Account | None:
    """The account this conversation last proved (within the verification TTL)."""
    ttl = timedelta(minutes=get_settings().verification_ttl_minutes)
    row = session.scalars(
        select(IdentityVerification)
        .where(
            IdentityVerification.conversation_id == conversation_id,
            IdentityVerification.success.is_(True),
            IdentityVerification.at >= utcnow() - ttl,
        )
        .order_by(IdentityVerification.id.desc())
    ).first()
    if row is None or row.account_id is None:
        return None
    return session.get(Account, row.account_id)


def customer_panel(
    session: Session, conversation_id: str, *, actor: str, unmask_reason: str | None = None
) -> dict[str, Any]:
    """Masked by default; with a reason the full data, and the view is audited."""
    conversation = _conversation(session, conversation_id)
    account = verified_account(session, conversation_id)
    handoff = latest_handoff(session, conversation.id)
    panel: dict[str, Any] = {
        "conversation_id": conversation.public_id,
        "channel": conversation.channel,
        "summary": handoff.summary if handoff else None,
        "callback_phone": mask_phone(handoff.callback_phone) if handoff and handoff.callback_phone else None,
        "account": None,
        "unmasked": False,
        "tickets": [
            {"ticket_no": t.ticket_no, "kind": t.kind, "status": t.status, "summary": t.summary[:80]}
            for t in session.scalars(
                select(Ticket)
                .where(Ticket.conversation_id == conversation.public_id)
                .order_by(Ticket.id.desc())
                .limit(10)
            )
        ],
    }
    if account is None:
        if unmask_reason:
            raise LookupError("no verified account in this conversation")
        return panel
    customer = account.customer
    unmask = bool(unmask_reason and unmask_reason.strip())
    panel["account"] = {
        "account_no": account.account_no if unmask else mask_account_no(account.account_no),
        "holder": customer.name if unmask else mask_name(customer.name),
        "phone": customer.phone if unmask else mask_phone(customer.phone),
        "address": account.address if unmask else mask_address(account.address),
        "payment_mode": account.payment_mode,
        "balance_yuan": f"{account.balance_yuan:.2f}",
        "arrears_yuan": f"{account.arrears_yuan:.2f}",
        "supply_status": account.supply_status,
    }
    if unmask:
        panel["unmasked"] = True
        audit.record(
            session,
            actor=actor,
            action="customer.unmask",
            entity_type="account",
            entity_id=mask_account_no(account.account_no),
            channel="console",
            after={"reason": (unmask_reason or "").strip()[:200], "conversation_id": conversation.public_id},
        )
    return panel


def summary_for_transcript(summary: dict[str, Any] | None) -> str:
    """One line an agent reads first: why, what was asked, which account."""
    if not summary:
        return ""
    parts = []
    if summary.get("intents"):
        parts.append("意图：" + "、".join(str(i) for i in summary["intents"]))
    if summary.get("account_masked"):
        parts.append("已验证户号：" + str(summary["account_masked"]))
    return "；".join(parts)
