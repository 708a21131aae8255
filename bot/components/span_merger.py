"""Join pieces of one address that DIET tagged as separate entities.

DIET tags token by token and sometimes breaks a long address in two
("县城人民路" + "阳光花园3号楼"), which would give the actions half a place. Entities of
the configured types that touch each other, or are separated only by spaces, are one
span: they are replaced by a single entity covering both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

DEFAULT_ENTITIES = ("address",)


def merge_adjacent(
    text: str, entities: Iterable[dict[str, Any]], types: Sequence[str]
) -> list[dict[str, Any]]:
    """Entities with touching spans of the same configured type joined into one."""
    merged: list[dict[str, Any]] = []
    for entity in sorted(
        entities, key=lambda e: (e.get(ENTITY_ATTRIBUTE_START) is None, e.get(ENTITY_ATTRIBUTE_START) or 0)
    ):
        previous = next(
            (
                m
                for m in reversed(merged)
                if m.get(ENTITY_ATTRIBUTE_TYPE) == entity.get(ENTITY_ATTRIBUTE_TYPE)
            ),
            None,
        )
        if (
            previous is not None
            and entity.get(ENTITY_ATTRIBUTE_TYPE) in types
            and _touch(text, previous, entity)
        ):
            start, end = previous[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END]
            previous.update(
                {
                    ENTITY_ATTRIBUTE_END: end,
                    ENTITY_ATTRIBUTE_VALUE: "".join(text[start:end].split()),
                }
            )
            previous.setdefault("processors", []).append(AdjacentSpanMerger.__name__)
            continue
        merged.append(dict(entity))
    return merged


def _touch(text: str, first: dict[str, Any], second: dict[str, Any]) -> bool:
    end, start = first.get(ENTITY_ATTRIBUTE_END), second.get(ENTITY_ATTRIBUTE_START)
    if end is None or start is None or start < end:
        return False
    return not text[end:start].strip()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class AdjacentSpanMerger(GraphComponent):
    """Pipeline step after DIETClassifier (bot/config.yml); `entities` lists the types to join."""

    def __init__(self, types: Sequence[str]) -> None:
        self._types = tuple(types)

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"entities": list(DEFAULT_ENTITIES)}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AdjacentSpanMerger:
        return cls(config.get("entities") or DEFAULT_ENTITIES)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            merged = merge_adjacent(message.get(TEXT) or "", entities, self._types)
            if len(merged) != len(entities):
                message.set(ENTITIES, merged, add_to_output=True)
        return messages
