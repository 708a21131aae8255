"""Work-order and application numbers: 14 digits, YYYYMMDD (Asia/Shanghai) + daily sequence.

Digits only, so that a hotline caller can read a number out and speech recognition can
write it down; the length (14) tells it apart from phones (11) and account numbers (10/13).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.clock import LOCAL_TZ, utcnow

NUMBER_PATTERN = re.compile(r"^\d{8}\d{6}$")


def issue_number(session: Session, now: datetime | None = None) -> str:
    """Return the next number for the local day of `now`.

    The increment is one UPDATE … RETURNING statement, atomic on PostgreSQL and SQLite,
    so concurrent requests (several api processes) never get the same number.
    """
    day = (now or utcnow()).astimezone(LOCAL_TZ).strftime("%Y%m%d")
    dialect = session.get_bind().dialect.name
    insert_if_missing = (
        "INSERT INTO number_sequences (day, last) VALUES (:day, 0) ON CONFLICT (day) DO NOTHING"
        if dialect in {"postgresql", "sqlite"}
        else "INSERT INTO number_sequences (day, last) SELECT :day, 0 WHERE NOT EXISTS "
        "(SELECT 1 FROM number_sequences WHERE day = :day)"
    )
    session.execute(text(insert_if_missing), {"day": day})
    last = session.execute(
        text("UPDATE number_sequences SET last = last + 1 WHERE day = :day RETURNING last"), {"day": day}
    ).scalar_one()
    if last > 999_999:
        raise RuntimeError(f"more than 999999 numbers issued on {day}")
    return f"{day}{last:06d}"


def looks_like_number(candidate: str) -> bool:
    return bool(NUMBER_PATTERN.match(candidate))
