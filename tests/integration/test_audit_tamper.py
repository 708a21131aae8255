"""Tampering with the audit trail is detected: a row edited with the triggers disabled, a row
deleted, rows reordered, the newest rows cut off (signed checkpoint), a forged checkpoint.

Each test breaks the chain on purpose, so it gets its own fresh database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fresh_database import fresh_database
from sqlalchemy import Connection, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from backend.db import make_engine, make_session_factory
from backend.services import audit
from backend.services import workorders as wo
from backend.services.audit_checkpoint import verify_and_checkpoint, verify_with_checkpoint
from backend.settings import Settings

REPO = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("KEFU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
EVENTS = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> Iterator[str]:
    if request.param == "postgresql" and os.environ.get("KEFU_TEST_SKIP_POSTGRES") == "1":
        pytest.skip("PostgreSQL tests skipped by KEFU_TEST_SKIP_POSTGRES=1")
    with fresh_database(request.param, tmp_path, POSTGRES_URL) as url:
        yield url


@pytest.fixture
def factory(fresh_url) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(fresh_url)
    factory = make_session_factory(engine)
    with factory() as session:
        # Real events: a work order through its steps.
        ticket = wo.create_work_order(
            session, kind="complaint", category="服务投诉", summary="态度差", channel="wechat", actor="bot"
        )
        steps = [("dispatch", {"assignee": "七里营供电所"}), ("acknowledge", {}), ("start", {})]
        steps += [("answer", {"note": "已致歉"}), ("request_follow_up", {})]
        for step, extra in steps:
            wo.transition(session, ticket.ticket_no, step, actor="agent:a1", channel="console", **extra)
        audit.record(
            session,
            actor="bot",
            action="identity.verify",
            entity_type="account",
            entity_id="****0001",
            channel="wechat",
            after={"verified": True},
        )
        audit.record(
            session,
            actor="bot",
            action="identity.verify",
            entity_type="account",
            entity_id="****0002",
            channel="wechat",
            after={"verified": False},
        )
        session.commit()
    yield factory
    engine.dispose()


@contextmanager
def triggers_disabled(connection: Connection) -> Iterator[None]:
    """What an intruder with database-owner rights does: switch the append-only triggers off."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER audit_events_no_update"))
        connection.execute(text("DROP TRIGGER audit_events_no_delete"))
        yield
    else:
        connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        yield
        connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def tamper(factory, *statements: str) -> None:
    with factory() as session:
        connection = session.connection()
        with triggers_disabled(connection):
            for statement in statements:
                connection.execute(text(statement))
        session.commit()


def check(factory, checkpoint: Path | None = None):
    with factory() as session:
        return verify_with_checkpoint(session, checkpoint)


def test_the_untouched_chain_verifies(factory) -> None:
    report = check(factory)
    assert report.ok and report.checked == EVENTS and report.head_id == EVENTS


def test_the_triggers_refuse_update_and_delete(factory) -> None:
    for statement in (
        "UPDATE audit_events SET actor = 'x' WHERE id = 2",
        "DELETE FROM audit_events WHERE id = 2",
    ):
        with factory() as session, pytest.raises(DatabaseError, match="append-only"):
            session.execute(text(statement))


def test_an_edited_row_is_detected(factory) -> None:
    tamper(factory, "UPDATE audit_events SET actor = 'agent:someone_else' WHERE id = 3")
    report = check(factory)
    assert not report.ok and report.first_broken_id == 3
    assert report.reason == "hash does not match the row content"


def test_an_edited_json_value_is_detected(factory) -> None:
    tamper(factory, """UPDATE audit_events SET "after" = '{"verified": true}' WHERE id = 8""")
    report = check(factory)
    assert not report.ok and report.first_broken_id == 8


def test_a_rehashed_row_without_the_key_is_detected(factory) -> None:
    # The intruder rewrites a row and recomputes its hash with a guessed key: the next link, or
    # the row itself under the real key, no longer fits.
    with factory() as session:
        row = session.execute(text("SELECT * FROM audit_events WHERE id = 4")).mappings().one()
    forged = audit.chain_hash(
        "guessed-key",
        row["prev_hash"],
        audit.canonical_json(
            event_id=4,
            actor="agent:nobody",
            action=row["action"],
            entity_type=row["entity_type"],
            entity_id=row["entity_id"],
            channel=row["channel"],
            before=_json(row["before"]),
            after=_json(row["after"]),
            at=_aware(row["at"]),
        ),
    )
    tamper(factory, f"UPDATE audit_events SET actor = 'agent:nobody', hash = '{forged}' WHERE id = 4")
    report = check(factory)
    assert not report.ok and report.first_broken_id == 4


def test_a_deleted_row_is_detected(factory) -> None:
    tamper(factory, "DELETE FROM audit_events WHERE id = 5")
    report = check(factory)
    assert not report.ok and report.first_broken_id == 6
    assert report.reason is not None and "gap" in report.reason


def test_reordered_rows_are_detected(factory) -> None:
    # Swap rows 3 and 4 (ids exchanged, content kept): the order of events is rewritten.
    tamper(
        factory,
        "UPDATE audit_events SET id = -3 WHERE id = 3",
        "UPDATE audit_events SET id = 3 WHERE id = 4",
        "UPDATE audit_events SET id = 4 WHERE id = -3",
    )
    report = check(factory)
    assert not report.ok and report.first_broken_id == 3


def test_truncated_newest_rows_are_detected_by_the_signed_checkpoint(factory, tmp_path) -> None:
    checkpoint = tmp_path / "checkpoint.json"
    with factory() as session:
        assert verify_and_checkpoint(session, checkpoint).ok
    tamper(factory, f"DELETE FROM audit_events WHERE id > {EVENTS - 2}")
    assert check(factory).ok  # the shortened chain alone still looks valid ...
    report = check(factory, checkpoint)
    assert not report.ok and report.first_broken_id == EVENTS  # ... but the checkpoint knows
    assert report.reason is not None and "missing or changed" in report.reason


def test_truncated_and_regrown_chain_is_detected(factory, tmp_path) -> None:
    checkpoint = tmp_path / "checkpoint.json"
    with factory() as session:
        assert verify_and_checkpoint(session, checkpoint).ok
    tamper(factory, f"DELETE FROM audit_events WHERE id > {EVENTS - 2}")
    with factory() as session:  # new, validly chained rows take the old ids
        for _ in range(3):
            audit.record(session, actor="bot", action="x", entity_type="t", entity_id=None, channel=None)
        session.commit()
    assert check(factory).ok
    assert not check(factory, checkpoint).ok


def test_a_forged_checkpoint_is_refused(factory, tmp_path) -> None:
    checkpoint = tmp_path / "checkpoint.json"
    with factory() as session:
        assert verify_and_checkpoint(session, checkpoint).ok
    saved = json.loads(checkpoint.read_text())
    # Moving the checkpoint back to hide a truncation needs the key.
    saved["head_id"] = EVENTS - 2
    checkpoint.write_text(json.dumps(saved))
    report = check(factory, checkpoint)
    assert not report.ok and report.reason is not None and "bad signature" in report.reason


def test_make_audit_verify_passes_then_fails_after_tampering(fresh_url, factory, tmp_path) -> None:
    checkpoint = tmp_path / "checkpoint.json"
    command = [
        sys.executable,
        "-m",
        "backend.audit_verify",
        "--database-url",
        fresh_url,
        "--checkpoint",
        str(checkpoint),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    tamper(factory, f"DELETE FROM audit_events WHERE id = {EVENTS}")
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert json.loads(done.stdout)["first_broken_id"] == EVENTS


def test_the_admin_endpoint_reports_the_first_broken_link(fresh_url, factory, tmp_path) -> None:
    settings = Settings(database_url=fresh_url, audit_checkpoint_path=tmp_path / "checkpoint.json")
    app = create_app(settings)
    admin = {"Authorization": "Bearer dev-admin-token"}
    with TestClient(app) as client:
        assert client.get("/api/v1/admin/audit/verify").status_code == 401
        assert (
            client.get(
                "/api/v1/admin/audit/verify", headers={"Authorization": "Bearer dev-supervisor-token"}
            ).status_code
            == 403
        )
        good = client.get("/api/v1/admin/audit/verify", headers=admin)
        assert good.status_code == 200 and good.json()["ok"] is True
        tamper(factory, "UPDATE audit_events SET channel = 'web' WHERE id = 2")
        bad = client.get("/api/v1/admin/audit/verify", headers=admin).json()
        assert bad["ok"] is False and bad["first_broken_id"] == 2
    app.state.engine.dispose()


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _aware(value):
    from backend.clock import ensure_utc

    if isinstance(value, str):
        from datetime import datetime

        value = datetime.fromisoformat(value)
    return ensure_utc(value)
