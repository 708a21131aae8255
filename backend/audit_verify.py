"""`python -m backend.audit_verify`: check the audit chain; exit 1 if it is broken.

The chain alone cannot show that its newest rows were cut off, so the last verified head is kept
in a checkpoint file (AUDIT_CHECKPOINT_PATH, ideally on other storage); a later run insists that
this head is still in the chain.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.models import AuditEvent
from backend.services.audit import ChainReport, verify_chain
from backend.settings import get_settings


def check_against_checkpoint(session: Session, report: ChainReport, checkpoint: Path) -> ChainReport:
    if not report.ok or not checkpoint.exists():
        return report
    saved = json.loads(checkpoint.read_text(encoding="utf-8"))
    saved_id, saved_hash = int(saved["head_id"]), str(saved["head_hash"])
    stored_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == saved_id))
    if stored_hash != saved_hash:
        return replace(
            report,
            ok=False,
            first_broken_id=saved_id,
            reason=f"checkpointed head {saved_id} is missing or changed",
        )
    return report


def write_checkpoint(report: ChainReport, checkpoint: Path) -> None:
    if report.head_id is None:
        return
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_text(
        json.dumps({"head_id": report.head_id, "head_hash": report.head_hash}), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=settings.database_url)
    parser.add_argument("--checkpoint", type=Path, default=settings.audit_checkpoint_path)
    parser.add_argument("--no-checkpoint", action="store_true", help="neither read nor write the checkpoint")
    args = parser.parse_args(argv)

    engine = make_engine(args.database_url)
    try:
        with Session(engine) as session:
            report = verify_chain(session)
            if not args.no_checkpoint:
                report = check_against_checkpoint(session, report, args.checkpoint)
    finally:
        engine.dispose()
    if report.ok and not args.no_checkpoint:
        write_checkpoint(report, args.checkpoint)
    print(json.dumps(asdict(report), ensure_ascii=False))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
