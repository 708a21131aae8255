"""The action server can load the actions package and serves exactly the domain's actions."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import ActionExecutor


def test_actions_package_registers_every_custom_action_in_the_domain(domain: dict[str, Any]) -> None:
    executor = ActionExecutor()
    executor.register_package("actions")  # what `rasa run actions --actions actions` does
    registered = set(executor.actions)
    ours = {
        "action_query_balance",
        "action_after_verification",
        "validate_verify_form",
        "action_ask_account_no",
        "action_ask_identity_check",
    }
    assert ours <= registered
    assert ours <= set(domain["actions"])
