"""config/applications.yml: every type's fields, documents, steps and time limit, as configured."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
import yaml

from backend.services.application_types import (
    DEFAULT_APPLICATIONS_PATH,
    ApplicationConfigError,
    load_catalogue,
    parse_catalogue,
)

ALL_TYPES = ["新装", "增容", "减容", "过户", "更名", "销户", "暂停", "光伏并网", "充电桩"]


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(DEFAULT_APPLICATIONS_PATH.read_text(encoding="utf-8"))
    return document


def test_every_type_of_the_spec_is_configured() -> None:
    assert sorted(load_catalogue().types) == sorted(ALL_TYPES)


@pytest.mark.parametrize("name", ALL_TYPES)
def test_each_type_says_who_applies_what_to_bring_and_runs_from_acceptance_to_completion(name: str) -> None:
    kind = load_catalogue().get(name)
    assert kind.who_may_apply and kind.description
    assert kind.documents and any("身份证" in doc or "营业执照" in doc for doc in kind.documents)
    assert kind.steps[0] == "accepted" and kind.steps[-1] == "completed"
    assert "contact_phone" in kind.fields


def test_new_connection_collects_address_and_supply_class_and_asks_for_property_proof() -> None:
    kind = load_catalogue().get("新装")
    assert kind.existing_account == "none"
    assert kind.fields == ("address", "supply_class", "contact_phone", "preferred_survey_time")
    assert any("宅基地" in doc for doc in kind.documents)
    assert kind.steps == (
        "accepted", "site_survey", "scheme_reply", "construction", "metering_connection", "completed",
    )  # fmt: skip


def test_transfer_needs_both_parties_documents_and_the_new_holder() -> None:
    kind = load_catalogue().get("过户")
    assert kind.needs_account
    assert "new_holder_name" in kind.fields and "address" not in kind.fields
    assert any("原户主" in doc for doc in kind.documents)
    assert any("新户主" in doc and "身份证" in doc for doc in kind.documents)
    assert "site_survey" not in kind.steps and "account_change" in kind.steps


@pytest.mark.parametrize("name", ["增容", "光伏并网"])
def test_capacity_is_collected_for_capacity_increase_and_pv(name: str) -> None:
    assert "capacity_kw" in load_catalogue().get(name).fields


def test_existing_account_rules() -> None:
    books = load_catalogue()
    assert {name for name, kind in books.types.items() if kind.needs_account} == {
        "增容", "减容", "过户", "更名", "销户", "暂停",
    }  # fmt: skip
    assert books.get("光伏并网").existing_account == "optional"
    assert books.get("充电桩").existing_account == "none"


def test_committed_limits_are_the_ten_commitments_item_6() -> None:
    books = load_catalogue()
    expected = {
        "residential": 5,
        "low_voltage_non_residential": 6,
        "high_voltage_single": 22,
        "high_voltage_dual": 32,
    }
    for key, days in expected.items():
        limit = books.supply_classes[key]
        assert limit.working_days == days
        assert limit.provenance.confirmed and limit.quote_to_customer
        assert limit.provenance.effective_date == date(2023, 12, 8)
        assert "十项承诺" in limit.provenance.source
        # The internal split never promises more than the whole limit.
        assert sum(limit.step_days.values()) <= days
    assert books.time_limit(books.get("新装"), None).working_days == 5
    assert books.time_limit(books.get("充电桩"), "low_voltage_non_residential").working_days == 6


@pytest.mark.parametrize("name", ["过户", "更名", "销户", "暂停", "减容", "光伏并网"])
def test_types_without_a_sourced_limit_are_tracked_but_never_quoted(name: str) -> None:
    books = load_catalogue()
    limit = books.time_limit(books.get(name), None)
    assert not limit.provenance.confirmed and not limit.quote_to_customer
    assert "NOT FOUND" in limit.provenance.source


def test_customer_words_find_the_type() -> None:
    books = load_catalogue()
    assert books.find("房子卖了电表想换户主").name == "过户"  # type: ignore[union-attr]
    assert books.find("新房子想装个电表").name == "新装"  # type: ignore[union-attr]
    assert books.find("屋顶装光伏发电").name == "光伏并网"  # type: ignore[union-attr]
    assert books.find("你好") is None


def test_seeded_statuses_map_to_steps() -> None:
    books = load_catalogue()
    assert books.canonical_step("site_survey_scheduled") == "site_survey"
    assert books.step_label(books.canonical_step("site_survey_scheduled")) == "现场勘查"
    assert books.canonical_step("completed") == "completed"


def test_a_type_without_documents_is_refused(raw: dict[str, Any]) -> None:
    broken = copy.deepcopy(raw)
    broken["types"]["过户"]["documents"] = []
    with pytest.raises(ApplicationConfigError, match="documents"):
        parse_catalogue(broken)


def test_a_limit_without_a_source_is_refused(raw: dict[str, Any]) -> None:
    broken = copy.deepcopy(raw)
    del broken["supply_classes"]["residential"]["source"]
    with pytest.raises(ApplicationConfigError, match="source"):
        parse_catalogue(broken)


def test_unknown_steps_and_fields_are_refused(raw: dict[str, Any]) -> None:
    broken = copy.deepcopy(raw)
    broken["types"]["新装"]["steps"] = ["accepted", "teleport", "completed"]
    with pytest.raises(ApplicationConfigError, match="unknown steps"):
        parse_catalogue(broken)
    broken = copy.deepcopy(raw)
    broken["types"]["新装"]["fields"] = ["address", "shoe_size"]
    with pytest.raises(ApplicationConfigError, match="unknown fields"):
        parse_catalogue(broken)
