"""Application types, their steps and time limits from config/applications.yml.

Pure: reads one YAML file into frozen dataclasses and checks it, so that a type without documents,
a step nobody defined or a time limit without a source fails at load time, not in a conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from backend.settings import REPO_ROOT

DEFAULT_APPLICATIONS_PATH = REPO_ROOT / "config" / "applications.yml"

FIELDS = frozenset(
    {"address", "supply_class", "capacity_kw", "new_holder_name", "contact_phone", "preferred_survey_time"}
)
EXISTING_ACCOUNT_MODES = frozenset({"none", "required", "optional"})
FIRST_STEP = "accepted"
LAST_STEP = "completed"
BY_SUPPLY_CLASS = "by_supply_class"
DEFAULT_SUPPLY_CLASS = "residential"


class ApplicationConfigError(ValueError):
    """config/applications.yml is missing something or contradicts itself."""


@dataclass(frozen=True)
class Provenance:
    effective_date: date | None
    source: str
    confirmed: bool


@dataclass(frozen=True)
class TimeLimit:
    """A whole-process limit and its internal split over steps (working days)."""

    key: str
    label: str
    working_days: int
    step_days: dict[str, int]
    provenance: Provenance
    # A commitment may be quoted; an internal target (no source) may not.
    quote_to_customer: bool

    def days_for_step(self, step: str) -> int:
        return self.step_days.get(step, 1)


@dataclass(frozen=True)
class ApplicationType:
    name: str  # 新装, the customer's word and the stored business_type
    code: str
    aliases: tuple[str, ...]
    description: str
    who_may_apply: str
    existing_account: str  # none | required | optional
    fields: tuple[str, ...]
    documents: tuple[str, ...]
    steps: tuple[str, ...]
    time_limit: str  # by_supply_class | a key of internal_targets

    @property
    def needs_account(self) -> bool:
        return self.existing_account == "required"


@dataclass(frozen=True)
class ApplicationCatalogue:
    types: dict[str, ApplicationType]
    step_labels: dict[str, str]
    legacy_statuses: dict[str, str]
    supply_classes: dict[str, TimeLimit]
    internal_targets: dict[str, TimeLimit]
    documents_provenance: Provenance

    def get(self, name: str) -> ApplicationType:
        try:
            return self.types[name]
        except KeyError:
            raise ApplicationConfigError(f"unknown application type {name!r}") from None

    def find(self, text: str) -> ApplicationType | None:
        """The type a customer's words name: its own name first, then an alias."""
        for kind in self.types.values():
            if kind.name in text:
                return kind
        for kind in self.types.values():
            if any(alias in text for alias in kind.aliases):
                return kind
        return None

    def time_limit(self, kind: ApplicationType, supply_class: str | None) -> TimeLimit:
        if kind.time_limit == BY_SUPPLY_CLASS:
            return self.supply_classes[supply_class or DEFAULT_SUPPLY_CLASS]
        return self.internal_targets[kind.time_limit]

    def step_label(self, step: str) -> str:
        return self.step_labels.get(step, step)

    def canonical_step(self, status: str) -> str:
        return self.legacy_statuses.get(status, status)


def _provenance(entry: dict[str, Any], where: str) -> Provenance:
    for key in ("effective_date", "source", "confirmed"):
        if key not in entry:
            raise ApplicationConfigError(f"{where}: '{key}' is required")
    raw = entry["effective_date"]
    effective = raw if raw is None or isinstance(raw, date) else date.fromisoformat(str(raw))
    if not isinstance(entry["confirmed"], bool):
        raise ApplicationConfigError(f"{where}: 'confirmed' must be true or false")
    return Provenance(effective, str(entry["source"]), entry["confirmed"])


def _time_limits(
    section: dict[str, Any], steps: dict[str, str], *, quote_default: bool
) -> dict[str, TimeLimit]:
    limits: dict[str, TimeLimit] = {}
    for key, entry in (section or {}).items():
        days = entry.get("working_days")
        if not isinstance(days, int) or days <= 0:
            raise ApplicationConfigError(f"{key}: working_days must be a positive integer")
        step_days = {str(step): int(value) for step, value in (entry.get("step_days") or {}).items()}
        unknown = set(step_days) - set(steps)
        if unknown:
            raise ApplicationConfigError(f"{key}: step_days names unknown steps {sorted(unknown)}")
        provenance = _provenance(entry, key)
        limits[key] = TimeLimit(
            key=key,
            label=str(entry.get("label") or key),
            working_days=days,
            step_days=step_days,
            provenance=provenance,
            quote_to_customer=bool(entry.get("quote_to_customer", quote_default)),
        )
    return limits


def _type(
    name: str, entry: dict[str, Any], steps: dict[str, str], targets: dict[str, TimeLimit]
) -> ApplicationType:
    fields = tuple(entry.get("fields") or ())
    if not set(fields) <= FIELDS:
        raise ApplicationConfigError(f"{name}: unknown fields {sorted(set(fields) - FIELDS)}")
    documents = tuple(str(item) for item in entry.get("documents") or ())
    if not documents:
        raise ApplicationConfigError(f"{name}: documents must not be empty")
    type_steps = tuple(entry.get("steps") or ())
    if not type_steps or type_steps[0] != FIRST_STEP or type_steps[-1] != LAST_STEP:
        raise ApplicationConfigError(f"{name}: steps must run from {FIRST_STEP} to {LAST_STEP}")
    if not set(type_steps) <= set(steps):
        raise ApplicationConfigError(f"{name}: unknown steps {sorted(set(type_steps) - set(steps))}")
    mode = str(entry.get("existing_account") or "none")
    if mode not in EXISTING_ACCOUNT_MODES:
        raise ApplicationConfigError(
            f"{name}: existing_account must be one of {sorted(EXISTING_ACCOUNT_MODES)}"
        )
    limit = str(entry.get("time_limit") or "")
    if limit != BY_SUPPLY_CLASS and limit not in targets:
        raise ApplicationConfigError(f"{name}: time_limit {limit!r} is neither by_supply_class nor a target")
    return ApplicationType(
        name=name,
        code=str(entry["code"]),
        aliases=tuple(str(alias) for alias in entry.get("aliases") or ()),
        description=str(entry.get("description") or ""),
        who_may_apply=str(entry.get("who_may_apply") or ""),
        existing_account=mode,
        fields=fields,
        documents=documents,
        steps=type_steps,
        time_limit=limit,
    )


def parse_catalogue(document: dict[str, Any]) -> ApplicationCatalogue:
    steps = {str(code): str(label) for code, label in (document.get("steps") or {}).items()}
    if FIRST_STEP not in steps or LAST_STEP not in steps:
        raise ApplicationConfigError(f"steps must define {FIRST_STEP} and {LAST_STEP}")
    classes = _time_limits(document.get("supply_classes") or {}, steps, quote_default=True)
    if DEFAULT_SUPPLY_CLASS not in classes:
        raise ApplicationConfigError(f"supply_classes must define {DEFAULT_SUPPLY_CLASS}")
    targets = _time_limits(document.get("internal_targets") or {}, steps, quote_default=False)
    types = {
        str(name): _type(str(name), entry, steps, targets)
        for name, entry in (document.get("types") or {}).items()
    }
    if not types:
        raise ApplicationConfigError("no application types configured")
    legacy = {str(k): str(v) for k, v in (document.get("legacy_statuses") or {}).items()}
    return ApplicationCatalogue(
        types=types,
        step_labels=steps,
        legacy_statuses=legacy,
        supply_classes=classes,
        internal_targets=targets,
        documents_provenance=_provenance(document.get("documents_provenance") or {}, "documents_provenance"),
    )


@lru_cache(maxsize=4)
def load_catalogue(path: Path | str = DEFAULT_APPLICATIONS_PATH) -> ApplicationCatalogue:
    with Path(path).open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict):
        raise ApplicationConfigError(f"{path}: expected a mapping at the top level")
    return parse_catalogue(document)
