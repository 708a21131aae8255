"""What a customer may do with work orders through the bot: lodge, list, look up, rate.

Gating is the balance endpoint's: an account's orders are visible only to a conversation that
verified that account within VERIFICATION_TTL_MINUTES. An order lodged in this very
conversation is visible to it too (an anonymous report, or one just created). Anything else
looks exactly like an unknown number, so existence is never revealed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clock import utcnow
from backend.models import Account, IdentityVerification, Ticket
from backend.services import audit
from backend.services.accounts import InvalidAccountNo, NotVerified, is_verified, normalise_account_no
from backend.services.workorders import (
    WorkOrderNotFound,
    create_work_order,
    get_work_order,
    list_for_customer,
    rate_work_order,
    transition,
)
from backend.settings import get_settings


def _ttl(ttl_minutes: int | None) -> int:
    return get_settings().verification_ttl_minutes if ttl_minutes is None else ttl_minutes


def verified_account_ids(
    session: Session, conversation_id: str, *, now: datetime | None = None, ttl_minutes: int | None = None
) -> list[int]:
    cutoff = (now or utcnow()) - timedelta(minutes=_ttl(ttl_minutes))
    rows = session.scalars(
        select(IdentityVerification.account_id)
        .where(
            IdentityVerification.conversation_id == conversation_id,
            IdentityVerification.success.is_(True),
            IdentityVerification.at >= cutoff,
            IdentityVerification.account_id.is_not(None),
        )
        .distinct()
    )
    return [account_id for account_id in rows if account_id is not None]


def _verified_account(
    session: Session, conversation_id: str, account_no: str, now: datetime | None, ttl_minutes: int | None
) -> Account:
    try:
        canonical = normalise_account_no(account_no)
    except InvalidAccountNo as error:
        raise NotVerified("not verified for this account") from error
    if not is_verified(
        session, conversation_id=conversation_id, account_no=canonical, now=now, ttl_minutes=_ttl(ttl_minutes)
    ):
        raise NotVerified("not verified for this account")
    account = session.scalars(select(Account).where(Account.account_no == canonical)).first()
    if account is None:
        raise NotVerified("not verified for this account")
    return account


def lodge(
    session: Session,
    *,
    conversation_id: str,
    channel: str,
    kind: str,
    category: str,
    summary: str,
    account_no: str | None = None,
    contact_phone: str | None = None,
    contact_time: str | None = None,
    related_ticket_no: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> Ticket:
    """Create an order for the customer. Naming an account requires this conversation to have
    verified it; linking to another order requires that order to be visible to the customer."""
    account = (
        _verified_account(session, conversation_id, account_no, now, ttl_minutes) if account_no else None
    )
    if related_ticket_no:
        customer_order(session, conversation_id=conversation_id, ticket_no=related_ticket_no, now=now)
    merged = dict(details or {})
    if contact_time:
        merged["contact_time"] = contact_time
    ticket = create_work_order(
        session,
        kind=kind,
        category=category,
        summary=summary,
        channel=channel,
        actor=f"conversation:{conversation_id}",
        account_id=account.id if account else None,
        conversation_id=conversation_id,
        contact_phone=contact_phone,
        details=merged or None,
        related_ticket_no=related_ticket_no,
        now=now,
    )
    if kind in FEEDBACK_KINDS:
        route_feedback(session, ticket, account, now=now)
    return ticket


FEEDBACK_KINDS = ("praise", "suggestion")
CUSTOMER_SERVICE_CENTRE = "县公司客户服务中心"
SERVICE_HALL = "县公司营业厅"


def feedback_team(account: Account | None, team_hint: str | None) -> str:
    """Who hears praise or a suggestion: the praised worker's 供电所 (from the customer's town),
    the service hall, or the customer service centre."""
    if team_hint == "营业厅":
        return SERVICE_HALL
    if account is not None and account.town:
        stem = account.town[:-1] if account.town.endswith(("镇", "乡")) else account.town
        return f"{stem}供电所"
    return CUSTOMER_SERVICE_CENTRE


def route_feedback(
    session: Session, ticket: Ticket, account: Account | None, *, now: datetime | None
) -> None:
    """Praise goes to the named worker's team, suggestions to the service centre (派单 by system)."""
    details = ticket.details or {}
    if ticket.kind == "praise":
        team = feedback_team(account, details.get("team_hint"))
        worker = details.get("worker")
        note = f"客户表扬{worker}，请转达本人及所在班组" if worker else "客户表扬，请转达相关班组"
    else:
        team, note = CUSTOMER_SERVICE_CENTRE, "客户意见建议，请研究答复"
    transition(
        session,
        ticket.ticket_no,
        "dispatch",
        actor="system",
        channel="system",
        note=note,
        assignee=team,
        now=now,
    )


def customer_orders(
    session: Session,
    *,
    conversation_id: str,
    account_no: str | None = None,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> list[Ticket]:
    """Orders of one verified account, or of every account verified in this conversation, plus
    those lodged in it. Naming an account that is not verified raises NotVerified."""
    if account_no:
        account_ids = [_verified_account(session, conversation_id, account_no, now, ttl_minutes).id]
    else:
        account_ids = verified_account_ids(session, conversation_id, now=now, ttl_minutes=ttl_minutes)
    orders = list_for_customer(session, account_ids=account_ids, conversation_id=conversation_id)
    _record_view(session, conversation_id, [order.ticket_no for order in orders])
    return orders


def customer_order(
    session: Session,
    *,
    conversation_id: str,
    ticket_no: str,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> Ticket:
    """One order if this conversation may see it; WorkOrderNotFound otherwise (also when unknown)."""
    ticket = get_work_order(session, ticket_no)
    if ticket is None:
        raise WorkOrderNotFound(ticket_no)
    if ticket.conversation_id != conversation_id and (
        ticket.account_id is None
        or ticket.account_id
        not in verified_account_ids(session, conversation_id, now=now, ttl_minutes=ttl_minutes)
    ):
        raise WorkOrderNotFound(ticket_no)
    return ticket


def rate(
    session: Session,
    *,
    conversation_id: str,
    channel: str,
    ticket_no: str,
    rating: str,
    comment: str | None = None,
    now: datetime | None = None,
    ttl_minutes: int | None = None,
) -> Ticket:
    customer_order(
        session, conversation_id=conversation_id, ticket_no=ticket_no, now=now, ttl_minutes=ttl_minutes
    )
    return rate_work_order(
        session,
        ticket_no,
        rating,
        actor=f"conversation:{conversation_id}",
        channel=channel,
        comment=comment,
        now=now,
    )


def _record_view(session: Session, conversation_id: str, ticket_nos: list[str]) -> None:
    """A view of customer data is an audit event (architecture: audit conventions)."""
    if not ticket_nos:
        return
    audit.record(
        session,
        actor=f"conversation:{conversation_id}",
        action="workorder.view",
        entity_type="work_order",
        entity_id=ticket_nos[0] if len(ticket_nos) == 1 else None,
        channel=None,
        after={"ticket_nos": ticket_nos[:50]},
    )
