from __future__ import annotations

import json
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from backend.models import AuditEvent
from backend.services import audit
from backend.services.audit import GENESIS_HASH, canonical_json, chain_hash, verify_chain

REPO = Path(__file__).resolve().parents[2]


def _record(session, unique_id, **overrides):
    fields = {
        "actor": f"agent:{unique_id}",
        "action": "ticket.update",
        "entity_type": "ticket",
        "entity_id": unique_id,
        "channel": "web",
        "before": {"status": "open"},
        "after": {"status": "in_progress", "amount": Decimal("12.30")},
    }
    fields.update(overrides)
    return audit.record(session, **fields)


def test_append_links_to_the_previous_head(session, unique_id):
    first = _record(session, unique_id)
    second = _record(session, unique_id, action="ticket.close")
    session.commit()
    assert second.id == first.id + 1
    assert second.prev_hash == first.hash
    assert first.after == {"status": "in_progress", "amount": "12.30"}  # stored JSON-safe, as hashed
    expected = chain_hash(
        audit.get_settings().audit_hmac_key,
        first.prev_hash,
        canonical_json(
            event_id=first.id,
            actor=first.actor,
            action=first.action,
            entity_type="ticket",
            entity_id=unique_id,
            channel="web",
            before={"status": "open"},
            after=first.after,
            at=first.at,
        ),
    )
    assert first.hash == expected


def test_canonical_json_is_sorted_and_compact():
    from datetime import UTC, datetime

    body = canonical_json(
        event_id=1,
        actor="bot",
        action="a",
        entity_type="t",
        entity_id=None,
        channel=None,
        before=None,
        after={"b": 1, "a": "中"},
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert body == (
        '{"action":"a","actor":"bot","after":{"a":"中","b":1},"at":"2026-01-01T00:00:00+00:00",'
        '"before":null,"channel":null,"entity_id":null,"entity_type":"t","id":1}'
    )


def test_chain_verifies(session, unique_id):
    _record(session, unique_id)
    session.commit()
    report = verify_chain(session)
    assert report.ok, report
    assert report.checked >= 1
    assert report.first_broken_id is None and report.reason is None


def test_first_event_starts_from_the_genesis_hash(session, unique_id):
    _record(session, unique_id)
    session.commit()
    first = session.scalars(select(AuditEvent).order_by(AuditEvent.id).limit(1)).one()
    assert first.id == 1
    assert first.prev_hash == GENESIS_HASH


def _head(session):
    return session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()


def _forged(head, **overrides):
    from backend.clock import utcnow

    fields = {
        "id": head.id + 1,
        "actor": "mallory",
        "action": "ticket.update",
        "entity_type": "ticket",
        "entity_id": "x",
        "channel": None,
        "before": None,
        "after": None,
        "at": utcnow(),
        "prev_hash": head.hash,
        "hash": "0" * 63 + "1",
    }
    fields.update(overrides)
    return AuditEvent(**fields)


def test_an_inserted_row_with_a_wrong_hash_breaks_the_chain(session, unique_id):
    _record(session, unique_id)
    session.commit()
    head = _head(session)
    session.add(_forged(head))  # never committed: the shared chain stays intact
    session.flush()
    report = verify_chain(session)
    assert (report.ok, report.first_broken_id, report.reason) == (
        False,
        head.id + 1,
        "hash does not match the row content",
    )
    session.rollback()


def test_a_row_signed_with_another_key_breaks_the_chain(session, unique_id):
    _record(session, unique_id)
    session.commit()
    head = _head(session)
    forged = _forged(head)
    forged.hash = chain_hash(
        "guessed-key",
        head.hash,
        canonical_json(
            event_id=forged.id,
            actor=forged.actor,
            action=forged.action,
            entity_type=forged.entity_type,
            entity_id=forged.entity_id,
            channel=None,
            before=None,
            after=None,
            at=forged.at,
        ),
    )
    session.add(forged)
    session.flush()
    assert verify_chain(session).first_broken_id == head.id + 1
    session.rollback()


def test_a_gap_or_a_wrong_link_breaks_the_chain(session, unique_id):
    _record(session, unique_id)
    session.commit()
    head = _head(session)
    session.add(_forged(head, id=head.id + 2))
    session.flush()
    report = verify_chain(session)
    assert not report.ok and report.reason is not None and report.reason.startswith("gap")
    session.rollback()
    session.add(_forged(head, prev_hash="a" * 64))
    session.flush()
    assert verify_chain(session).reason == "prev_hash does not match the previous event"
    session.rollback()


def test_a_different_key_fails_verification(session, unique_id):
    _record(session, unique_id)
    session.commit()
    report = verify_chain(session, key="some-other-key")
    assert not report.ok
    assert report.first_broken_id == 1
    assert report.reason == "hash does not match the row content"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'mallory'",
        "DELETE FROM audit_events",
    ],
)
def test_update_and_delete_are_refused_by_the_database(session, unique_id, statement):
    event = _record(session, unique_id)
    session.commit()
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text(f"{statement} WHERE id = :id"), {"id": event.id})
    session.rollback()
    stored = session.execute(select(AuditEvent.actor).where(AuditEvent.id == event.id)).scalar_one()
    assert stored == f"agent:{unique_id}"


def test_orm_update_and_delete_are_refused_too(session, unique_id):
    event = _record(session, unique_id)
    session.commit()
    with pytest.raises(DatabaseError):
        session.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(after={"forged": True}))
    session.rollback()
    with pytest.raises(DatabaseError):
        session.execute(delete(AuditEvent).where(AuditEvent.id == event.id))
    session.rollback()
    assert verify_chain(session).ok


def test_concurrent_appends_never_fork_the_chain(session_factory, unique_id):
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                with session_factory() as s:
                    _record(s, f"{unique_id}-{n}-{i}")
                    s.commit()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with session_factory() as s:
        assert verify_chain(s).ok
        prevs = s.scalars(select(AuditEvent.prev_hash)).all()
        assert len(prevs) == len(set(prevs))  # no two events chained onto the same head


def test_audit_verify_cli_reports_ok_and_checks_the_checkpoint(db_url, tmp_path, session, unique_id):
    _record(session, unique_id)
    session.commit()
    checkpoint = tmp_path / "checkpoint.json"
    command = [
        sys.executable,
        "-m",
        "backend.audit_verify",
        "--database-url",
        db_url,
        "--checkpoint",
        str(checkpoint),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    saved = json.loads(checkpoint.read_text())
    assert saved["head_id"] >= 1

    # A checkpoint naming a head the database does not have (cut-off tail) is a break.
    checkpoint.write_text(json.dumps({"head_id": saved["head_id"], "head_hash": "f" * 64}))
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False and report["first_broken_id"] == saved["head_id"]
