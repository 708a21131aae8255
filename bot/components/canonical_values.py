"""Bring closed-class entities to the catalog's canonical values (bot/entity_values.yml).

EntitySynonymMapper only maps a span that equals a listed surface form exactly, so a
form the training data never listed ("电表黑屏了", "空开老跳") would reach the actions as
raw text. This component runs after it and maps any remaining span by ordered keyword
rules; a span that no rule matches is left as it is.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE, ENTITY_ATTRIBUTE_VALUE
from rasa.shared.nlu.training_data.message import Message

from bot.entity_values import Rules, canonical_value, load_rules


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class CanonicalValueMapper(GraphComponent):
    """Pipeline step after EntitySynonymMapper (bot/config.yml)."""

    def __init__(self, rules: Rules) -> None:
        self._rules = rules

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CanonicalValueMapper:
        return cls(load_rules())

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            changed = False
            for entity in entities:
                value = entity.get(ENTITY_ATTRIBUTE_VALUE)
                if not isinstance(value, str):
                    continue
                mapped = canonical_value(str(entity.get(ENTITY_ATTRIBUTE_TYPE)), value, self._rules)
                if mapped is not None and mapped != value:
                    entity[ENTITY_ATTRIBUTE_VALUE] = mapped
                    entity.setdefault("processors", []).append(type(self).__name__)
                    changed = True
            if changed:
                message.set(ENTITIES, entities, add_to_output=True)
        return messages
