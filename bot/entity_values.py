"""Canonical values of the closed-class entities, from bot/entity_values.yml.

Pure Python (no Rasa import), so that the NLU pipeline (bot/components/canonical_values.py)
and the action server (actions/repairs.py) map a span the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

RULES_PATH = Path(__file__).resolve().parent / "entity_values.yml"


@dataclass(frozen=True)
class Rule:
    value: str
    keywords: tuple[str, ...]


Rules = Mapping[str, Sequence[Rule]]


def parse_rules(raw: Mapping[str, Any]) -> dict[str, tuple[Rule, ...]]:
    """Validate the YAML structure: entity -> list of {value, keywords}."""
    rules: dict[str, tuple[Rule, ...]] = {}
    for entity, entries in raw.items():
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"entity_values: {entity} must have a list of rules")
        parsed = []
        for entry in entries:
            value, keywords = entry.get("value"), entry.get("keywords")
            well_formed = isinstance(keywords, list) and all(isinstance(k, str) and k for k in keywords)
            if not value or not well_formed:
                raise ValueError(f"entity_values: bad rule under {entity}: {entry!r}")
            parsed.append(Rule(str(value), tuple(keywords)))
        rules[str(entity)] = tuple(parsed)
    return rules


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_PATH) -> dict[str, tuple[Rule, ...]]:
    with path.open(encoding="utf-8") as handle:
        return parse_rules(yaml.safe_load(handle) or {})


def canonical_value(entity: str, text: str, rules: Rules | None = None) -> str | None:
    """The canonical value for a span of `entity`, or None when no rule applies.

    A value that already is canonical maps to itself; otherwise the first rule with a
    keyword inside the span wins.
    """
    table = (rules if rules is not None else load_rules()).get(entity)
    if not table:
        return None
    compact = "".join(str(text).split())
    if any(compact == rule.value for rule in table):
        return compact
    for rule in table:
        if any(keyword in compact for keyword in rule.keywords):
            return rule.value
    return None
