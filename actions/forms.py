"""Shared helpers for form validation actions (financial-demo style base class)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

REQUESTED_SLOT = "requested_slot"


def latest_entity_value(tracker: Tracker, entity: str) -> str | None:
    """The value of `entity` in the latest user message, if NLU found one."""
    for found in tracker.latest_message.get("entities", []) or []:
        if found.get("entity") == entity and found.get("value") not in (None, ""):
            return str(found["value"])
    return None


def latest_intent(tracker: Tracker) -> str | None:
    intent = tracker.latest_message.get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None


class BaseFormValidation(FormValidationAction, ABC):
    """Base for our form validators.

    Adds one behaviour the SDK lacks: when a slot is filled from free text (a
    `from_text` mapping) but the user clearly wanted something else, the form should
    step aside so rules can handle the interruption, instead of treating the text as
    an answer. Subclasses say which intents count as answers to the form.

    `name()` stays abstract so the SDK does not register this base class as an action.
    """

    @abstractmethod
    def name(self) -> str:
        """validate_<form name>"""

    # Intents under which free text is taken as an answer to the requested slot.
    answer_intents: frozenset[str] = frozenset({"inform", "affirm", "nlu_fallback"})

    def slots_just_filled(self, tracker: Tracker) -> dict[str, Any]:
        return tracker.slots_to_validate()

    def is_interruption(self, tracker: Tracker, free_text_slots: Iterable[str]) -> bool:
        """True when a free-text slot was filled but the latest intent is not an answer."""
        filled = self.slots_just_filled(tracker)
        if not any(slot in filled for slot in free_text_slots):
            return False
        intent = latest_intent(tracker)
        return intent is not None and intent not in self.answer_intents

    def reject(self, cleared_slots: Iterable[str]) -> list[EventType]:
        """Undo the free-text fill and hand control back to the policies."""
        events: list[EventType] = [SlotSet(slot, None) for slot in cleared_slots]
        events.append(ActionExecutionRejected(self.form_name()))
        return events


class FixedQuestion(Action, ABC):
    """A form's ask action that asks for its slot with a fixed text (and optional buttons).

    Abstract, so the SDK does not register it as an action of its own.
    """

    text: ClassVar[str] = ""
    buttons: ClassVar[list[dict[str, Any]]] = []

    @abstractmethod
    def name(self) -> str:
        """action_ask_<slot>"""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=self.text, buttons=self.buttons or None)
        return []
