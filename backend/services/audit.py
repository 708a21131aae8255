"""Append-only audit chain: every event carries HMAC-SHA256(key, prev_hash ‖ canonical JSON of the row).

Editing, deleting or re-ordering a row breaks the chain from that row on; the database triggers
refuse UPDATE and DELETE in the first place. Appends are serialised so that two writers never
chain onto the same head.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.clock import utcnow
from backend.models import AuditEvent
from backend.settings import get_settings

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the audit chain among PostgreSQL advisory locks.
AUDIT_CHAIN_LOCK_KEY = 7_310_001_001
VERIFY_BATCH = 1000


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_id: int | None
    reason: str | None
    head_id: int | None = None
    head_hash: str | None = None


def _json_safe(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the JSON column will hand back: Decimals and dates become strings before hashing."""
    if value is None:
        return None
    result: dict[str, Any] = json.loads(json.dumps(value, default=str, ensure_ascii=False))
    return result


def canonical_json(
    *,
    event_id: int,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    channel: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime,
) -> str:
    row = {
        "id": event_id,
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "channel": channel,
        "before": before,
        "after": after,
        "at": at.isoformat(),
    }
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(key: str, prev_hash: str, canonical: str) -> str:
    return hmac.new(key.encode(), (prev_hash + canonical).encode(), hashlib.sha256).hexdigest()


def _event_hash(key: str, event: AuditEvent) -> str:
    canonical = canonical_json(
        event_id=event.id,
        actor=event.actor,
        action=event.action,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        channel=event.channel,
        before=event.before,
        after=event.after,
        at=event.at,
    )
    return chain_hash(key, event.prev_hash, canonical)


def _lock_chain(session: Session) -> None:
    """Serialise appends until the end of the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(text("pg_advisory_xact_lock(:key)")), {"key": AUDIT_CHAIN_LOCK_KEY})
    else:
        # SQLite: a write statement (even one touching no row, so the triggers stay quiet) takes the
        # database write lock, held until commit; only then is the head read.
        session.execute(text("UPDATE audit_events SET id = id WHERE 0 = 1"))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int | None,
    channel: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    key: str | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (the caller commits)."""
    key = key or get_settings().audit_hmac_key
    _lock_chain(session)
    head = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    event_id, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    at = utcnow()
    event = AuditEvent(
        id=event_id,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        channel=channel,
        before=_json_safe(before),
        after=_json_safe(after),
        at=at,
        prev_hash=prev_hash,
    )
    event.hash = _event_hash(key, event)
    session.add(event)
    session.flush()
    return event


def verify_chain(session: Session, *, key: str | None = None) -> ChainReport:
    """Recompute every link from the genesis hash; report the first row that does not fit."""
    key = key or get_settings().audit_hmac_key
    table = AuditEvent.__table__
    expected_prev, expected_id, checked = GENESIS_HASH, 1, 0
    last_id: int | None = None
    while True:
        # Core rows, not ORM objects: verifying must not load the whole chain into the session.
        batch = session.execute(
            select(table).where(table.c.id >= expected_id).order_by(table.c.id).limit(VERIFY_BATCH)
        ).all()
        if not batch:
            break
        for row in batch:
            if row.id != expected_id:
                return ChainReport(False, checked, row.id, f"gap: expected id {expected_id}, found {row.id}")
            if row.prev_hash != expected_prev:
                return ChainReport(False, checked, row.id, "prev_hash does not match the previous event")
            recomputed = chain_hash(
                key,
                row.prev_hash,
                canonical_json(
                    event_id=row.id,
                    actor=row.actor,
                    action=row.action,
                    entity_type=row.entity_type,
                    entity_id=row.entity_id,
                    channel=row.channel,
                    before=row.before,
                    after=row.after,
                    at=row.at,
                ),
            )
            if not hmac.compare_digest(row.hash, recomputed):
                return ChainReport(False, checked, row.id, "hash does not match the row content")
            checked += 1
            expected_prev, expected_id, last_id = row.hash, row.id + 1, row.id
    return ChainReport(
        True, checked, None, None, head_id=last_id, head_hash=None if last_id is None else expected_prev
    )
