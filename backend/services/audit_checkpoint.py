"""Signed checkpoints of the audit chain head, kept outside the database (AUDIT_CHECKPOINT_PATH).

A hash chain shows edits, deletions and reordering, but not that its newest rows were cut off:
the shortened chain is still a valid chain. So the scheduler (and `make audit-verify`) write the
verified head to a file, signed with the audit key (never stored in the database); a later check
insists that this head is still in the chain, unchanged. The signature stops someone with only
file access from moving the checkpoint back to hide a truncation. Put the file on other storage
than the database in production.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.clock import utcnow
from backend.models import AuditEvent
from backend.services.audit import ChainReport, verify_chain
from backend.settings import get_settings

CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    head_id: int
    head_hash: str
    written_at: str
    signature: str


class CheckpointInvalid(ValueError):
    """The file exists but is unreadable or its signature does not match."""

    def __init__(self, message: str, head_id: int | None = None) -> None:
        super().__init__(message)
        self.head_id = head_id


def _signature(key: str, head_id: int, head_hash: str, written_at: str) -> str:
    message = f"audit-checkpoint|v{CHECKPOINT_VERSION}|{head_id}|{head_hash}|{written_at}"
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def read_checkpoint(path: Path, *, key: str | None = None) -> Checkpoint | None:
    """None when there is no checkpoint yet; CheckpointInvalid when it was tampered with."""
    key = key or get_settings().audit_hmac_key
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        checkpoint = Checkpoint(
            head_id=int(raw["head_id"]),
            head_hash=str(raw["head_hash"]),
            written_at=str(raw.get("written_at", "")),
            signature=str(raw.get("signature", "")),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointInvalid(f"checkpoint {path} is unreadable: {error}") from error
    expected = _signature(key, checkpoint.head_id, checkpoint.head_hash, checkpoint.written_at)
    if not hmac.compare_digest(expected, checkpoint.signature):
        raise CheckpointInvalid(f"checkpoint {path} has a bad signature", checkpoint.head_id)
    return checkpoint


def write_checkpoint(
    path: Path, head_id: int, head_hash: str, *, key: str | None = None, now: datetime | None = None
) -> Checkpoint | None:
    """Atomically replace the file; never move it backwards (several scheduler copies may race)."""
    key = key or get_settings().audit_hmac_key
    try:
        current = read_checkpoint(path, key=key)
    except CheckpointInvalid:
        current = None  # a broken file is reported by the check; a fresh verified head replaces it
    if current is not None and current.head_id >= head_id:
        return None
    written_at = (now or utcnow()).isoformat()
    checkpoint = Checkpoint(head_id, head_hash, written_at, _signature(key, head_id, head_hash, written_at))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(
        json.dumps(
            {
                "version": CHECKPOINT_VERSION,
                "head_id": checkpoint.head_id,
                "head_hash": checkpoint.head_hash,
                "written_at": checkpoint.written_at,
                "signature": checkpoint.signature,
            }
        ),
        encoding="utf-8",
    )
    temporary.replace(path)
    return checkpoint


def check_against_checkpoint(
    session: Session, report: ChainReport, path: Path, *, key: str | None = None
) -> ChainReport:
    """Fail the report when the signed head is missing or changed (the newest rows were cut off)."""
    if not report.ok:
        return report
    try:
        checkpoint = read_checkpoint(path, key=key)
    except CheckpointInvalid as error:
        return replace(report, ok=False, first_broken_id=error.head_id, reason=str(error))
    if checkpoint is None:
        return report
    stored_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == checkpoint.head_id))
    if stored_hash is None or not hmac.compare_digest(stored_hash, checkpoint.head_hash):
        return replace(
            report,
            ok=False,
            first_broken_id=checkpoint.head_id,
            reason=(
                f"checkpointed head {checkpoint.head_id} is missing or changed: "
                "newest rows removed or rewritten"
            ),
        )
    return report


def verify_with_checkpoint(session: Session, path: Path | None, *, key: str | None = None) -> ChainReport:
    """The whole check: every link from genesis, then the signed head (when a path is given)."""
    report = verify_chain(session, key=key)
    return check_against_checkpoint(session, report, path, key=key) if path is not None else report


def verify_and_checkpoint(session: Session, path: Path, *, key: str | None = None) -> ChainReport:
    """Verify, and on success move the signed checkpoint to the current head."""
    report = verify_with_checkpoint(session, path, key=key)
    if report.ok and report.head_id is not None and report.head_hash is not None:
        write_checkpoint(path, report.head_id, report.head_hash, key=key)
    return report
