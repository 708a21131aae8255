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
    broad: tuple[str, ...] = ()  # tried only after every value's keywords failed


Rules = Mapping[str, Sequence[Rule]]


def parse_rules(raw: Mapping[str, Any]) -> dict[str, tuple[Rule, ...]]:
    """Validate the YAML structure: entity -> list of {value, keywords[, broad]}."""
    rules: dict[str, tuple[Rule, ...]] = {}
    for entity, entries in raw.items():
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"entity_values: {entity} must have a list of rules")
        parsed = []
        for entry in entries:
            value, keywords, broad = entry.get("value"), entry.get("keywords"), entry.get("broad", [])
            if not value or not _word_list(keywords) or not _word_list(broad, allow_empty=True):
                raise ValueError(f"entity_values: bad rule under {entity}: {entry!r}")
            parsed.append(Rule(str(value), tuple(keywords), tuple(broad)))
        rules[str(entity)] = tuple(parsed)
    return rules


def _word_list(words: Any, allow_empty: bool = False) -> bool:
    if not isinstance(words, list) or (not words and not allow_empty):
        return False
    return all(isinstance(word, str) and word for word in words)


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_PATH) -> dict[str, tuple[Rule, ...]]:
    with path.open(encoding="utf-8") as handle:
        return parse_rules(yaml.safe_load(handle) or {})


def canonical_value(entity: str, text: str, rules: Rules | None = None) -> str | None:
    """The canonical value for a span of `entity`, or None when no rule applies.

    A value that already is canonical maps to itself; otherwise the first rule with a
    keyword inside the span wins, and only then the first with a broad keyword (a lone
    "跳" is 跳闸, but "电表乱跳" is 电表故障).
    """
    table = (rules if rules is not None else load_rules()).get(entity)
    if not table:
        return None
    compact = "".join(str(text).split())
    if any(compact == rule.value for rule in table):
        return compact
    for words in (lambda rule: rule.keywords, lambda rule: rule.broad):
        for rule in table:
            if any(keyword in compact for keyword in words(rule)):
                return rule.value
    return None
