"""`python -m backend.scheduler`: the work-order time-limit worker (`make run` starts one).

Every interval it
- fills in due times for open orders that have none (e.g. seeded or imported ones),
- marks orders whose contact or answer limit is close (at_risk: priority raised, supervisor
  notified) or passed (breached: escalated 升级 by `system`, supervisor notified),
- verifies the audit chain and moves the signed checkpoint file to the new head.

Safe in several copies and idempotent: an order's SLA state only moves forward (ok → at_risk →
breached), each step is taken once under a row lock (PostgreSQL `FOR UPDATE SKIP LOCKED`, so
copies split the work; SQLite: the database write lock), and supervisor notifications carry a
unique key. Running it twice with the same clock changes nothing the second time.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.clock import ensure_utc, utcnow
from backend.db import make_engine, make_session_factory
from backend.models import Ticket
from backend.services import audit
from backend.services.applications import flag_overdue
from backend.services.audit_checkpoint import verify_and_checkpoint
from backend.services.workorders import (
    notify_supervisor,
    raise_priority,
    set_due_times,
    snapshot,
    transition,
)
from backend.sla import default_book, stage

logger = logging.getLogger("backend.scheduler")

SYSTEM_ACTOR = "system"
SYSTEM_CHANNEL = "system"
BATCH_SIZE = 200
# Contact is pending until the handler starts (处理中); the answer until it is given.
CONTACT_PENDING_STATES = ("accepted", "dispatched", "acknowledged")
ANSWER_PENDING_STATES = ("accepted", "dispatched", "acknowledged", "in_progress")
STAGE_RANK = {"ok": 0, "none": 0, "met": 0, "at_risk": 1, "breached": 2}
DEADLINE_LABELS = {"contact": "联系客户", "answer": "答复"}


@dataclass
class SweepResult:
    examined: int = 0
    due_times_set: list[str] = field(default_factory=list)
    at_risk: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)
    applications_overdue: list[str] = field(default_factory=list)
    audit_ok: bool | None = None
    audit_reason: str | None = None

    @property
    def changes(self) -> int:
        return (
            len(self.due_times_set) + len(self.at_risk) + len(self.breached) + len(self.applications_overdue)
        )


def _candidates(session: Session, limit: int) -> list[Ticket]:
    query = (
        select(Ticket)
        .where(Ticket.status.in_(ANSWER_PENDING_STATES))
        .where(Ticket.contact_sla.in_(("ok", "at_risk")) | Ticket.answer_sla.in_(("ok", "at_risk")))
        .order_by(Ticket.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Copies split the work: an order another copy is handling is skipped, not waited for.
        query = query.with_for_update(skip_locked=True)
    else:
        # SQLite has no row locks: take the database write lock before reading, held until commit.
        session.execute(text("UPDATE tickets SET id = id WHERE 0 = 1"))
    return list(session.scalars(query.execution_options(populate_existing=True)))


def _backfill_due_times(session: Session, ticket: Ticket) -> bool:
    if ticket.contact_due_at is not None or ticket.answer_due_at is not None:
        return False
    if ticket.contact_sla != "ok" or ticket.answer_sla != "ok":
        return False  # already evaluated: this kind simply has no limit ("none")
    before = snapshot(ticket)
    set_due_times(session, ticket, ensure_utc(ticket.created_at))
    session.flush()
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action="workorder.sla_set",
        entity_type="work_order",
        entity_id=ticket.ticket_no,
        channel=SYSTEM_CHANNEL,
        before=before,
        after=snapshot(ticket),
    )
    return True


def _evaluate(session: Session, ticket: Ticket, deadline: str, now: datetime, result: SweepResult) -> None:
    due = ticket.contact_due_at if deadline == "contact" else ticket.answer_due_at
    current = ticket.contact_sla if deadline == "contact" else ticket.answer_sla
    if due is None or current not in ("ok", "at_risk"):
        return
    # A reopened order's window starts at the reopening, when its due times were reset.
    start = _reopened_at(ticket) if ticket.reopen_count else ensure_utc(ticket.created_at)
    start = min(start, ensure_utc(due))
    reached = stage(start, due, now, default_book().at_risk_fraction)
    if STAGE_RANK[reached] <= STAGE_RANK[current]:
        return
    before = snapshot(ticket)
    label = DEADLINE_LABELS[deadline]
    if deadline == "contact":
        ticket.contact_sla = reached
    else:
        ticket.answer_sla = reached
    if reached == "at_risk":
        ticket.priority = (
            ticket.priority if ticket.priority in ("high", "urgent") else raise_priority(ticket.priority)
        )
    session.flush()
    audit.record(
        session,
        actor=SYSTEM_ACTOR,
        action=f"workorder.sla_{reached}",
        entity_type="work_order",
        entity_id=ticket.ticket_no,
        channel=SYSTEM_CHANNEL,
        before=before,
        after={**snapshot(ticket), "deadline": deadline},
    )
    if reached == "breached":
        transition(
            session,
            ticket.ticket_no,
            "escalate",
            actor=SYSTEM_ACTOR,
            channel=SYSTEM_CHANNEL,
            note=f"{label}时限已超（应于{ensure_utc(due).isoformat()}前）",
            now=now,
        )
        result.breached.append(ticket.ticket_no)
        message = f"工单{ticket.ticket_no}已超过{label}时限，已自动升级，请督办。"
    else:
        result.at_risk.append(ticket.ticket_no)
        message = f"工单{ticket.ticket_no}即将超过{label}时限，请关注。"
    notify_supervisor(session, ticket, reason=reached, deadline=deadline, message=message, now=now)


def _reopened_at(ticket: Ticket) -> datetime:
    reopened = (ticket.details or {}).get("reopened_at")
    return ensure_utc(datetime.fromisoformat(reopened)) if reopened else ensure_utc(ticket.updated_at)


def sweep(session: Session, *, now: datetime | None = None, limit: int = BATCH_SIZE) -> SweepResult:
    """One pass over open orders in the caller's transaction (the caller commits)."""
    at = now or utcnow()
    result = SweepResult()
    for ticket in _candidates(session, limit):
        result.examined += 1
        if _backfill_due_times(session, ticket):
            result.due_times_set.append(ticket.ticket_no)
        if ticket.status in CONTACT_PENDING_STATES and ticket.contacted_at is None:
            _evaluate(session, ticket, "contact", at, result)
        if ticket.answered_at is None:
            _evaluate(session, ticket, "answer", at, result)
    # Service applications have their own time limits (backend/services/applications.py).
    result.applications_overdue = flag_overdue(session, now=at)
    return result


def run_once(
    factory: sessionmaker[Session],
    *,
    now: datetime | None = None,
    checkpoint: Path | None = None,
) -> SweepResult:
    with factory() as session:
        try:
            result = sweep(session, now=now)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    if checkpoint is not None:
        with factory() as session:
            report = verify_and_checkpoint(session, checkpoint)
            session.rollback()
        result.audit_ok, result.audit_reason = report.ok, report.reason
        if not report.ok:
            logger.error("audit chain check failed at %s: %s", report.first_broken_id, report.reason)
    return result


def main(argv: list[str] | None = None) -> int:
    from backend.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=settings.database_url)
    parser.add_argument("--interval", type=float, default=settings.scheduler_interval_seconds)
    parser.add_argument("--once", action="store_true", help="one sweep, then exit (tests, cron)")
    parser.add_argument("--now", help="ISO time to sweep at instead of the clock (tests)")
    parser.add_argument("--checkpoint", type=Path, default=settings.audit_checkpoint_path)
    parser.add_argument("--checkpoint-every", type=int, default=5, help="sweeps between audit checkpoints")
    parser.add_argument("--no-checkpoint", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    now = ensure_utc(datetime.fromisoformat(args.now)) if args.now else None
    engine = make_engine(args.database_url)
    factory = make_session_factory(engine)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sweeps = 0
    exit_code = 0
    try:
        while True:
            write_checkpoint = not args.no_checkpoint and (
                args.once or sweeps % max(args.checkpoint_every, 1) == 0
            )
            try:
                result = run_once(factory, now=now, checkpoint=args.checkpoint if write_checkpoint else None)
            except Exception:  # a bad sweep must not kill the worker; the next one retries
                logger.exception("sweep failed")
                exit_code = 1
            else:
                exit_code = 0 if result.audit_ok in (None, True) else 1
                logger.info(
                    "sweep: examined=%d due_set=%d at_risk=%d breached=%d audit_ok=%s",
                    result.examined,
                    len(result.due_times_set),
                    len(result.at_risk),
                    len(result.breached),
                    result.audit_ok,
                )
            sweeps += 1
            if args.once or stopping:
                break
            deadline = time.monotonic() + args.interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(1.0, args.interval))
    finally:
        engine.dispose()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
