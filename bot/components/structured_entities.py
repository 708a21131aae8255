"""Drop structured entities whose value cannot be what the entity says.

DIET learns account numbers, phones, last-four digits and work-order numbers from context
and sometimes tags a number of the wrong shape ("一个月用400度" -> account_no "400") or an
empty span. These entities have exact formats (docs/architecture.md), so anything else is
removed here, after EntitySynonymMapper, before an action or the dialogue policy sees it.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE, ENTITY_ATTRIBUTE_VALUE
from rasa.shared.nlu.training_data.message import Message

# Values are compared after removing spaces and dashes (the channel normaliser already
# turned spoken numerals into digits).
FORMATS: dict[str, re.Pattern[str]] = {
    "account_no": re.compile(r"^(?:\d{10}|410\d{10})$"),
    "phone": re.compile(r"^1[3-9]\d{9}$"),
    "phone_last4": re.compile(r"^\d{4}$"),
    "ticket_no": re.compile(r"^\d{14}$"),
}


def has_valid_shape(entity: dict[str, Any]) -> bool:
    pattern = FORMATS.get(str(entity.get(ENTITY_ATTRIBUTE_TYPE)))
    if pattern is None:
        return True
    value = re.sub(r"[\s-]", "", str(entity.get(ENTITY_ATTRIBUTE_VALUE) or ""))
    return bool(pattern.match(value))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class StructuredEntityFilter(GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StructuredEntityFilter:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            kept = [entity for entity in entities if has_valid_shape(entity)]
            if len(kept) != len(entities):
                message.set(ENTITIES, kept, add_to_output=True)
        return messages
