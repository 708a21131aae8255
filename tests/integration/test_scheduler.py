"""The time-limit worker with a moved clock: at risk, breached and escalated once, however often
and in however many copies it runs. Own fresh database: it sweeps every open order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fresh_database import fresh_database
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend import scheduler
from backend.db import make_engine, make_session_factory
from backend.models import AuditEvent, Ticket
from backend.models_workorders import SupervisorNotification
from backend.seed import seed_demo
from backend.services import workorders as wo
from backend.services.audit_checkpoint import read_checkpoint

REPO = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("KEFU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # Thursday 14:00 in 新乡


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> Iterator[str]:
    if request.param == "postgresql" and os.environ.get("KEFU_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("PostgreSQL tests skipped by KEFU_TEST_SKIP_POSTGRES=1")
    with fresh_database(request.param, tmp_path, POSTGRES_URL) as url:
        yield url


@pytest.fixture
def factory(fresh_url) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_url)
    yield make_session_factory(engine)
    engine.dispose()


def lodge(factory, **overrides) -> str:
    with factory() as session:
        fields = {
            "kind": "complaint",
            "category": "服务投诉",
            "summary": "营业厅排队两小时没人管",
            "channel": "wechat",
            "actor": "conversation:wx-test",
            "now": T0,
        }
        fields.update(overrides)
        ticket = wo.create_work_order(session, **fields)
        session.commit()
        return ticket.ticket_no


def state(factory, ticket_no: str) -> tuple[str, str, str, int, int, int]:
    with factory() as session:
        ticket = wo.get_work_order(session, ticket_no)
        assert ticket is not None
        notes = session.scalar(
            select(func.count())
            .select_from(SupervisorNotification)
            .where(SupervisorNotification.ticket_id == ticket.id)
        )
        events = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.entity_id == ticket_no)
        )
        return (
            ticket.contact_sla,
            ticket.answer_sla,
            ticket.priority,
            ticket.escalation_level,
            notes,
            events,
        )


def test_moved_clock_marks_at_risk_then_breached_and_escalates_once(factory) -> None:
    ticket_no = lodge(factory)
    assert scheduler.run_once(factory, now=T0 + timedelta(hours=1)).changes == 0
    assert state(factory, ticket_no)[:4] == ("ok", "ok", "normal", 0)

    # 18 of 24 hours gone: the contact limit is about to pass.
    result = scheduler.run_once(factory, now=T0 + timedelta(hours=19))
    assert result.at_risk == [ticket_no]
    assert state(factory, ticket_no)[:5] == ("at_risk", "ok", "high", 0, 1)

    after_risk = state(factory, ticket_no)
    assert scheduler.run_once(factory, now=T0 + timedelta(hours=19)).changes == 0
    assert state(factory, ticket_no) == after_risk  # nothing changes twice

    result = scheduler.run_once(factory, now=T0 + timedelta(hours=25))
    assert result.breached == [ticket_no]
    contact, answer, priority, level, notes, _ = state(factory, ticket_no)
    assert (contact, answer, priority, level, notes) == ("breached", "ok", "urgent", 1, 2)
    with factory() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity_id == ticket_no).order_by(AuditEvent.id)
        ).all()
        kinds = session.scalars(
            select(SupervisorNotification.reason).order_by(SupervisorNotification.id)
        ).all()
    assert actions[-2:] == ["workorder.sla_breached", "workorder.escalate"]
    assert kinds == ["at_risk", "breached"]

    after_breach = state(factory, ticket_no)
    assert scheduler.run_once(factory, now=T0 + timedelta(hours=26)).changes == 0
    assert state(factory, ticket_no) == after_breach

    # The answer limit (4 working days: end of Wed 2 Dec) passes later, and is escalated once more.
    result = scheduler.run_once(factory, now=T0 + timedelta(days=7))
    assert result.breached == [ticket_no]
    assert state(factory, ticket_no)[:4] == ("breached", "breached", "urgent", 2)
    assert scheduler.run_once(factory, now=T0 + timedelta(days=8)).changes == 0


def test_handled_orders_are_left_alone(factory) -> None:
    ticket_no = lodge(factory)
    with factory() as session:
        for step, extra in (("dispatch", {"assignee": "大召营供电所"}), ("acknowledge", {}), ("start", {})):
            wo.transition(session, ticket_no, step, actor="agent:a1", channel="console", now=T0, **extra)
        wo.transition(
            session, ticket_no, "answer", actor="agent:a1", channel="console", note="已答复", now=T0
        )
        session.commit()
    assert scheduler.run_once(factory, now=T0 + timedelta(days=30)).changes == 0
    assert state(factory, ticket_no)[:4] == ("met", "met", "normal", 0)


def test_orders_without_due_times_get_them(factory) -> None:
    with factory() as session:
        session.add(
            Ticket(
                ticket_no="20261123000001",
                kind="complaint",
                category="营业投诉",
                summary="上月电量异常",
                status="in_progress",
                assigned_to="大召营供电所",
                created_at=T0 - timedelta(days=3),
                updated_at=T0 - timedelta(days=3),
            )
        )
        session.commit()
    result = scheduler.run_once(factory, now=T0)
    assert "20261123000001" in result.due_times_set
    with factory() as session:
        ticket = wo.get_work_order(session, "20261123000001")
        assert ticket is not None
        # Monday 23 Nov + 4 working days = Friday 27 Nov, end of day in 新乡.
        assert ticket.answer_due_at == datetime(2026, 11, 27, 15, 59, 59, tzinfo=UTC)
    assert scheduler.run_once(factory, now=T0).due_times_set == []


def test_reopened_orders_start_a_new_cycle(factory) -> None:
    ticket_no = lodge(factory)
    scheduler.run_once(factory, now=T0 + timedelta(hours=25))  # contact breached in cycle 0
    with factory() as session:
        for step, extra in (
            ("dispatch", {"assignee": "大召营供电所"}),
            ("acknowledge", {}),
            ("start", {}),
            ("answer", {"note": "已答复"}),
        ):
            wo.transition(
                session,
                ticket_no,
                step,
                actor="agent:a1",
                channel="console",
                now=T0 + timedelta(hours=26),
                **extra,
            )
        wo.rate_work_order(
            session, ticket_no, "不满意", actor="customer", channel="wechat", now=T0 + timedelta(days=2)
        )
        session.commit()
    result = scheduler.run_once(factory, now=T0 + timedelta(days=2, hours=25))
    assert result.breached == [ticket_no]
    with factory() as session:
        reasons = session.scalars(
            select(SupervisorNotification.reason).order_by(SupervisorNotification.id)
        ).all()
    assert reasons == ["breached", "unsatisfied", "breached"]


def test_copies_running_at_once_escalate_once(factory) -> None:
    numbers = [lodge(factory) for _ in range(5)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def copy() -> None:
        try:
            barrier.wait(timeout=30)
            scheduler.run_once(factory, now=T0 + timedelta(hours=25))
        except BaseException as error:  # reported below, after the threads end
            errors.append(error)

    threads = [threading.Thread(target=copy) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    for ticket_no in numbers:
        _contact, _answer, _priority, level, notes, _ = state(factory, ticket_no)
        assert (level, notes) == (1, 1)


def test_the_command_line_worker_sweeps_once_and_writes_a_signed_checkpoint(
    fresh_url, factory, tmp_path
) -> None:
    ticket_no = lodge(factory)
    checkpoint = tmp_path / "checkpoint.json"
    command = [
        sys.executable,
        "-m",
        "backend.scheduler",
        "--once",
        "--database-url",
        fresh_url,
        "--now",
        (T0 + timedelta(hours=25)).isoformat(),
        "--checkpoint",
        str(checkpoint),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert state(factory, ticket_no)[3] == 1
    saved = read_checkpoint(checkpoint)
    assert saved is not None
    with factory() as session:
        head = session.scalar(select(func.max(AuditEvent.id)))
    assert saved.head_id == head
    assert json.loads(checkpoint.read_text())["signature"]
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert state(factory, ticket_no)[3] == 1


def test_sweep_flags_overdue_applications_once(factory) -> None:
    with factory() as session:
        seed_demo(session)
        session.commit()
    # 陈明's seeded 新装 was submitted two days ago; a year later every deadline has passed.
    far_future = datetime.now(UTC) + timedelta(days=365)
    first = scheduler.run_once(factory, now=far_future)
    second = scheduler.run_once(factory, now=far_future)
    assert first.applications_overdue
    assert second.applications_overdue == []
