"""Repair commitments from config/commitments.yml: arrival minutes by area type, grouping window.

Kept in configuration with a date and a source (十项承诺 item 3, reference.md §2.1) so a change
of the company's commitment is a config edit, not a code change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_COMMITMENTS_PATH = Path(__file__).resolve().parent.parent / "config" / "commitments.yml"
AREA_TYPES = ("urban", "rural", "remote")


@dataclass(frozen=True)
class Commitments:
    arrival_minutes: dict[str, int]
    effective_date: date
    source: str
    grade: str
    confirmed: bool
    caveat: str
    grouping_window_minutes: int
    grouping_min_reports: int

    def arrival_for(self, area_type: str | None) -> int:
        # An address we cannot place is promised the longest time rather than a wrong short one.
        return self.arrival_minutes.get(area_type or "", self.arrival_minutes["remote"])


def commitments_from_mapping(data: dict[str, Any]) -> Commitments:
    arrival = {str(key): int(value) for key, value in (data.get("arrival_minutes") or {}).items()}
    missing = [kind for kind in AREA_TYPES if kind not in arrival]
    if missing:
        raise ValueError(f"commitments config: arrival_minutes lacks {missing}")
    for required in ("effective_date", "source", "grade"):
        if required not in data:
            raise ValueError(f"commitments config: missing '{required}'")
    grouping = data.get("area_fault_grouping") or {}
    effective = data["effective_date"]
    return Commitments(
        arrival_minutes=arrival,
        effective_date=effective if isinstance(effective, date) else date.fromisoformat(str(effective)),
        source=" ".join(str(data["source"]).split()),
        grade=str(data["grade"]),
        confirmed=bool(data.get("confirmed", False)),
        caveat=str(data.get("caveat") or "以当地营业厅公布为准"),
        grouping_window_minutes=int(grouping.get("window_minutes", 30)),
        grouping_min_reports=int(grouping.get("min_reports", 3)),
    )


@lru_cache(maxsize=4)
def load_commitments(path: Path = DEFAULT_COMMITMENTS_PATH) -> Commitments:
    with path.open(encoding="utf-8") as handle:
        return commitments_from_mapping(yaml.safe_load(handle))
