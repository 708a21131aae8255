"""Unit tests of the metric code in scripts/eval_nlu.py, plus contract checks of the held-out files.

Run in the bot virtualenv (see tests/nlu/README.md for why --confcutdir):
    .venv-bot/bin/python -m pytest tests/nlu/test_eval_metrics.py -q -p no:cacheprovider \
        --confcutdir=tests/nlu
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import string
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HELDOUT_DIR = REPO_ROOT / "tests" / "nlu"


def _load_eval_module() -> ModuleType:
    # scripts/ is not a package; load the script by path, registered so dataclasses can resolve it.
    spec = importlib.util.spec_from_file_location("eval_nlu", REPO_ROOT / "scripts" / "eval_nlu.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_nlu"] = module
    spec.loader.exec_module(module)
    return module


ev = _load_eval_module()


# --- intents ---------------------------------------------------------------


def test_precision_recall_f1_values_and_empty_denominators() -> None:
    assert ev.precision_recall_f1(3, 1, 2) == pytest.approx((0.75, 0.6, 2 * 0.75 * 0.6 / 1.35))
    assert ev.precision_recall_f1(0, 0, 0) == (0.0, 0.0, 0.0)
    assert ev.precision_recall_f1(0, 2, 0) == (0.0, 0.0, 0.0)


def test_intent_report_hand_computed() -> None:
    gold = ["a", "a", "b", "b"]
    predicted = ["a", "b", "b", "nlu_fallback"]
    report = ev.intent_report(gold, predicted)
    a, b = report["per_intent"]["a"], report["per_intent"]["b"]
    assert (a["precision"], a["recall"], a["support"]) == (1.0, 0.5, 2)
    assert a["f1"] == pytest.approx(2 / 3)
    assert (b["precision"], b["recall"], b["f1"], b["support"]) == (0.5, 0.5, 0.5, 2)
    # nlu_fallback is reported but not averaged: macro-F1 is over the gold intents only.
    assert report["per_intent"]["nlu_fallback"]["support"] == 0
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2)
    assert report["accuracy"] == 0.5


def test_accuracy_treats_fallback_as_wrong_even_for_out_of_scope() -> None:
    gold = ["out_of_scope", "out_of_scope", "greet"]
    assert ev.accuracy(gold, ["nlu_fallback", "out_of_scope", "nlu_fallback"]) == pytest.approx(1 / 3)


def test_out_of_scope_recall_counts_fallback_as_rejection() -> None:
    assert ev.out_of_scope_recall(["out_of_scope", "nlu_fallback", "pay_bill", "greet"]) == 0.5
    assert ev.out_of_scope_recall([]) == 0.0


def test_rejection_rate_for_in_scope_items() -> None:
    assert ev.rejection_rate(["pay_bill", "nlu_fallback", "out_of_scope", "greet"]) == 0.5


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        ev.accuracy(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        ev.intent_report(["a"], [])


def test_confusion_matrix_rows_are_gold_and_fallback_comes_last() -> None:
    gold = ["b", "a", "a", "b"]
    predicted = ["b", "a", "nlu_fallback", "a"]
    labels = ev.confusion_labels(gold, predicted)
    assert labels == ["a", "b", "nlu_fallback"]
    assert ev.confusion_matrix(gold, predicted, labels) == [[1, 0, 1], [1, 1, 0], [0, 0, 0]]


def test_floor() -> None:
    assert ev.floor_met(0.95, None)
    assert ev.floor_met(0.90, 0.90)
    assert not ev.floor_met(0.8999, 0.90)


# --- entities --------------------------------------------------------------


def test_canonical_values_of_number_entities() -> None:
    # A legacy 10-digit number and "410" + it name the same account.
    assert ev.canonical_entity_value("account_no", "3100-0070-38") == "4103100007038"
    assert ev.canonical_entity_value("account_no", "4103100007038") == "4103100007038"
    assert ev.canonical_entity_value("phone", "158 3731 6609") == "15837316609"
    assert ev.canonical_entity_value("ticket_no", "20261124000031") == "20261124000031"
    assert (
        ev.canonical_entity_value("phone_last4", 736) == "736"
    )  # digits are not padded: a wrong int stays wrong
    assert ev.canonical_entity_value("tariff_type", " 峰谷电价 ") == "峰谷电价"


def test_gold_pairs_normalise_surface_values_but_keep_explicit_values() -> None:
    def to_digits(text: str) -> str:
        return text.replace("三", "3")

    text = "三月份峰谷电多少钱"
    entities = [
        {"entity": "date", "value": "三月份", "start": 0, "end": 3},
        {"entity": "tariff_type", "value": "峰谷电价", "start": 3, "end": 6},
    ]
    assert ev.gold_entity_pairs(text, entities, to_digits) == {("date", "3月份"), ("tariff_type", "峰谷电价")}


def test_predicted_pairs_collapse_duplicate_extractors() -> None:
    entities = [
        {"entity": "account_no", "value": "3100012456", "extractor": "RegexEntityExtractor"},
        {"entity": "account_no", "value": "3100012456", "extractor": "DIETClassifier"},
        {"entity": "date", "value": "上个月", "extractor": "DIETClassifier"},
    ]
    assert ev.predicted_entity_pairs(entities) == {("account_no", "4103100012456"), ("date", "上个月")}


def test_entity_report_per_entity_and_micro() -> None:
    gold = [
        frozenset({("date", "上个月"), ("account_no", "4103100012456")}),
        frozenset({("tariff_type", "峰谷电价")}),
        frozenset(),
    ]
    predicted = [
        frozenset({("date", "上个月"), ("account_no", "4103100099999")}),
        frozenset({("tariff_type", "峰谷电价")}),
        frozenset({("date", "明天")}),
    ]
    report = ev.entity_report(gold, predicted)
    date = report["per_entity"]["date"]
    assert (date["precision"], date["recall"], date["support"]) == (0.5, 1.0, 1)
    account = report["per_entity"]["account_no"]
    assert (account["precision"], account["recall"], account["f1"]) == (0.0, 0.0, 0.0)
    assert report["per_entity"]["tariff_type"]["f1"] == 1.0
    # micro: tp=2 (date, tariff), fp=2 (wrong account, 明天), fn=1 (account)
    assert report["micro"]["precision"] == 0.5
    assert report["micro"]["recall"] == pytest.approx(2 / 3)
    assert report["micro"]["support"] == 3


# --- latency and leakage ---------------------------------------------------


def test_percentile_linear_interpolation() -> None:
    values = [float(v) for v in range(10, 0, -1)]  # unsorted on purpose
    assert ev.percentile(values, 50) == 5.5
    assert ev.percentile(values, 95) == pytest.approx(9.55)
    assert ev.percentile(values, 0) == 1.0
    assert ev.percentile(values, 100) == 10.0
    assert ev.percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        ev.percentile([], 50)
    with pytest.raises(ValueError):
        ev.percentile([1.0], 101)


def test_verbatim_overlap() -> None:
    assert ev.verbatim_overlap(["你好", "电费在哪交", "你好"], ["你好", "交电费"]) == ["你好"]


def test_compute_metrics_by_part() -> None:
    def example(text: str, intent: str, part: str) -> Any:
        return ev.HeldoutExample(text, text, intent, frozenset(), part)

    def outcome(intent: str, ms: float) -> Any:
        return ev.ParseOutcome(intent, 0.9, frozenset(), ms)

    examples = [
        example("电费在哪交", "pay_bill", "typed"),
        example("点费在哪交", "pay_bill", "asr"),
        example("条闸了", "report_fault", "asr"),
        example("水费在哪交", "out_of_scope", "oos"),
        example("讲个笑话", "out_of_scope", "oos"),
    ]
    outcomes = [
        outcome("pay_bill", 5.0),
        outcome("nlu_fallback", 6.0),
        outcome("report_fault", 7.0),
        outcome("nlu_fallback", 8.0),
        outcome("out_of_scope", 9.0),
    ]
    metrics = ev.compute_metrics(examples, outcomes)
    assert metrics["n_by_part"] == {"typed": 1, "asr": 2, "oos": 2}
    assert metrics["intent"]["asr_accuracy"] == 0.5
    assert metrics["intent"]["accuracy"] == pytest.approx(3 / 5)
    assert metrics["out_of_scope"]["recall"] == 1.0
    assert metrics["out_of_scope"]["in_scope_rejection_rate"] == pytest.approx(1 / 3)
    assert metrics["latency_ms"]["median"] == 7.0
    errors = ev.intent_errors(examples, outcomes)
    assert [(e["expected"], e["predicted"]) for e in errors] == [
        ("pay_bill", "nlu_fallback"),
        ("out_of_scope", "nlu_fallback"),
    ]


def test_entity_errors_list_missing_and_spurious_pairs() -> None:
    gold = frozenset({("date", "上个月"), ("account_no", "4103100012456")})
    examples = [
        ev.HeldoutExample("a", "a", "query_bill", gold, "typed"),
        ev.HeldoutExample("b", "b", "greet", frozenset(), "typed"),
    ]
    outcomes = [
        ev.ParseOutcome("query_bill", 1.0, frozenset({("date", "上个月"), ("date", "10月份")}), 1.0),
        ev.ParseOutcome("greet", 1.0, frozenset(), 1.0),
    ]
    errors = ev.entity_errors(examples, outcomes)
    assert len(errors) == 1
    assert errors[0]["missing"] == [("account_no", "4103100012456")]
    assert errors[0]["spurious"] == [("date", "10月份")]


def test_format_table_lists_every_intent() -> None:
    def example(intent: str) -> Any:
        return ev.HeldoutExample("x", "x", intent, frozenset(), "typed")

    examples = [example("greet"), example("thank"), example("out_of_scope")]
    outcomes = [ev.ParseOutcome(i, 1.0, frozenset(), 1.0) for i in ("greet", "greet", "out_of_scope")]
    table = ev.format_table(ev.compute_metrics(examples, outcomes))
    for name in ("greet", "thank", "out_of_scope", "intent macro-F1", "out-of-scope recall"):
        assert name in table


# --- contract checks of the held-out files ---------------------------------

NUMBER_LENGTHS = {"account_no": {10, 13}, "phone": {11}, "phone_last4": {4}, "ticket_no": {14}}
ASR_FORBIDDEN = set(string.punctuation) | set("，。！？、；：“”‘’（）《》…")


@pytest.fixture(scope="module")
def heldout() -> dict[str, list[Any]]:
    loading = pytest.importorskip("rasa.shared.nlu.training_data.loading")
    return {
        part: loading.load_data(str(HELDOUT_DIR / name)).training_examples
        for part, name in ev.HELDOUT_PARTS.items()
    }


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    io = pytest.importorskip("rasa.shared.utils.io")
    return io.read_yaml_file(str(REPO_ROOT / "domain.yml"))


def test_heldout_sizes(heldout: dict[str, list[Any]]) -> None:
    assert sum(len(messages) for messages in heldout.values()) >= 320
    assert len(heldout["asr"]) >= 85
    assert len(heldout["oos"]) >= 55
    assert {m.get("intent") for m in heldout["oos"]} == {"out_of_scope"}


def test_every_domain_intent_is_covered_and_names_exist(
    heldout: dict[str, list[Any]], domain: dict[str, Any]
) -> None:
    intents = Counter(m.get("intent") for messages in heldout.values() for m in messages)
    domain_intents = set(domain["intents"])
    assert set(intents) <= domain_intents
    thin = {name: intents[name] for name in domain_intents if intents[name] < 8}
    assert not thin, f"intents with fewer than 8 held-out utterances: {thin}"
    entities = {
        e["entity"] for messages in heldout.values() for m in messages for e in m.get("entities") or []
    }
    assert entities <= set(domain["entities"])


def test_number_entities_carry_digit_values_of_the_right_length(heldout: dict[str, list[Any]]) -> None:
    for messages in heldout.values():
        for message in messages:
            for entity in message.get("entities") or []:
                lengths = NUMBER_LENGTHS.get(entity["entity"])
                if lengths is None:
                    continue
                value = entity["value"]
                assert value.isdigit() and len(value) in lengths, (message.get("text"), entity)
                if entity["entity"] == "ticket_no":
                    dt.datetime.strptime(value[:8], "%Y%m%d")  # YYYYMMDD + 6-digit sequence


def test_asr_part_has_no_punctuation(heldout: dict[str, list[Any]]) -> None:
    punctuated = [m.get("text") for m in heldout["asr"] if set(m.get("text")) & ASR_FORBIDDEN]
    assert not punctuated


def test_no_duplicate_utterances_across_files(heldout: dict[str, list[Any]]) -> None:
    texts = Counter(m.get("text") for messages in heldout.values() for m in messages)
    assert [t for t, n in texts.items() if n > 1] == []
