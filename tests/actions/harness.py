"""A small stand-in for Rasa's processor, enough to drive our actions turn by turn.

Tracker fixtures (JSON, as Rasa sends them to the action server) give the starting
state; `Conversation` then appends what Rasa would: the user event, slots filled by
the domain's slot mappings, the temporary tracker a form builds before calling its
validation action, and the events our actions return. The slot mappings and form
definition are read from the real domain.yml, so a change there shows up here.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FORM = "verify_form"


def load_domain() -> dict[str, Any]:
    with open(REPO_ROOT / "domain.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_fixture(name: str) -> dict[str, Any]:
    with open(FIXTURES / f"{name}.json", encoding="utf-8") as handle:
        state = json.load(handle)
    # Each test is its own conversation: the API keys verifications by this id.
    state["sender_id"] = f"test-{uuid.uuid4().hex[:12]}"
    return state


def _mapping_applies(mapping: dict[str, Any], state: dict[str, Any]) -> bool:
    conditions = mapping.get("conditions")
    if not conditions:
        return True
    active = (state.get("active_loop") or {}).get("name")
    requested = state["slots"].get("requested_slot")
    return any(
        cond.get("active_loop") == active
        and ("requested_slot" not in cond or cond["requested_slot"] == requested)
        for cond in conditions
    )


class Conversation:
    """Holds one conversation's state dict and replays Rasa's side of each step."""

    def __init__(self, state: dict[str, Any], domain: dict[str, Any]) -> None:
        self.state = state
        self.domain = domain
        self.replies: list[dict[str, Any]] = []  # every bot message, in order

    # ---------------------------------------------------------------- state
    @property
    def slots(self) -> dict[str, Any]:
        return self.state["slots"]

    @property
    def active_loop(self) -> str | None:
        return (self.state.get("active_loop") or {}).get("name")

    def tracker(self) -> Tracker:
        return Tracker.from_dict(copy.deepcopy(self.state))

    def _event(self, event: dict[str, Any]) -> None:
        event.setdefault("timestamp", time.time())
        self.state["events"].append(event)

    def apply(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            kind = event.get("event")
            if kind == "slot":
                self.slots[event["name"]] = event["value"]
            elif kind == "active_loop":
                self.state["active_loop"] = {"name": event["name"]} if event["name"] else {}
            elif kind == "followup":
                self.state["followup_action"] = event["name"]
            self._event(dict(event))

    # ---------------------------------------------------------------- user
    def user(self, text: str, intent: str, entities: dict[str, str] | None = None) -> None:
        """The user speaks; NLU result given by the test; slot mappings applied as Rasa would."""
        found = [
            {
                "entity": name,
                "value": value,
                "start": max(text.find(value), 0),
                "end": max(text.find(value), 0) + len(value),
                "extractor": "test",
            }
            for name, value in (entities or {}).items()
        ]
        message = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.99},
            "entities": found,
            "message_id": uuid.uuid4().hex,
            "metadata": {},
        }
        self.state["latest_message"] = message
        self._event({"event": "user", "text": text, "parse_data": message, "input_channel": "rest"})
        self._extract_slots(found, text)

    def _extract_slots(self, entities: list[dict[str, Any]], text: str) -> None:
        """Predefined from_entity/from_text mappings, first applicable mapping wins."""
        for slot, spec in self.domain["slots"].items():
            for mapping in spec.get("mappings", []):
                if not _mapping_applies(mapping, self.state):
                    continue
                value: Any = None
                if mapping["type"] == "from_entity":
                    value = next((e["value"] for e in entities if e["entity"] == mapping["entity"]), None)
                elif mapping["type"] == "from_text":
                    value = text
                if value is not None:
                    self.apply([{"event": "slot", "name": slot, "value": value}])
                    break

    # ---------------------------------------------------------------- actions
    async def run(self, action: Action) -> list[dict[str, Any]]:
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, self.tracker(), self.domain)
        self.replies.extend(dispatcher.messages)
        self._event({"event": "action", "name": action.name()})
        self.apply(events)
        return events

    def _form_required_slots(self) -> list[str]:
        return list(self.domain["forms"][FORM]["required_slots"])

    async def run_form(
        self, validator: Action, ask_actions: dict[str, Action], candidates: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """One run of verify_form: what rasa.core.actions.forms.FormAction does.

        `candidates` are the slots filled since the user's message (at activation: the
        required slots already set). Returns the validation events.
        """
        activating = self.active_loop != FORM
        if activating:
            # FormAction.activate: validate the required slots that are already set...
            prefilled = {
                slot: self.slots.get(slot)
                for slot in self._form_required_slots()
                if self.slots.get(slot) is not None
            }
            events = await self._call_validator(validator, prefilled, requested=None)
            self.apply([{"event": "active_loop", "name": FORM}])
            if not events:
                # ...then FormAction.do validates again with every required slot set since
                # the user spoke, including slots our own actions just cleared to None.
                events = await self._call_validator(validator, self._candidates_since_user(), requested=None)
        else:
            if candidates is None:
                candidates = self._candidates_since_user()
            events = await self._call_validator(
                validator, candidates, requested=self.slots.get("requested_slot")
            )

        rejected = any(e.get("event") == "action_execution_rejected" for e in events)
        validated = any(e.get("event") == "slot" and e["name"] != "requested_slot" for e in events)
        if not activating and not candidates and not validated and not rejected:
            rejected = True  # Rasa raises ActionExecutionRejection here
        if rejected:
            self.apply([e for e in events if e.get("event") == "slot"])
            return events

        self._event({"event": "action", "name": FORM})
        self.apply(events)
        requested = [e for e in events if e.get("event") == "slot" and e["name"] == "requested_slot"]
        stopped = any(e.get("event") == "active_loop" and e["name"] is None for e in events)
        if requested:
            next_slot = requested[-1]["value"]
        elif stopped:
            next_slot = None
        else:
            next_slot = next((s for s in self._form_required_slots() if self.slots.get(s) is None), None)
        self.apply([{"event": "slot", "name": "requested_slot", "value": next_slot}])
        if next_slot is None:
            self.apply([{"event": "active_loop", "name": None}])
        else:
            await self.run(ask_actions[next_slot])
        return events

    async def _call_validator(
        self, validator: Action, candidates: dict[str, Any], requested: str | None
    ) -> list[dict[str, Any]]:
        """Build the temporary tracker FormAction.validate_slots sends, and call the validator."""
        temporary = copy.deepcopy(self.state)
        temporary["events"] += [
            {"event": "slot", "name": "requested_slot", "value": requested},
            {"event": "action", "name": FORM},
        ] + [{"event": "slot", "name": k, "value": v} for k, v in candidates.items()]
        temporary["slots"]["requested_slot"] = requested
        temporary["slots"].update(candidates)
        dispatcher = CollectingDispatcher()
        events = await validator.run(dispatcher, Tracker.from_dict(temporary), self.domain)
        self.replies.extend(dispatcher.messages)
        return events

    def _candidates_since_user(self) -> dict[str, Any]:
        candidates: dict[str, Any] = {}
        for event in reversed(self.state["events"]):
            if event["event"] == "user":
                break
            if event["event"] == "slot" and event["name"] in self._form_required_slots():
                candidates.setdefault(event["name"], event["value"])
        return candidates

    # ---------------------------------------------------------------- output
    def texts(self) -> list[str]:
        return [m.get("text") or "" for m in self.replies]

    def last_text(self) -> str:
        return self.texts()[-1] if self.replies else ""

    def offered_human(self) -> bool:
        return any(
            b.get("payload") == "/request_human" for m in self.replies for b in (m.get("buttons") or [])
        )
