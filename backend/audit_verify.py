"""`python -m backend.audit_verify`: check the audit chain; exit 1 if it is broken.

Every link is recomputed from the genesis hash (edits, deletions, reordering). The chain alone
cannot show that its newest rows were cut off, so the last verified head is kept in a signed
checkpoint file (AUDIT_CHECKPOINT_PATH, ideally on other storage, see
backend/services/audit_checkpoint.py); a later run insists that this head is still in the chain.
On success the checkpoint moves to the current head (the scheduler does the same periodically).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.orm import Session

from backend.db import make_engine
from backend.services.audit_checkpoint import (
    check_against_checkpoint,
    verify_and_checkpoint,
    verify_with_checkpoint,
    write_checkpoint,
)

__all__ = ["check_against_checkpoint", "main", "write_checkpoint"]


def main(argv: list[str] | None = None) -> int:
    from backend.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=settings.database_url)
    parser.add_argument("--checkpoint", type=Path, default=settings.audit_checkpoint_path)
    parser.add_argument("--no-checkpoint", action="store_true", help="neither read nor write the checkpoint")
    args = parser.parse_args(argv)

    engine = make_engine(args.database_url)
    try:
        with Session(engine) as session:
            if args.no_checkpoint:
                report = verify_with_checkpoint(session, None)
            else:
                report = verify_and_checkpoint(session, args.checkpoint)
    finally:
        engine.dispose()
    print(json.dumps(asdict(report), ensure_ascii=False))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
